package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.ProducerAccessMode;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.junit.jupiter.api.Test;

/** Exclusive, ExclusiveWithFencing and WaitForExclusive producers. */
class ProducerAccessModeTest extends InteropTest {

  private Producer<byte[]> producer(String topic, String name, ProducerAccessMode mode)
      throws PulsarClientException {
    return client.newProducer().topic(topic).producerName(name).accessMode(mode)
        .enableBatching(false).create();
  }

  @Test
  void secondExclusiveProducerIsRefused() throws Exception {
    String topic = topic();
    try (Producer<byte[]> first = producer(topic, "first", ProducerAccessMode.Exclusive)) {
      // Pulsar refuses it as fenced ("Topic has an existing exclusive producer").
      PulsarClientException e = assertThrows(PulsarClientException.class,
          () -> producer(topic, "second", ProducerAccessMode.Exclusive).close());
      assertTrue(e instanceof PulsarClientException.ProducerFencedException,
          "refused as fenced, got " + e);
      System.out.println("[interop] second Exclusive producer: " + e);
      first.send(bytes("still mine"));
    }
  }

  @Test
  void exclusiveWithFencingFencesExistingProducer() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe();
        Producer<byte[]> old = producer(topic, "old", ProducerAccessMode.Exclusive)) {
      old.send(bytes("old-1"));
      try (Producer<byte[]> fencer =
          producer(topic, "fencer", ProducerAccessMode.ExclusiveWithFencing)) {
        PulsarClientException e = assertThrows(PulsarClientException.class,
            () -> old.send(bytes("old-2")), "the fenced producer can no longer send");
        System.out.println("[interop] send on the fenced producer: " + e);
        fencer.send(bytes("fencer-1"));
        assertValues(List.of("old-1", "fencer-1"), receiveN(c, 2));
        assertNothingMore(c, Duration.ofMillis(500));
      }
    }
  }

  @Test
  void waitForExclusiveGetsTopicWhenFirstCloses() throws Exception {
    String topic = topic();
    Producer<byte[]> first = producer(topic, "first", ProducerAccessMode.Exclusive);
    CompletableFuture<Producer<byte[]>> waiting = client.newProducer().topic(topic)
        .producerName("waiting").accessMode(ProducerAccessMode.WaitForExclusive)
        .enableBatching(false).createAsync();
    try {
      // Waits while the first producer holds the topic (time is the behaviour: 1 s)...
      assertThrows(TimeoutException.class, () -> waiting.get(1, TimeUnit.SECONDS),
          "WaitForExclusive producer created while another one is exclusive");
      first.send(bytes("first"));
      first.close();
      // ... and gets it once the first producer is gone.
      Producer<byte[]> second = waiting.get(ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      second.send(bytes("second"));
      second.close();
    } catch (ExecutionException e) {
      throw new AssertionError("WaitForExclusive producer failed: " + e.getCause(), e);
    } finally {
      first.close();
      waiting.thenAccept(Producer::closeAsync);
    }
  }
}
