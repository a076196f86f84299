package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.Reader;
import org.junit.jupiter.api.Test;

/**
 * Closing a producer right after asynchronous sends: Pulsar answers the close only once the
 * sends before it have their receipts, so every send the application made succeeds. A send
 * that is reported failed yet stored would be duplicated by any application that retries.
 * (pulsar-perf, for one, closes its producer while sends are in flight.)
 */
class ProducerCloseTest extends InteropTest {

  @Test
  void closeWaitsForReceiptsOfSendsInFlight() throws Exception {
    String topic = topic();
    int n = 200;
    Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false).create();
    List<CompletableFuture<MessageId>> receipts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      receipts.add(p.sendAsync(bytes("m-" + i)));
    }
    p.closeAsync().get(ARRIVAL.toSeconds(), TimeUnit.SECONDS);

    int acked = 0;
    String firstFailure = null;
    for (CompletableFuture<MessageId> r : receipts) {
      try {
        r.get(ARRIVAL.toSeconds(), TimeUnit.SECONDS);
        acked++;
      } catch (ExecutionException e) {
        firstFailure = firstFailure == null ? String.valueOf(e.getCause()) : firstFailure;
      }
    }
    List<String> stored = new ArrayList<>();
    try (Reader<byte[]> r = client.newReader().topic(topic).startMessageId(MessageId.earliest)
        .create()) {
      while (r.hasMessageAvailable()) {
        Message<byte[]> m = r.readNext((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
        assertTrue(m != null, "message announced but not read after " + stored.size());
        stored.add(str(m));
      }
    }
    assertEquals(n, acked, "sends acknowledged before the close completed (" + stored.size()
        + " stored); first failure: " + firstFailure);
    assertEquals(expected("m-", 0, n), stored);
  }
}
