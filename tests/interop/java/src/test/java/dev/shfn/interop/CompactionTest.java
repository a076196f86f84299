package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Reader;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.api.SubscriptionType;
import org.apache.pulsar.client.api.TypedMessageBuilder;
import org.junit.jupiter.api.Test;

/**
 * Topic compaction as the Java client sees it: after `compact` through the admin API, a reader or
 * an Exclusive consumer that reads compacted gets each key's latest value, then what came after.
 */
class CompactionTest extends InteropTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * The key of the message each test publishes last, so that a read knows where to stop. Its
   * value is never empty: a later compaction would take an empty one for a tombstone.
   */
  private static final String END = "end";

  private static String adminPath(String topic) {
    return "/admin/v2/" + topic.replace("://", "/");
  }

  private JsonNode getJson(String path) throws Exception {
    HttpResponse<String> r = broker.admin("GET", path, "");
    assertEquals(200, r.statusCode(), "GET " + path + ": " + r.body());
    return JSON.readTree(r.body());
  }

  /** Compacts the topic through the admin API and waits for the compaction to succeed. */
  private void compact(String topic) throws Exception {
    String path = adminPath(topic) + "/compaction";
    HttpResponse<String> started = broker.adminPut(path, "");
    assertEquals(204, started.statusCode(), "PUT " + path + ": " + started.body());
    long deadline = System.nanoTime() + ARRIVAL.toNanos();
    while (true) {
      JsonNode status = getJson(path);
      switch (status.path("status").asText()) {
        case "SUCCESS":
          return;
        case "ERROR":
          fail("compaction of " + topic + " failed: " + status);
          break;
        default:
          if (System.nanoTime() > deadline) {
            fail("compaction of " + topic + " not done within " + ARRIVAL.toSeconds() + " s: "
                + status);
          }
          Thread.sleep(20);
      }
    }
  }

  private static TypedMessageBuilder<byte[]> keyed(Producer<byte[]> p, String key, String value) {
    TypedMessageBuilder<byte[]> m = p.newMessage().value(bytes(value));
    return key == null ? m : m.key(key);
  }

  /** "key=value", or "value" for a message without a key: what a user sees of a message. */
  private static String shown(Message<byte[]> m) {
    return m.hasKey() ? m.getKey() + "=" + str(m) : str(m);
  }

  /** Reads with readCompacted from earliest up to the END message; returns what it read. */
  private List<Message<byte[]>> readCompacted(String topic) throws Exception {
    try (Reader<byte[]> reader = client.newReader().topic(topic).readCompacted(true)
        .startMessageId(MessageId.earliest).create()) {
      return readUntilEnd(reader::readNext, "the compacted reader");
    }
  }

  private interface Next {
    Message<byte[]> next(int timeout, TimeUnit unit) throws PulsarClientException;
  }

  private static List<Message<byte[]>> readUntilEnd(Next next, String who)
      throws PulsarClientException {
    List<Message<byte[]>> got = new ArrayList<>();
    while (got.isEmpty() || !END.equals(got.get(got.size() - 1).getKey())) {
      Message<byte[]> m = next.next((int) ARRIVAL.toMillis(), TimeUnit.MILLISECONDS);
      assertNotNull(m, who + " got " + shownAll(got) + ", then nothing for "
          + ARRIVAL.toSeconds() + " s");
      got.add(m);
    }
    return got;
  }

  private static List<String> shownAll(List<Message<byte[]>> messages) {
    return messages.stream().map(CompactionTest::shown).toList();
  }

  private static List<MessageId> ids(List<Message<byte[]>> messages) {
    return messages.stream().map(Message::getMessageId).toList();
  }

  @Test
  void readerGetsTheLatestValuePerKeyThenWhatCameAfter() throws Exception {
    String topic = topic();
    try (Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create()) {
      List<MessageId> sent = new ArrayList<>();
      String[][] history = {
          {"a", "a1"}, {"b", "b1"}, {"c", "c1"}, {"a", "a2"},
          {null, "no key"},  // dropped: compaction keeps keyed messages only
          {"b", ""},         // the Java client's empty payload: a tombstone for b
          {"c", "c2"}, {"e", "e1"}, {"e", ""}, {"e", "e2"}, {"d", "d1"}};
      for (String[] m : history) {
        sent.add(keyed(p, m[0], m[1]).send());
      }
      assertEquals("NOT_RUN", getJson(adminPath(topic) + "/compaction").path("status").asText());
      assertFalse(getJson(adminPath(topic) + "/stats").path("subscriptions").has("__compaction"),
          "no compaction subscription before the first compaction");
      compact(topic);
      MessageId a3 = keyed(p, "a", "a3").send();
      MessageId end = keyed(p, END, "fin").send();

      List<Message<byte[]>> got = readCompacted(topic);
      assertEquals(List.of("a=a2", "c=c2", "e=e2", "d=d1", "a=a3", "end=fin"), shownAll(got));
      // The compacted view serves the messages as they were published, under their own ids.
      assertEquals(List.of(sent.get(3), sent.get(6), sent.get(9), sent.get(10), a3, end),
          ids(got));

      // The topic itself is whole: a reader that does not read compacted gets everything.
      try (Reader<byte[]> all = client.newReader().topic(topic)
          .startMessageId(MessageId.earliest).create()) {
        assertEquals(history.length + 2, readUntilEnd(all::readNext, "the plain reader").size());
      }

      JsonNode stats = getJson(adminPath(topic) + "/stats");
      assertTrue(stats.path("subscriptions").has("__compaction"),
          "the compaction's own subscription: " + stats.path("subscriptions"));
      assertTrue(stats.path("compaction").path("lastCompactionSucceedTimestamp").asLong() > 0,
          "the last compaction's time in the stats: " + stats.path("compaction"));

      // A second compaction starts from the first one's view: a3 replaces a2, end is kept.
      compact(topic);
      assertEquals(List.of("c=c2", "e=e2", "d=d1", "a=a3", "end=fin"),
          shownAll(readCompacted(topic)));
    }
  }

  @Test
  void batchedTombstonesAndSupersededMessagesAreNotRead() throws Exception {
    String topic = topic();
    try (Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(true)
        .batchingMaxMessages(100).batchingMaxPublishDelay(1, TimeUnit.HOURS).create()) {
      String[][][] batches = {
          {{"a", "a1"}, {"b", "b1"}, {"c", "c1"}, {null, "no key"}},
          {{"a", "a2"}, {"b", ""}, {"d", "d1"}, {"a", "a3"}}};
      List<MessageId> sent = new ArrayList<>();
      for (String[][] batch : batches) {
        List<CompletableFuture<MessageId>> receipts = new ArrayList<>();
        for (String[] m : batch) {
          receipts.add(keyed(p, m[0], m[1]).sendAsync());
        }
        p.flush();  // one batch: the delay is too long to send it any other way
        for (CompletableFuture<MessageId> r : receipts) {
          sent.add(r.get(ARRIVAL.toSeconds(), TimeUnit.SECONDS));
        }
      }
      compact(topic);
      CompletableFuture<MessageId> end = keyed(p, END, "fin").sendAsync();
      p.flush();
      end.get(ARRIVAL.toSeconds(), TimeUnit.SECONDS);

      // The client skips the placeholders compaction leaves in a batch: a user sees none.
      List<Message<byte[]>> got = readCompacted(topic);
      assertEquals(List.of("c=c1", "d=d1", "a=a3", "end=fin"), shownAll(got));
      // The batches keep their indexes: each survivor has the id it was published with.
      assertEquals(List.of(sent.get(2), sent.get(6), sent.get(7)), ids(got).subList(0, 3));
    }
  }

  /** The Java client refuses these itself, before it asks the broker. */
  @Test
  void aSharedConsumerCannotReadCompacted() {
    String topic = topic();
    for (SubscriptionType type : List.of(SubscriptionType.Shared, SubscriptionType.Key_Shared)) {
      assertThrows(PulsarClientException.class,
          () -> client.newConsumer().topic(topic).subscriptionName("sub")
              .subscriptionType(type).readCompacted(true).subscribe().close(),
          "a " + type + " consumer reading compacted");
    }
  }

  @Test
  void anExclusiveConsumerReadsCompactedAndKeepsWhatItNeverGotInItsBacklog() throws Exception {
    String topic = topic();
    try (Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create()) {
      keyed(p, "a", "a1").send();
      keyed(p, "b", "b1").send();
      keyed(p, "a", "a2").send();
      keyed(p, null, "no key").send();
      keyed(p, "c", "c1").send();
      compact(topic);
      try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
          .subscriptionType(SubscriptionType.Exclusive).readCompacted(true)
          .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe()) {
        keyed(p, "a", "a3").send();
        keyed(p, END, "fin").send();
        List<Message<byte[]>> got = readUntilEnd(c::receive, "the compacted consumer");
        for (Message<byte[]> m : got) {
          c.acknowledge(m);
        }
        assertEquals(List.of("b=b1", "a=a2", "c=c1", "a=a3", "end=fin"), shownAll(got));

        // As on Pulsar, the messages compaction took out (a1 and the keyless one) were never
        // delivered, so never acknowledged: they stay in the subscription's backlog.
        long deadline = System.nanoTime() + ARRIVAL.toNanos();
        JsonNode sub;
        do {
          Thread.sleep(50);
          sub = getJson(adminPath(topic) + "/stats").path("subscriptions").path("sub");
        } while (sub.path("msgBacklog").asLong() != 2 && System.nanoTime() < deadline);
        assertEquals(2, sub.path("msgBacklog").asLong(), "the backlog of sub: " + sub);
      }
    }
  }
}
