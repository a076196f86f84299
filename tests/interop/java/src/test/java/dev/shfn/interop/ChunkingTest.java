package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.junit.jupiter.api.Test;

/** A message larger than the broker's maximum goes through in chunks, byte-exact. */
class ChunkingTest extends InteropTest {

  @Test
  void tenMebibyteMessageInChunks() throws Exception {
    String topic = topic();
    byte[] big = new byte[10 << 20];
    new Random(42).nextBytes(big);
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscribe();
        Producer<byte[]> p = client.newProducer().topic(topic).enableChunking(true)
            .enableBatching(false).create()) {
      p.send(big);
      p.send(bytes("after"));
      Message<byte[]> m = c.receive(60, TimeUnit.SECONDS);
      assertNotNull(m, "the chunked message");
      assertEquals(big.length, m.getValue().length, "size");
      assertArrayEquals(big, m.getValue(), "content");
      c.acknowledge(m);
      Message<byte[]> after = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(after, "the message after the chunked one");
      assertEquals("after", str(after));
    }
  }
}
