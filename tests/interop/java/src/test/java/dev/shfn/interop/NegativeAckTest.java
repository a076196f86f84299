package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.DeadLetterPolicy;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.api.SubscriptionType;
import org.junit.jupiter.api.Test;

/** Negative acknowledgements redeliver; past maxRedeliverCount the message goes to the DLQ. */
class NegativeAckTest extends InteropTest {

  @Test
  void negativeAckRedelivers() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscriptionType(SubscriptionType.Shared)
            .negativeAckRedeliveryDelay(200, TimeUnit.MILLISECONDS).subscribe();
        Producer<byte[]> p = client.newProducer().topic(topic).create()) {
      p.send(bytes("again"));
      Message<byte[]> first = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(first, "first delivery");
      assertEquals(0, first.getRedeliveryCount());
      c.negativeAcknowledge(first);

      Message<byte[]> second = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(second, "redelivery after the negative ack");
      assertEquals("again", str(second));
      assertEquals(first.getMessageId(), second.getMessageId());
      assertEquals(1, second.getRedeliveryCount());
      c.acknowledge(second);
      assertNothingMore(c, Duration.ofSeconds(1));
    }
  }

  @Test
  void deadLetterTopicAfterMaxRedeliveries() throws Exception {
    String topic = topic();
    String dlq = topic + "-DLQ";
    int maxRedeliver = 2;
    try (Consumer<byte[]> dead = client.newConsumer().topic(dlq).subscriptionName("dlq-sub")
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe();
        Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscriptionType(SubscriptionType.Shared)
            .negativeAckRedeliveryDelay(200, TimeUnit.MILLISECONDS)
            .deadLetterPolicy(DeadLetterPolicy.builder().maxRedeliverCount(maxRedeliver)
                .deadLetterTopic(dlq).build())
            .subscribe();
        Producer<byte[]> p = client.newProducer().topic(topic).create()) {
      p.newMessage().key("poison-key").property("origin", "test").value(bytes("poison")).send();
      // Delivered 1 + maxRedeliver times, negatively acknowledged each time.
      for (int i = 0; i <= maxRedeliver; i++) {
        Message<byte[]> m = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(m, "delivery " + i);
        assertEquals("poison", str(m));
        assertEquals(i, m.getRedeliveryCount());
        c.negativeAcknowledge(m);
      }
      Message<byte[]> d = dead.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(d, "the message reaches the dead-letter topic " + dlq);
      assertEquals("poison", str(d));
      assertEquals("poison-key", d.getKey());
      assertEquals("test", d.getProperty("origin"));
      assertEquals(topic, d.getProperty("REAL_TOPIC"));
      dead.acknowledge(d);
      // ... and is no longer redelivered on the original subscription.
      assertNothingMore(c, Duration.ofSeconds(2));
    }
  }
}
