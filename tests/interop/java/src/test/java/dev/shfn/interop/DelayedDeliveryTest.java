package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.SubscriptionType;
import org.junit.jupiter.api.Test;

/** deliverAfter: held back on a Shared subscription, delivered at once on an Exclusive one. */
class DelayedDeliveryTest extends InteropTest {

  private Consumer<byte[]> subscribe(String topic, SubscriptionType type) throws Exception {
    return client.newConsumer().topic(topic).subscriptionName("sub").subscriptionType(type)
        .subscribe();
  }

  @Test
  void sharedSubscriptionHoldsDelayedMessage() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = subscribe(topic, SubscriptionType.Shared);
        Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create()) {
      long t0 = System.nanoTime();
      p.newMessage().value(bytes("later")).deliverAfter(3, TimeUnit.SECONDS).send();
      p.send(bytes("now"));
      // The undelayed message is not held up behind the delayed one.
      Message<byte[]> now = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(now, "the undelayed message");
      assertEquals("now", str(now));
      c.acknowledge(now);
      // The delayed one does not come within the first second...
      long firstSecond = 1000 - (System.nanoTime() - t0) / 1_000_000;
      if (firstSecond > 0) {
        Message<byte[]> early = c.receive((int) firstSecond, TimeUnit.MILLISECONDS);
        assertNull(early, () -> "delayed message delivered early: " + str(early));
      }
      // ... but later.
      Message<byte[]> later = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(later, "the delayed message");
      assertEquals("later", str(later));
      c.acknowledge(later);
      System.out.printf("[interop] delayed message (3 s) arrived after %d ms%n",
          (System.nanoTime() - t0) / 1_000_000);
    }
  }

  @Test
  void exclusiveSubscriptionIgnoresDelay() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = subscribe(topic, SubscriptionType.Exclusive);
        Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create()) {
      long t0 = System.nanoTime();
      p.newMessage().value(bytes("later")).deliverAfter(3, TimeUnit.SECONDS).send();
      // Pulsar applies delays on Shared and Key_Shared subscriptions only: here the message
      // comes well before its 3 s are up.
      long left = 2500 - (System.nanoTime() - t0) / 1_000_000;
      Message<byte[]> m = left > 0 ? c.receive((int) left, TimeUnit.MILLISECONDS) : null;
      assertNotNull(m, "on Exclusive the delayed message comes at once");
      assertEquals("later", str(m));
    }
  }
}
