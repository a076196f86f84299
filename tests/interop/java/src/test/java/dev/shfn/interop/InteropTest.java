package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Base of every test class: the broker, a shared client, unique topics and receive helpers. */
@ExtendWith({BrokerExtension.class, ResultLog.class, InteropTest.Inject.class})
abstract class InteropTest {
  /** How long a message that should arrive may take (generous: CI machines are slow). */
  static final Duration ARRIVAL = Duration.ofSeconds(20);

  Broker broker;
  PulsarClient client;
  private String testName;

  /** Hands the run's broker to each test instance. */
  static final class Inject implements org.junit.jupiter.api.extension.TestInstancePostProcessor {
    @Override
    public void postProcessTestInstance(Object instance, ExtensionContext context) {
      ((InteropTest) instance).broker = BrokerExtension.broker(context);
    }
  }

  @BeforeEach
  void setUpClient(TestInfo info) throws PulsarClientException {
    client = broker.client();
    testName = info.getTestMethod().map(m -> m.getName()).orElse("t");
  }

  /** A fresh topic in public/default, named after the test. */
  String topic() {
    return "persistent://public/default/" + shortTopic();
  }

  /** A fresh local topic name (no domain/tenant/namespace) named after the test. */
  String shortTopic() {
    String hint = testName.replaceAll("[^A-Za-z0-9]", "").toLowerCase();
    return "jint-" + hint + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(Message<byte[]> m) {
    return new String(m.getValue(), StandardCharsets.UTF_8);
  }

  /** Receives exactly n messages (each within ARRIVAL), acknowledging them. */
  static List<Message<byte[]>> receiveN(Consumer<byte[]> consumer, int n)
      throws PulsarClientException {
    List<Message<byte[]>> got = new ArrayList<>();
    while (got.size() < n) {
      Message<byte[]> m = consumer.receive((int) ARRIVAL.toMillis(), TimeUnit.MILLISECONDS);
      assertNotNull(m, "received " + got.size() + " of " + n + " messages, then nothing for "
          + ARRIVAL.toSeconds() + " s"
          + (got.isEmpty() ? "" : "; last: " + str(got.get(got.size() - 1))));
      consumer.acknowledge(m);
      got.add(m);
    }
    return got;
  }

  /** The payloads of messages, as strings. */
  static List<String> values(List<Message<byte[]>> messages) {
    List<String> out = new ArrayList<>();
    for (Message<byte[]> m : messages) {
      out.add(str(m));
    }
    return out;
  }

  /** Nothing more arrives within the given time (a negative check: time is the behaviour). */
  static void assertNothingMore(Consumer<byte[]> consumer, Duration wait)
      throws PulsarClientException {
    Message<byte[]> m = consumer.receive((int) wait.toMillis(), TimeUnit.MILLISECONDS);
    assertNull(m, () -> "unexpected extra message: " + str(m) + " id " + m.getMessageId());
  }

  static List<String> expected(String prefix, int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  static void assertValues(List<String> expected, List<Message<byte[]>> got) {
    assertEquals(expected, values(got));
  }
}
