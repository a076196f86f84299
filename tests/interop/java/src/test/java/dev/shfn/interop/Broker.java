package dev.shfn.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pulsar.client.api.AuthenticationFactory;
import org.apache.pulsar.client.api.ClientBuilder;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;

/**
 * The broker under test, once per run.
 *
 * <p>Apache Pulsar standalone (the reference) unless SHFN_INTEROP_BROKER=embedded: then the
 * suite starts `$SHFN_BIN broker` itself on free ports, with token authentication on as on the
 * standalone, exactly as tests/interop/conftest.py does for the Python suite. Both offer
 * pulsar+ssl:// too (scripts/test.sh starts the standalone with TLS); the shfn broker also takes
 * client certificates from its own test CA ({@link #clientCertificate}).
 */
public final class Broker implements AutoCloseable {
  /** Client operation timeout (lookups, producer/consumer creation) for the shared client. */
  static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(15);

  final String name;
  final String url;
  final String http;
  final String token;
  final String tlsUrl;  // pulsar+ssl://, empty when the broker has no TLS listener
  final Path ca;        // the CA its TLS certificate chains to
  // A client certificate and key the shfn broker trusts (CN "alice"); null on the standalone.
  Path[] clientCertificate;
  private final Process process;
  private final Path dataDir;
  private PulsarClient client;

  private Broker(String name, String url, String http, String token, String tlsUrl, Path ca,
      Process process, Path dataDir) {
    this.name = name;
    this.url = url;
    this.http = http;
    this.token = token;
    this.tlsUrl = tlsUrl;
    this.ca = ca;
    this.process = process;
    this.dataDir = dataDir;
  }

  static boolean embedded() {
    return "embedded".equals(System.getenv("SHFN_INTEROP_BROKER"));
  }

  static Broker start() throws Exception {
    if (!embedded()) {
      String ca = System.getenv().getOrDefault("PULSAR_CA", "");
      return new Broker("standalone", requireEnv("PULSAR_URL"), requireEnv("PULSAR_HTTP"),
          System.getenv().getOrDefault("PULSAR_TOKEN", ""),
          System.getenv().getOrDefault("PULSAR_TLS_URL", ""), ca.isEmpty() ? null : Path.of(ca),
          null, null);
    }
    return startEmbedded(Path.of(requireEnv("SHFN_BIN")));
  }

  private static String requireEnv(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException(name + " is not set: run the suite through ctest or"
          + " scripts/test.sh, or export it (e.g. `set -a; . /tmp/shared-pulsar/env`)");
    }
    return value;
  }

  /** The directory for logs and scratch files of this run (Maven's build directory). */
  static Path buildDir() {
    return Path.of(System.getProperty("shfn.build.dir", "target"));
  }

  private static Broker startEmbedded(Path binary) throws Exception {
    Path data = Files.createTempDirectory("shfn-interop-java-");
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    Path secretFile = data.resolve("secret.key");
    Files.write(secretFile, secret);
    Path log = buildDir().resolve("shfn-broker.log");
    Files.createDirectories(log.getParent());
    TestCertificates certificates = TestCertificates.make(data.resolve("tls"));
    Process proc = new ProcessBuilder(binary.toString(), "broker",
        "--listen", "127.0.0.1:0", "--data-dir", data.resolve("data").toString(),
        "--admin", "127.0.0.1:0", "--token-secret-file", secretFile.toString(),
        "--tls-listen", "127.0.0.1:0",
        "--tlsCertificateFilePath", certificates.server[0].toString(),
        "--tlsKeyFilePath", certificates.server[1].toString(),
        "--tlsTrustCertsFilePath", certificates.ca.toString())
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
      String url = readyUrl(out, "shfn broker ready", log);
      String http = readyUrl(out, "shfn admin ready", log);
      String tlsUrl = readyUrl(out, "shfn broker ready", log);
      drain(out, log);
      // If the test JVM is made to exit early (e.g. ctest's timeout), do not leave the broker.
      Runtime.getRuntime().addShutdownHook(new Thread(proc::destroy, "shfn-broker-stop"));
      Broker b = new Broker("embedded", url, http, hs256Token(secret, "shfn-test"), tlsUrl,
          certificates.ca, proc, data);
      b.clientCertificate = certificates.client;
      return b;
    } catch (Exception e) {
      proc.destroyForcibly();
      deleteTree(data);
      throw e;
    }
  }

  private static String readyUrl(BufferedReader out, String prefix, Path log) throws IOException {
    String line = out.readLine();
    if (line == null || !line.startsWith(prefix)) {
      throw new IllegalStateException("unexpected first lines from shfn broker: " + line
          + " (its stderr is in " + log + ")");
    }
    return line.substring(line.indexOf(" on ") + 4).trim();
  }

  /** Keeps reading the broker's stdout (into the log) so that it never blocks on a full pipe. */
  private static void drain(BufferedReader out, Path log) {
    Thread t = new Thread(() -> {
      try (OutputStream sink = Files.newOutputStream(log,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)) {
        String line;
        while ((line = out.readLine()) != null) {
          sink.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        }
      } catch (IOException ignored) {
        // The broker is gone.
      }
    }, "shfn-broker-stdout");
    t.setDaemon(true);
    t.start();
  }

  /** A JWT {"sub": subject} signed with HS256, as Pulsar's AuthenticationProviderToken wants. */
  static String hs256Token(byte[] key, String subject) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String unsigned = b64.encodeToString("{\"alg\":\"HS256\"}".getBytes(StandardCharsets.UTF_8))
        + "." + b64.encodeToString(("{\"sub\":\"" + subject + "\"}")
            .getBytes(StandardCharsets.UTF_8));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return unsigned + "." + b64.encodeToString(
        mac.doFinal(unsigned.getBytes(StandardCharsets.US_ASCII)));
  }

  /** A client builder for this broker, with its authentication and the suite's timeouts. */
  ClientBuilder clientBuilder() throws PulsarClientException {
    ClientBuilder b = PulsarClient.builder()
        .serviceUrl(url)
        .operationTimeout((int) OPERATION_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
        .lookupTimeout((int) OPERATION_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (!token.isEmpty()) {
      b.authentication(AuthenticationFactory.token(token));
    }
    return b;
  }

  /** One client shared by the tests (as most applications share one). */
  synchronized PulsarClient client() throws PulsarClientException {
    if (client == null) {
      client = clientBuilder().build();
    }
    return client;
  }

  /** The Pulsar-CLI authentication flags for this broker (none without a token). */
  List<String> cliAuthArgs() {
    if (token.isEmpty()) {
      return List.of();
    }
    return List.of("--auth-plugin", "org.apache.pulsar.client.impl.auth.AuthenticationToken",
        "--auth-params", "token:" + token);
  }

  /** PUT on the admin REST API, with the bearer token; returns the response. */
  HttpResponse<String> adminPut(String path, String jsonBody) throws Exception {
    return admin("PUT", path, jsonBody);
  }

  /** A request to the admin REST API, with the bearer token; returns the response. */
  HttpResponse<String> admin(String method, String path, String jsonBody) throws Exception {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(http + path))
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
    if (!token.isEmpty()) {
      req.header("Authorization", "Bearer " + token);
    }
    return HttpClient.newHttpClient().send(req.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public synchronized void close() throws Exception {
    if (client != null) {
      client.close();
      client = null;
    }
    if (process != null) {
      process.destroy();  // SIGTERM: a clean shutdown, as the Python suite does
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      deleteTree(dataDir);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
