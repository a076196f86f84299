package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * An idle consumer stays connected past the keep-alive interval (30 s on both sides): the
 * connection's PING/PONG must keep it alive, so it is never dropped and re-established.
 *
 * <p>Runs on a client of its own, so no other test's traffic keeps the connection busy, and
 * concurrently with the other classes since it mostly waits.
 */
@Execution(ExecutionMode.CONCURRENT)
class LongLivedConsumerTest extends InteropTest {
  private static final int IDLE_SECONDS = 70;

  @Test
  @Timeout(180)
  void idleConsumerStaysConnectedPastKeepAlive() throws Exception {
    String topic = topic();
    try (PulsarClient own = broker.clientBuilder().build();
        Consumer<byte[]> c = own.newConsumer().topic(topic).subscriptionName("sub").subscribe();
        Producer<byte[]> p = own.newProducer().topic(topic).enableBatching(false).create()) {
      p.send(bytes("before"));
      Message<byte[]> before = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(before, "message before the idle period");
      c.acknowledge(before);

      // Sample the connection state every second (time is the behaviour under test).
      List<Integer> down = new ArrayList<>();
      for (int s = 1; s <= IDLE_SECONDS; s++) {
        Thread.sleep(1000);
        if (!c.isConnected() || !p.isConnected()) {
          down.add(s);
        }
      }
      assertTrue(down.isEmpty(), "consumer/producer disconnected at seconds " + down);
      assertEquals(0, c.getLastDisconnectedTimestamp(), "consumer reconnected meanwhile");
      assertEquals(0, p.getLastDisconnectedTimestamp(), "producer reconnected meanwhile");

      p.send(bytes("after"));
      Message<byte[]> after = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(after, "message after " + IDLE_SECONDS + " s idle");
      assertEquals("after", str(after));
      c.acknowledge(after);
      assertEquals(0, c.getLastDisconnectedTimestamp(), "consumer reconnected to receive");
    }
  }
}
