package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SchemaSerializationException;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.api.schema.GenericRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Schema-typed producers and AUTO_CONSUME consumers either work end to end (as on Pulsar) or
 * fail fast with a real error: never by running into the 60 s operation timeout.
 */
class SchemaTest extends InteropTest {

  /** A JSON-schema value (public fields and a no-argument constructor, as Schema.JSON wants). */
  public static class Reading {
    public String sensor;
    public double value;

    public Reading() {}

    Reading(String sensor, double value) {
      this.sensor = sensor;
      this.value = value;
    }
  }

  @Test
  @Timeout(180)
  void jsonProducerAndAutoConsumeConsumer() throws Exception {
    String topic = topic();
    long t0 = System.nanoTime();
    try (PulsarClient slow = broker.clientBuilder().operationTimeout(60, TimeUnit.SECONDS)
            .lookupTimeout(60, TimeUnit.SECONDS).build();
        Producer<Reading> p = slow.newProducer(Schema.JSON(Reading.class)).topic(topic)
            .create();
        Consumer<GenericRecord> c = slow.newConsumer(Schema.AUTO_CONSUME()).topic(topic)
            .subscriptionName("sub")
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe()) {
      p.send(new Reading("sensor-1", 21.5));
      Message<GenericRecord> m = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(m, "the JSON message through an AUTO_CONSUME consumer");
      assertEquals("sensor-1", m.getValue().getField("sensor"));
      assertEquals(21.5, ((Number) m.getValue().getField("value")).doubleValue());
      c.acknowledge(m);
      System.out.println("[interop] schema: JSON producer + AUTO_CONSUME consumer work");
    } catch (PulsarClientException | SchemaSerializationException e) {
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("[interop] schema: refused after %d ms: %s%n", ms, e);
      assertFalse(e instanceof PulsarClientException.TimeoutException,
          "schema producer/consumer ran into the operation timeout after " + ms + " ms: " + e);
    }
  }
}
