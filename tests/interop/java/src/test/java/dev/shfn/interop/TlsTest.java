package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.AuthenticationFactory;
import org.apache.pulsar.client.api.ClientBuilder;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.apache.pulsar.client.impl.auth.AuthenticationTls;
import org.junit.jupiter.api.Test;

/**
 * The Java client over pulsar+ssl://, with host-name verification: a round trip on both brokers,
 * a CA the client does not trust refused, and on the shfn broker a client certificate that
 * authenticates instead of a token (mTLS).
 */
class TlsTest extends InteropTest {

  private ClientBuilder overTls() {
    assumeTrue(!broker.tlsUrl.isEmpty(), "the broker of this run has no TLS listener");
    return PulsarClient.builder().serviceUrl(broker.tlsUrl)
        .tlsTrustCertsFilePath(broker.ca.toString()).enableTlsHostnameVerification(true)
        .operationTimeout(10, TimeUnit.SECONDS).lookupTimeout(10, TimeUnit.SECONDS);
  }

  private void roundTrip(PulsarClient c) throws Exception {
    String topic = topic();
    try (Consumer<String> consumer = c.newConsumer(Schema.STRING).topic(topic)
            .subscriptionName("sub")
            .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).subscribe();
        Producer<String> producer = c.newProducer(Schema.STRING).topic(topic).create()) {
      producer.send("over tls");
      assertEquals("over tls",
          consumer.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS).getValue());
    }
  }

  @Test
  void aRoundTripOverTls() throws Exception {
    try (PulsarClient c = overTls().authentication(AuthenticationFactory.token(broker.token))
        .build()) {
      roundTrip(c);
    }
  }

  @Test
  void aBrokerCertificateTheClientDoesNotTrustIsRefused() throws Exception {
    assumeTrue(!broker.tlsUrl.isEmpty(), "the broker of this run has no TLS listener");
    try (PulsarClient c = PulsarClient.builder().serviceUrl(broker.tlsUrl)
        .authentication(AuthenticationFactory.token(broker.token))
        .operationTimeout(5, TimeUnit.SECONDS).lookupTimeout(5, TimeUnit.SECONDS).build()) {
      PulsarClientException refused = assertThrows(PulsarClientException.class,
          () -> c.newProducer().topic(topic()).create(), "the test CA is not the JVM's");
      System.out.println("[interop] tls: untrusted broker certificate: " + refused);
    }
  }

  @Test
  void aClientCertificateAuthenticatesWithoutAToken() throws Exception {
    assumeTrue(broker.clientCertificate != null, "the standalone takes tokens only");
    AuthenticationTls certificate = new AuthenticationTls(broker.clientCertificate[0].toString(),
        broker.clientCertificate[1].toString());
    try (PulsarClient c = overTls().authentication(certificate).build()) {
      roundTrip(c);
    }
    try (PulsarClient anonymous = overTls().build()) {
      PulsarClientException refused = assertThrows(PulsarClientException.class,
          () -> anonymous.newProducer().topic(topic()).create(), "no token, no certificate");
      assertFalse(refused instanceof PulsarClientException.TimeoutException, refused.toString());
    }
  }
}
