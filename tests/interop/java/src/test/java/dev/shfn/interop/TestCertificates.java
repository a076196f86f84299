package dev.shfn.interop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A CA of its own, a server certificate for 127.0.0.1 and a client certificate (CN "alice"), made
 * with the openssl CLI for the shfn broker the suite starts.
 */
final class TestCertificates {
  final Path ca;
  final Path[] server;  // certificate, key
  final Path[] client;  // certificate, key

  private TestCertificates(Path dir) {
    ca = dir.resolve("ca.pem");
    server = new Path[] {dir.resolve("server.pem"), dir.resolve("server.key")};
    client = new Path[] {dir.resolve("alice.pem"), dir.resolve("alice.key")};
  }

  static TestCertificates make(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    TestCertificates c = new TestCertificates(dir);
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
        "/CN=shfn-java-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-keyout", "ca.key", "-out", "ca.pem");
    c.issue(dir, "server", "localhost", "subjectAltName=IP:127.0.0.1");
    c.issue(dir, "alice", "alice", null);
    return c;
  }

  private void issue(Path dir, String name, String subject, String altName)
      throws IOException, InterruptedException {
    openssl(dir, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + subject,
        "-keyout", name + ".key", "-out", name + ".csr");
    Files.writeString(dir.resolve(name + ".ext"),
        (altName == null ? "" : altName + "\n") + "basicConstraints=CA:FALSE\n");
    openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "30", "-extfile", name + ".ext", "-out", name + ".pem");
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .start();
    String output = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed: " + output);
    }
  }
}
