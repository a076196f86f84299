package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.CompressionType;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.MessageIdAdv;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Batched sends with each compression codec arrive whole, in order, and really batched. */
class BatchCompressionTest extends InteropTest {

  @ParameterizedTest
  @EnumSource(value = CompressionType.class, names = {"NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY"})
  void batchedWithCodec(CompressionType codec) throws Exception {
    String topic = topic();
    int n = 300;
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe();
        Producer<byte[]> p = client.newProducer().topic(topic).compressionType(codec)
            .enableBatching(true).batchingMaxMessages(100)
            .batchingMaxPublishDelay(1, TimeUnit.SECONDS).create()) {
      List<byte[]> sent = new ArrayList<>();
      List<CompletableFuture<MessageId>> receipts = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        // Compressible (repetitive) and distinct payloads of ~1 KiB.
        byte[] payload = bytes(("message " + i + " of " + codec + "; ").repeat(40));
        sent.add(payload);
        receipts.add(p.sendAsync(payload));
      }
      p.flush();
      CompletableFuture.allOf(receipts.toArray(new CompletableFuture[0]))
          .get(ARRIVAL.toSeconds(), TimeUnit.SECONDS);

      List<Message<byte[]>> got = receiveN(c, n);
      int maxBatch = 0;
      for (int i = 0; i < n; i++) {
        assertArrayEquals(sent.get(i), got.get(i).getValue(), "message " + i);
        maxBatch = Math.max(maxBatch, ((MessageIdAdv) got.get(i).getMessageId()).getBatchSize());
      }
      assertTrue(maxBatch > 1, "messages arrived in batches (largest batch: " + maxBatch + ")");
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }
}
