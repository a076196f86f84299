package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.BatcherBuilder;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.SubscriptionType;
import org.junit.jupiter.api.Test;

/** Produce and consume with each subscription type, checking what sets each type apart. */
class SubscriptionTypeTest extends InteropTest {

  private Consumer<byte[]> subscribe(String topic, SubscriptionType type, String name)
      throws PulsarClientException {
    return client.newConsumer().topic(topic).subscriptionName("sub").subscriptionType(type)
        .consumerName(name).receiverQueueSize(10).subscribe();
  }

  /**
   * Receives `total` messages from any of the consumers (acknowledging each), by polling them
   * in turn; returns what each consumer got, keyed by consumer name.
   */
  private static Map<String, List<Message<byte[]>>> collect(int total,
      List<Consumer<byte[]>> consumers) throws PulsarClientException {
    Map<String, List<Message<byte[]>>> got = new HashMap<>();
    consumers.forEach(c -> got.put(c.getConsumerName(), new ArrayList<>()));
    long deadline = System.nanoTime() + ARRIVAL.toNanos();
    int count = 0;
    while (count < total) {
      boolean any = false;
      for (Consumer<byte[]> c : consumers) {
        Message<byte[]> m = c.receive(50, TimeUnit.MILLISECONDS);
        if (m != null) {
          c.acknowledge(m);
          got.get(c.getConsumerName()).add(m);
          count++;
          any = true;
        }
      }
      if (any) {
        deadline = System.nanoTime() + ARRIVAL.toNanos();
      } else if (System.nanoTime() > deadline) {
        throw new AssertionError("received " + count + " of " + total + " messages, then"
            + " nothing for " + ARRIVAL.toSeconds() + " s; per consumer: " + sizes(got));
      }
    }
    return got;
  }

  private static Map<String, Integer> sizes(Map<String, List<Message<byte[]>>> got) {
    Map<String, Integer> out = new HashMap<>();
    got.forEach((k, v) -> out.put(k, v.size()));
    return out;
  }

  private Producer<byte[]> unbatchedProducer(String topic) throws PulsarClientException {
    return client.newProducer().topic(topic).enableBatching(false).create();
  }

  @Test
  void exclusive() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = subscribe(topic, SubscriptionType.Exclusive, "a");
        Producer<byte[]> p = client.newProducer().topic(topic).create()) {
      // A second consumer on an Exclusive subscription is refused.
      assertThrows(PulsarClientException.ConsumerBusyException.class,
          () -> subscribe(topic, SubscriptionType.Exclusive, "b").close());
      for (int i = 0; i < 50; i++) {
        p.sendAsync(bytes("m-" + i));
      }
      p.flush();
      assertValues(expected("m-", 0, 50), receiveN(c, 50));
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }

  @Test
  void shared() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> a = subscribe(topic, SubscriptionType.Shared, "a");
        Consumer<byte[]> b = subscribe(topic, SubscriptionType.Shared, "b");
        Producer<byte[]> p = unbatchedProducer(topic)) {
      for (int i = 0; i < 100; i++) {
        p.sendAsync(bytes("m-" + i));
      }
      p.flush();
      Map<String, List<Message<byte[]>>> got = collect(100, List.of(a, b));
      List<String> all = new ArrayList<>();
      got.values().forEach(l -> all.addAll(values(l)));
      assertEquals(100, all.size());
      assertEquals(new HashSet<>(expected("m-", 0, 100)), new HashSet<>(all),
          "each message exactly once across the two consumers");
      // Both consumers share the load.
      assertFalse(got.get("a").isEmpty(), "consumer a got nothing: " + sizes(got));
      assertFalse(got.get("b").isEmpty(), "consumer b got nothing: " + sizes(got));
    }
  }

  @Test
  void failover() throws Exception {
    String topic = topic();
    Consumer<byte[]> a = subscribe(topic, SubscriptionType.Failover, "a");
    Consumer<byte[]> b = subscribe(topic, SubscriptionType.Failover, "b");
    try (Producer<byte[]> p = unbatchedProducer(topic)) {
      for (int i = 0; i < 20; i++) {
        p.send(bytes("m-" + i));
      }
      Map<String, List<Message<byte[]>>> got = collect(20, List.of(a, b));
      // Only the active consumer receives, and in order.
      String active = got.get("a").isEmpty() ? "b" : "a";
      assertEquals(20, got.get(active).size(), "one active consumer gets all: " + sizes(got));
      assertValues(expected("m-", 0, 20), got.get(active));

      // The active consumer leaves: the other one takes over.
      Consumer<byte[]> standby = active.equals("a") ? b : a;
      (active.equals("a") ? a : b).close();
      for (int i = 20; i < 40; i++) {
        p.send(bytes("m-" + i));
      }
      assertValues(expected("m-", 20, 40), receiveN(standby, 20));
    } finally {
      a.close();
      b.close();
    }
  }

  @Test
  void keyShared() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> a = subscribe(topic, SubscriptionType.Key_Shared, "a");
        Consumer<byte[]> b = subscribe(topic, SubscriptionType.Key_Shared, "b");
        // Key-based batching, as Pulsar's documentation asks for Key_Shared.
        Producer<byte[]> p = client.newProducer().topic(topic)
            .batcherBuilder(BatcherBuilder.KEY_BASED).create()) {
      int keys = 20;
      int total = 200;
      for (int i = 0; i < total; i++) {
        p.newMessage().key("k" + (i % keys)).value(bytes("k" + (i % keys) + ":" + i))
            .sendAsync();
      }
      p.flush();
      Map<String, List<Message<byte[]>>> got = collect(total, List.of(a, b));

      Map<String, String> owner = new HashMap<>();
      Map<String, Integer> last = new HashMap<>();
      Set<String> seen = new HashSet<>();
      got.forEach((consumer, messages) -> {
        for (Message<byte[]> m : messages) {
          String key = m.getKey();
          String[] parts = str(m).split(":");
          assertEquals(key, parts[0], "payload matches its key");
          assertTrue(seen.add(str(m)), "duplicate " + str(m));
          String prev = owner.putIfAbsent(key, consumer);
          assertTrue(prev == null || prev.equals(consumer),
              "key " + key + " went to both consumers");
          int seq = Integer.parseInt(parts[1]);
          Integer before = last.put(key, seq);
          assertTrue(before == null || before < seq,
              "key " + key + " out of order: " + seq + " after " + before);
        }
      });
      assertEquals(total, seen.size());
      assertEquals(keys, owner.size());
      assertTrue(owner.containsValue("a") && owner.containsValue("b"),
          "both consumers own keys: " + owner);
    }
  }
}
