package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.PulsarClientException.IncompatibleSchemaException;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SchemaSerializationException;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.api.schema.Field;
import org.apache.pulsar.client.api.schema.GenericRecord;
import org.apache.pulsar.client.api.schema.SchemaDefinition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Schema-typed producers and AUTO_CONSUME consumers work end to end, and the broker's schema
 * registry evolves a topic's schema as Pulsar's does under its default strategy (FULL): a
 * compatible version is added, an incompatible one or another type is refused, and every
 * message carries the version it was written with.
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

  // Avro names a record after its class; a schema evolves only under the same record name, so
  // the Avro versions are given as definitions, all records named User.
  private static final String USER_V1 = """
      {"type": "record", "name": "User", "namespace": "dev.shfn.interop", "fields": [
        {"name": "id", "type": "int"}]}""";
  /** v1 plus an optional field (default null): FULL-compatible both ways. */
  private static final String USER_V2 = """
      {"type": "record", "name": "User", "namespace": "dev.shfn.interop", "fields": [
        {"name": "id", "type": "int"},
        {"name": "email", "type": ["null", "string"], "default": null}]}""";
  /** v1 plus a required field: a v2 reader cannot read v1 data, so FULL refuses it. */
  private static final String USER_WITH_NAME = """
      {"type": "record", "name": "User", "namespace": "dev.shfn.interop", "fields": [
        {"name": "id", "type": "int"},
        {"name": "name", "type": "string"}]}""";

  /** The values the Avro producers write (the client's reflect writer reads their fields). */
  public static class UserV1 {
    public int id;

    UserV1(int id) {
      this.id = id;
    }
  }

  public static class UserV2 {
    public int id;
    public String email;

    UserV2(int id, String email) {
      this.id = id;
      this.email = email;
    }
  }

  public static class UserWithName {
    public int id;
    public String name;
  }

  // Schema.JSON(Class) derives the definition from the class, so the JSON versions are classes
  // of the same name (Metric) in holders of different names.
  static final class JsonV1 {
    public static class Metric {
      public String name;
      public double value;
    }
  }

  /** v1 plus a String (nullable, default null, as the client derives it): compatible. */
  static final class JsonV2 {
    public static class Metric {
      public String name;
      public double value;
      public String unit;
    }
  }

  /** v1 plus a primitive int (never null, so no default): incompatible. */
  static final class JsonWithCount {
    public static class Metric {
      public String name;
      public double value;
      public int count;
    }
  }

  /** An Avro schema from a definition; the class only types the producer. */
  private static <T> Schema<T> avro(Class<T> type, String definition) {
    return Schema.AVRO(SchemaDefinition.<T>builder().withJsonDef(definition).build());
  }

  private Consumer<GenericRecord> autoConsumer(String topic) throws PulsarClientException {
    return client.newConsumer(Schema.AUTO_CONSUME()).topic(topic).subscriptionName("sub")
        .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe();
  }

  /** Creates the producer (and closes it): for producers the broker must refuse. */
  private <T> Executable creating(Schema<T> schema, String topic) {
    return () -> client.newProducer(schema).topic(topic).create().close();
  }

  private static Message<GenericRecord> receive(Consumer<GenericRecord> c, String what)
      throws PulsarClientException {
    Message<GenericRecord> m = c.receive((int) ARRIVAL.toMillis(), TimeUnit.MILLISECONDS);
    assertNotNull(m, what + " did not arrive within " + ARRIVAL.toSeconds() + " s");
    c.acknowledge(m);
    return m;
  }

  /** The refusal's first line (Pulsar's goes on with both definitions), for the log. */
  private static String firstLine(Exception e) {
    String message = String.valueOf(e.getMessage());
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end) + " ...";
  }

  private static List<String> fieldNames(GenericRecord r) {
    return r.getFields().stream().map(Field::getName).toList();
  }

  private static void assertVersioned(Message<?> m, String what) {
    assertNotNull(m.getSchemaVersion(), what + " has no schema version");
    assertTrue(m.getSchemaVersion().length > 0, what + " has an empty schema version");
  }

  @Test
  void avroSchemaEvolvesAndMessagesKeepTheirVersion() throws Exception {
    String topic = topic();
    try (Consumer<GenericRecord> c = autoConsumer(topic)) {
      try (Producer<UserV1> p = client.newProducer(avro(UserV1.class, USER_V1)).topic(topic)
          .create()) {
        p.send(new UserV1(1));
      }
      try (Producer<UserV2> p = client.newProducer(avro(UserV2.class, USER_V2)).topic(topic)
          .create()) {
        p.send(new UserV2(2, "two@example.com"));
      }
      // A schema the topic already has is not a new version: v1 again gets v1's.
      try (Producer<UserV1> p = client.newProducer(avro(UserV1.class, USER_V1)).topic(topic)
          .create()) {
        p.send(new UserV1(3));
      }

      // AUTO_CONSUME decodes each message with its writer's version (fetched by GET_SCHEMA).
      Message<GenericRecord> m1 = receive(c, "the v1 message");
      Message<GenericRecord> m2 = receive(c, "the v2 message");
      Message<GenericRecord> m3 = receive(c, "the second v1 message");
      assertVersioned(m1, "the v1 message");
      assertVersioned(m2, "the v2 message");
      assertFalse(Arrays.equals(m1.getSchemaVersion(), m2.getSchemaVersion()),
          "v1 and v2 messages carry the same schema version");
      assertArrayEquals(m1.getSchemaVersion(), m3.getSchemaVersion(),
          "re-registering v1 made a new version");
      assertEquals(List.of("id"), fieldNames(m1.getValue()));
      assertEquals(1, m1.getValue().getField("id"));
      assertEquals(List.of("id", "email"), fieldNames(m2.getValue()));
      assertEquals(2, m2.getValue().getField("id"));
      assertEquals("two@example.com", m2.getValue().getField("email"));
      assertEquals(3, m3.getValue().getField("id"));
    }
  }

  @Test
  void avroFieldWithoutDefaultIsRefused() throws Exception {
    String topic = topic();
    try (Consumer<GenericRecord> c = autoConsumer(topic);
        Producer<UserV1> v1 = client.newProducer(avro(UserV1.class, USER_V1)).topic(topic)
            .create()) {
      IncompatibleSchemaException e = assertThrows(IncompatibleSchemaException.class,
          creating(avro(UserWithName.class, USER_WITH_NAME), topic),
          "a required field without a default is FULL-incompatible");
      System.out.println("[interop] schema: required field refused: " + firstLine(e));
      // The refusal leaves the topic as it was.
      v1.send(new UserV1(7));
      assertEquals(7, receive(c, "the v1 message after the refusal").getValue().getField("id"));
    }
  }

  @Test
  void jsonSchemaEvolvesByTheSameRules() throws Exception {
    String topic = topic();
    try (Consumer<GenericRecord> c = autoConsumer(topic)) {
      JsonV1.Metric first = new JsonV1.Metric();
      first.name = "cpu";
      first.value = 0.5;
      try (Producer<JsonV1.Metric> p = client.newProducer(Schema.JSON(JsonV1.Metric.class))
          .topic(topic).create()) {
        p.send(first);
      }
      IncompatibleSchemaException e = assertThrows(IncompatibleSchemaException.class,
          creating(Schema.JSON(JsonWithCount.Metric.class), topic),
          "a new primitive field (no default) is FULL-incompatible");
      System.out.println("[interop] schema: JSON required field refused: " + firstLine(e));
      JsonV2.Metric second = new JsonV2.Metric();
      second.name = "disk";
      second.value = 0.25;
      second.unit = "ratio";
      try (Producer<JsonV2.Metric> p = client.newProducer(Schema.JSON(JsonV2.Metric.class))
          .topic(topic).create()) {
        p.send(second);
      }

      Message<GenericRecord> m1 = receive(c, "the v1 JSON message");
      Message<GenericRecord> m2 = receive(c, "the v2 JSON message");
      assertVersioned(m1, "the v1 JSON message");
      assertVersioned(m2, "the v2 JSON message");
      assertFalse(Arrays.equals(m1.getSchemaVersion(), m2.getSchemaVersion()),
          "v1 and v2 JSON messages carry the same schema version");
      assertEquals("cpu", m1.getValue().getField("name"));
      assertNull(m1.getValue().getField("unit"), "the v1 message has no unit");
      assertEquals("disk", m2.getValue().getField("name"));
      assertEquals("ratio", m2.getValue().getField("unit"));
    }
  }

  @Test
  void anotherSchemaTypeIsRefused() throws Exception {
    String topic = topic();
    try (Producer<UserV1> v1 = client.newProducer(avro(UserV1.class, USER_V1)).topic(topic)
        .create()) {
      v1.send(new UserV1(1));
      IncompatibleSchemaException producer = assertThrows(IncompatibleSchemaException.class,
          creating(Schema.STRING, topic), "a STRING producer on an AVRO topic");
      System.out.println("[interop] schema: STRING producer refused: " + firstLine(producer));
      // A consumer's schema is checked too (only AUTO_CONSUME takes whatever is there).
      IncompatibleSchemaException consumer = assertThrows(IncompatibleSchemaException.class,
          () -> client.newConsumer(Schema.STRING).topic(topic).subscriptionName("sub")
              .subscribe().close(),
          "a STRING consumer on an AVRO topic");
      System.out.println("[interop] schema: STRING consumer refused: " + firstLine(consumer));
    }
  }

  /** Two versions of an application's class under different names, as apps often evolve them. */
  public static class Account {
    public int id;
  }

  public static class AccountWithEmail {
    public int id;
    public String email;
  }

  @Test
  void aRenamedRecordClassIsStillCompatible() throws Exception {
    // Pulsar's check (Avro's resolving grammar) matches records by structure, not by name.
    String topic = topic();
    try (Producer<Account> first = client.newProducer(Schema.AVRO(Account.class)).topic(topic)
            .create();
        Producer<AccountWithEmail> second =
            client.newProducer(Schema.AVRO(AccountWithEmail.class)).topic(topic).create()) {
      first.send(new Account());
      second.send(new AccountWithEmail());
    }
  }
}
