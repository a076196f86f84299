package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Reader;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.junit.jupiter.api.Test;

/**
 * A terminated topic as the Java client sees it: consumers and readers that have read it all
 * learn they reached its end (REACHED_END_OF_TOPIC), and producers are refused for good.
 */
class TerminateTest extends InteropTest {

  private void terminate(String topic) throws Exception {
    String path = "/admin/v2/" + topic.replace("://", "/") + "/terminate";
    assertEquals(200, broker.admin("POST", path, "").statusCode(), "terminate " + topic);
  }

  /** Polls a condition the client sets when a command arrives, up to the arrival deadline. */
  private static boolean becomes(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + ARRIVAL.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  @Test
  void consumersAndReadersReachTheEndAndProducersAreRefused() throws Exception {
    String topic = topic();
    try (Consumer<String> consumer = client.newConsumer(Schema.STRING).topic(topic)
            .subscriptionName("sub")
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe();
        Producer<String> producer = client.newProducer(Schema.STRING).topic(topic)
            .enableBatching(false).create()) {
      producer.send("one");
      producer.send("two");
      terminate(topic);

      assertThrows(PulsarClientException.TopicTerminatedException.class,
          () -> producer.send("three"), "a send after the termination");
      assertThrows(PulsarClientException.TopicTerminatedException.class,
          () -> client.newProducer(Schema.STRING).topic(topic).create().close(),
          "a new producer on a terminated topic");

      List<String> got = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        Message<String> m = consumer.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
        got.add(m.getValue());
        consumer.acknowledge(m);
      }
      assertEquals(List.of("one", "two"), got);
      assertTrue(becomes(consumer::hasReachedEndOfTopic), "the consumer reached the end");

      try (Reader<byte[]> reader = client.newReader().topic(topic)
          .startMessageId(MessageId.earliest).create()) {
        assertEquals("one",
            new String(reader.readNext(30, TimeUnit.SECONDS).getData(), StandardCharsets.UTF_8));
        assertFalse(reader.hasReachedEndOfTopic(), "one message is still to be read");
        reader.readNext(30, TimeUnit.SECONDS);
        assertTrue(becomes(reader::hasReachedEndOfTopic), "the reader reached the end");
      }
    }
  }
}
