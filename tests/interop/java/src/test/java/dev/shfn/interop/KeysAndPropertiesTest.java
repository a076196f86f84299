package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.junit.jupiter.api.Test;

/** Message metadata a user sets comes back unchanged. */
class KeysAndPropertiesTest extends InteropTest {

  @Test
  void keysPropertiesAndEventTimeRoundTrip() throws Exception {
    String topic = topic();
    Map<String, String> props = Map.of("a", "1", "unicode", "h\u00e9llo \u2713", "empty", "");
    byte[] keyBytes = {0, 1, 2, (byte) 0xff, (byte) 0x80};
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscribe();
        Producer<byte[]> p = client.newProducer().topic(topic).producerName("props-producer")
            .create()) {
      p.newMessage().key("user-42").properties(props).eventTime(1234567890123L)
          .value(bytes("one")).sendAsync();
      p.newMessage().keyBytes(keyBytes).property("k", "v").value(bytes("two")).sendAsync();
      p.newMessage().value(new byte[0]).sendAsync();
      p.flush();

      List<Message<byte[]>> got = receiveN(c, 3);
      Message<byte[]> one = got.get(0);
      assertEquals("one", str(one));
      assertTrue(one.hasKey());
      assertEquals("user-42", one.getKey());
      assertFalse(one.hasBase64EncodedKey());
      assertEquals(props, one.getProperties());
      assertEquals(1234567890123L, one.getEventTime());
      assertEquals("props-producer", one.getProducerName());
      assertTrue(one.getPublishTime() > 0, "publish time set");

      Message<byte[]> two = got.get(1);
      assertEquals("two", str(two));
      assertTrue(two.hasKey());
      assertTrue(two.hasBase64EncodedKey());
      assertArrayEquals(keyBytes, two.getKeyBytes());
      assertEquals(Map.of("k", "v"), two.getProperties());
      assertEquals(0, two.getEventTime(), "no event time set");

      Message<byte[]> three = got.get(2);
      assertEquals(0, three.getValue().length, "empty payload");
      assertFalse(three.hasKey());
      assertTrue(three.getProperties().isEmpty());
    }
  }

  @Test
  void receiptIdsAreTheIdsConsumersSee() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscribe();
        Producer<byte[]> single = client.newProducer().topic(topic).enableBatching(false)
            .create();
        Producer<byte[]> batched = client.newProducer().topic(topic).enableBatching(true)
            .batchingMaxPublishDelay(1, TimeUnit.SECONDS).create()) {
      List<MessageId> ids = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        ids.add(single.send(bytes("single-" + i)));
      }
      List<CompletableFuture<MessageId>> receipts = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        receipts.add(batched.sendAsync(bytes("batched-" + i)));
      }
      batched.flush();
      for (CompletableFuture<MessageId> r : receipts) {
        ids.add(r.get(ARRIVAL.toSeconds(), TimeUnit.SECONDS));
      }
      List<Message<byte[]>> got = receiveN(c, 10);
      for (int i = 0; i < 10; i++) {
        assertEquals(ids.get(i), got.get(i).getMessageId(), "message " + str(got.get(i)));
      }
    }
  }
}
