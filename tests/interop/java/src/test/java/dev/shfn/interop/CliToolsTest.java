package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.Reader;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pulsar's own command-line tools against the broker: pulsar-perf
 * (org.apache.pulsar.testclient.PulsarPerfTestTool) and pulsar-client
 * (org.apache.pulsar.client.cli.PulsarClientTool), run as `java -cp 'LIB/*' MAIN CONF ARGS`,
 * as bin/pulsar-perf and bin/pulsar-client do. LIB is the lib dir scripts/setup-pulsar.sh
 * prints (or $SHFN_PULSAR_LIB).
 */
@Timeout(300)
class CliToolsTest extends InteropTest {
  private static final Duration CLI_TIMEOUT = Duration.ofSeconds(120);
  private static Path lib;

  private record Run(int exitCode, String output, Path log) {
    String describe() {
      String[] lines = output.split("\n");
      int from = Math.max(0, lines.length - 25);
      return "exit " + exitCode + ", log " + log + ", last lines:\n"
          + String.join("\n", List.of(lines).subList(from, lines.length));
    }
  }

  private static synchronized Path pulsarLib() throws Exception {
    if (lib != null) {
      return lib;
    }
    String fromEnv = System.getenv("SHFN_PULSAR_LIB");
    if (fromEnv != null && !fromEnv.isEmpty()) {
      lib = Path.of(fromEnv);
    } else {
      Path script = Path.of(System.getProperty("shfn.root", "../../.."), "scripts",
          "setup-pulsar.sh");
      Process p = new ProcessBuilder("bash", script.toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      assertTrue(p.waitFor(600, TimeUnit.SECONDS) && p.exitValue() == 0,
          script + " failed: " + out);
      lib = Path.of(out);
    }
    try (DirectoryStream<Path> jars = Files.newDirectoryStream(lib, "pulsar-client-tools-*.jar")) {
      assertTrue(jars.iterator().hasNext(), "no pulsar-client-tools jar in " + lib
          + ": run scripts/setup-pulsar.sh (tools/pulsar/pom.xml lists it)");
    }
    return lib;
  }

  /** Runs a Pulsar CLI main class; stdout and stderr (its log4j INFO log) go to a file. */
  private Run cli(String logName, String mainClass, String heap, List<String> args)
      throws Exception {
    Path dir = Broker.buildDir().resolve("cli").toAbsolutePath();
    Files.createDirectories(dir);
    Path conf = dir.resolve("client.conf");
    Files.writeString(conf, "brokerServiceUrl=" + broker.url + "\nwebServiceUrl=" + broker.http
        + "\n");
    Path log4j = dir.resolve("log4j2.xml");
    Files.writeString(log4j, """
        <?xml version="1.0" encoding="UTF-8"?>
        <Configuration status="warn" shutdownHook="disable">
          <Appenders>
            <Console name="out" target="SYSTEM_OUT">
              <PatternLayout pattern="%d{HH:mm:ss.SSS} %-5level %c{1} - %msg%n"/>
            </Console>
          </Appenders>
          <Loggers><Root level="info"><AppenderRef ref="out"/></Root></Loggers>
        </Configuration>
        """);
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        // As scripts/pulsar-standalone.sh (and Pulsar's bin/ scripts).
        "-Djava.net.preferIPv4Stack=true", "-Dio.netty.tryReflectionSetAccessible=true",
        "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
        "--add-opens", "java.base/sun.net=ALL-UNNAMED",
        "-Dlog4j2.configurationFile=" + log4j,
        "-cp", pulsarLib() + "/*", mainClass, conf.toString()));
    cmd.addAll(args);
    Path log = dir.resolve(logName + (Broker.embedded() ? "-embedded" : "-standalone") + ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    if (!p.waitFor(CLI_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError(mainClass + " (" + logName + ") still running after "
          + CLI_TIMEOUT.toSeconds() + " s; killed. " + new Run(-1, read(log), log).describe());
    }
    return new Run(p.exitValue(), read(log), log);
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  private Run perf(String logName, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of(args[0], "-u", broker.url));
    all.addAll(broker.cliAuthArgs());
    all.addAll(List.of(args).subList(1, args.length));
    // pulsar-perf allocates large latency histograms up front.
    return cli(logName, "org.apache.pulsar.testclient.PulsarPerfTestTool", "1g", all);
  }

  private Run pulsarClient(String logName, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("--url", broker.url));
    all.addAll(broker.cliAuthArgs());
    all.addAll(List.of(args));
    return cli(logName, "org.apache.pulsar.client.cli.PulsarClientTool", "256m", all);
  }

  private static long match(Run run, String regex) {
    Matcher m = Pattern.compile(regex).matcher(run.output);
    assertTrue(m.find(), "no /" + regex + "/ in the output: " + run.describe());
    return Long.parseLong(m.group(1));
  }

  @Test
  void pulsarPerfProducesAndConsumes() throws Exception {
    String topic = topic();
    int n = 3000;
    int size = 256;
    Run produce = perf("perf-produce", "produce", "-m", String.valueOf(n), "-r", "3000",
        "-s", String.valueOf(size), topic);
    assertEquals(0, produce.exitCode, produce.describe());
    // "records sent" counts receipts; pulsar-perf stops once -m are acknowledged, so a few
    // more may be sent (and closing its producer waits for their receipts).
    long sent = match(produce, "Aggregated throughput stats --- (\\d+) records sent");
    assertTrue(sent >= n, "pulsar-perf sent " + sent + " of " + n + ": " + produce.describe());

    Run consume = perf("perf-consume", "consume", "-m", String.valueOf(sent),
        "-sp", "Earliest", "-ss", "perf", "-time", "90", topic);
    assertEquals(0, consume.exitCode, consume.describe());
    long received = match(consume, "Aggregated throughput stats --- (\\d+) records received");
    assertEquals(sent, received, "pulsar-perf consume: " + consume.describe());

    // The Java client sees exactly the messages pulsar-perf got receipts for, at their size.
    try (Reader<byte[]> r = client.newReader().topic(topic).startMessageId(MessageId.earliest)
        .create()) {
      long count = 0;
      while (r.hasMessageAvailable()) {
        Message<byte[]> m = r.readNext((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(m, "message " + count + " announced but not read");
        assertEquals(size, m.getValue().length, "size of message " + count);
        count++;
      }
      assertEquals(sent, count, "messages in the topic vs. receipts pulsar-perf counted (more"
          + " stored than acknowledged: see ProducerCloseTest)");
    }
  }

  @Test
  void pulsarClientProducesJavaConsumes() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("java")
        .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe()) {
      // pulsar-client sends at most 1000 messages per run: 10 distinct ones, 100 times.
      Run produce = pulsarClient("client-produce", "produce", "-m", "m0,m1,m2,m3,m4,m5,m6,m7,m8,m9",
          "-n", "100", "-k", "cli-key", "-p", "origin=pulsar-client", "-p", "n=1", topic);
      assertEquals(0, produce.exitCode, produce.describe());
      assertEquals(1000, match(produce, "(\\d+) messages successfully produced"));

      List<Message<byte[]>> got = receiveN(c, 1000);
      for (int i = 0; i < 1000; i++) {
        Message<byte[]> m = got.get(i);
        assertEquals("m" + (i % 10), str(m), "message " + i);
        assertEquals("cli-key", m.getKey());
        assertEquals(Map.of("origin", "pulsar-client", "n", "1"), m.getProperties());
      }
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }

  @Test
  void javaProducesPulsarClientConsumes() throws Exception {
    String topic = topic();
    int n = 2000;
    try (Producer<byte[]> p = client.newProducer().topic(topic).create()) {
      for (int i = 0; i < n; i++) {
        p.newMessage().key("k" + (i % 7)).value(bytes("j-" + i)).sendAsync();
      }
      p.flush();
    }
    Run consume = pulsarClient("client-consume", "consume", "-s", "cli", "-p", "Earliest",
        "-n", String.valueOf(n), topic);
    assertEquals(0, consume.exitCode, consume.describe());
    assertEquals(n, match(consume, "(\\d+) messages successfully consumed"));
    List<String> contents = new ArrayList<>();
    Matcher m = Pattern.compile("key:\\[(k\\d)], properties:\\[], content:(j-\\d+)")
        .matcher(consume.output);
    while (m.find()) {
      int i = Integer.parseInt(m.group(2).substring(2));
      assertEquals("k" + (i % 7), m.group(1), "key of " + m.group(2));
      contents.add(m.group(2));
    }
    assertEquals(expected("j-", 0, n), contents, "pulsar-client printed every message in order");
    assertFalse(consume.output.contains("Exception"), consume.describe());
  }
}
