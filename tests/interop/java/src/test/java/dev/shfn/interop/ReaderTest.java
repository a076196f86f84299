package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.MessageIdAdv;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Reader;
import org.junit.jupiter.api.Test;

/** Readers at earliest, at latest, and at latest inclusive on a batched topic. */
class ReaderTest extends InteropTest {

  private static List<String> readN(Reader<byte[]> reader, int n) throws PulsarClientException {
    List<String> got = new ArrayList<>();
    while (got.size() < n) {
      Message<byte[]> m = reader.readNext((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(m, "read " + got.size() + " of " + n + ": " + got);
      got.add(str(m));
    }
    return got;
  }

  private void produce(Producer<byte[]> p, String prefix, int from, int to) throws Exception {
    for (int i = from; i < to; i++) {
      p.send(bytes(prefix + i));
    }
  }

  @Test
  void readerFromEarliest() throws Exception {
    String topic = topic();
    try (Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create()) {
      produce(p, "m-", 0, 10);
      try (Reader<byte[]> r = client.newReader().topic(topic).startMessageId(MessageId.earliest)
          .create()) {
        assertEquals(expected("m-", 0, 10), readN(r, 10));
        assertFalse(r.hasMessageAvailable(), "nothing after the last message");
      }
    }
  }

  @Test
  void readerFromLatest() throws Exception {
    String topic = topic();
    try (Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create()) {
      produce(p, "old-", 0, 5);
      try (Reader<byte[]> r = client.newReader().topic(topic).startMessageId(MessageId.latest)
          .create()) {
        assertFalse(r.hasMessageAvailable(), "a reader at latest has nothing to read yet");
        produce(p, "new-", 0, 5);
        assertEquals(expected("new-", 0, 5), readN(r, 5));
      }
    }
  }

  @Test
  void readerLatestInclusiveOnBatchedTopicReturnsLastMessage() throws Exception {
    String topic = topic();
    try (Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(true)
        .batchingMaxMessages(100).batchingMaxPublishDelay(1, TimeUnit.SECONDS).create()) {
      List<CompletableFuture<MessageId>> receipts = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        receipts.add(p.sendAsync(bytes("m-" + i)));
      }
      p.flush();
      MessageId last = receipts.get(9).get(ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertTrue(((MessageIdAdv) last).getBatchIndex() > 0, "the last message is in a batch");

      try (Reader<byte[]> r = client.newReader().topic(topic).startMessageId(MessageId.latest)
          .startMessageIdInclusive().create()) {
        assertTrue(r.hasMessageAvailable(), "the last message is available");
        Message<byte[]> m = r.readNext((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(m, "the last message");
        assertEquals("m-9", str(m));
        assertEquals(last, m.getMessageId());
        assertNull(r.readNext(1, TimeUnit.SECONDS), "nothing after the last message");
      }
    }
  }
}
