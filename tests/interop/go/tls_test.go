package interop

// The Go client over pulsar+ssl://, as tests/interop/java's TlsTest: a round trip with the
// host name checked on both brokers, a broker certificate the client does not trust refused, and
// on the shfn broker a client certificate that authenticates instead of a token (mTLS).

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
)

// refusalTimeout bounds a client that must be refused: the Go client retries a lookup that
// fails until its operation timeout, so a refusal takes exactly that long; its first attempt,
// whose reason the log shows, comes at once.
const refusalTimeout = 2 * time.Second

// requireTLS skips the test when the broker of this run has no pulsar+ssl:// listener.
func requireTLS(t *testing.T) {
	t.Helper()
	if broker.tlsURL == "" {
		t.Skip("the broker of this run has no TLS listener: PULSAR_TLS_URL or PULSAR_CA is not set " +
			"(start the standalone with `scripts/pulsar-standalone.sh start --tls`, as scripts/test.sh does)")
	}
}

// overTLS are the suite's client options on the pulsar+ssl:// URL, trusting the CA in caFile and
// checking that the broker's certificate names the host it connects to; with the token, if any.
func overTLS(caFile string) pulsar.ClientOptions {
	opts := clientOptions()
	opts.URL = broker.tlsURL
	opts.TLSTrustCertsFilePath = caFile
	opts.TLSValidateHostname = true
	return opts
}

func newClient(t *testing.T, opts pulsar.ClientOptions) pulsar.Client {
	t.Helper()
	c, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatalf("pulsar.NewClient(%s): %v", opts.URL, err)
	}
	t.Cleanup(c.Close) // registered first, so it runs after its producers' and consumers' cleanups
	return c
}

// tlsRoundTrip sends a message through a fresh topic and receives it with the same client.
func tlsRoundTrip(t *testing.T, c pulsar.Client) {
	t.Helper()
	topic := topicName(t)
	cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
	p := newProducer(t, c, pulsar.ProducerOptions{Topic: topic})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("over tls")})
	if got := string(receive(t, cons, 20*time.Second).Payload()); got != "over tls" {
		t.Fatalf("received %q over %s, want \"over tls\"", got, broker.tlsURL)
	}
}

// syncBuffer is a client's log, written by its goroutines, read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// refused asserts that a client with opts gets an error instead of a producer, and that its log
// gives the reason why (the Go client logs the reason and returns a connection error).
func refused(t *testing.T, opts pulsar.ClientOptions, why string) {
	t.Helper()
	var log syncBuffer
	opts.Logger = pulsarlog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(&log,
		&slog.HandlerOptions{Level: slog.LevelWarn})))
	opts.OperationTimeout = refusalTimeout
	c := newClient(t, opts)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topicName(t)})
	if err == nil {
		p.Close()
		t.Fatalf("a producer was created over %s; want a refusal (%s)", opts.URL, why)
	}
	if !strings.Contains(log.String(), why) {
		t.Fatalf("CreateProducer failed (%v), but the client's log does not say %q:\n%s", err, why, log.String())
	}
	t.Logf("refused: %v (the client's log: %q)", strings.ReplaceAll(err.Error(), "\n", "; "), why)
}

func TestTLSRoundTrip(t *testing.T) {
	t.Parallel()
	requireTLS(t)
	if !strings.HasPrefix(broker.tlsURL, "pulsar+ssl://127.0.0.1:") {
		t.Fatalf("TLS service URL %q, want pulsar+ssl://127.0.0.1:PORT", broker.tlsURL)
	}
	tlsRoundTrip(t, newClient(t, overTLS(broker.ca)))
}

// The broker's certificate chains to a CA the client was not told to trust: the handshake fails
// on the client's side, and the client says so.
func TestTLSUntrustedBrokerCertificateRefused(t *testing.T) {
	t.Parallel()
	requireTLS(t)
	other, err := newTestCA(t.TempDir(), "other-ca", "shfn-go-other-ca")
	if err != nil {
		t.Fatal(err)
	}
	refused(t, overTLS(other.file), "x509: certificate signed by unknown authority")
}

// A client certificate the shfn broker trusts authenticates without a token (as Pulsar's
// AuthenticationProviderTls); a client with neither is refused by the broker's answer to its
// CONNECT, and one whose certificate comes from a CA the broker does not trust by the broker's
// side of the handshake (the client reads the alert).
func TestTLSClientCertificateWithoutToken(t *testing.T) {
	t.Parallel()
	requireTLS(t)
	if broker.clientCert.cert == "" {
		t.Skip("Pulsar standalone (scripts/pulsar-standalone.sh) takes tokens only")
	}
	withCert := overTLS(broker.ca)
	withCert.Authentication = pulsar.NewAuthenticationTLS(broker.clientCert.cert, broker.clientCert.key)
	tlsRoundTrip(t, newClient(t, withCert))

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		anonymous := overTLS(broker.ca)
		anonymous.Authentication = nil
		refused(t, anonymous, "authentication with a token is required")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		other, err := newTestCA(dir, "other-ca", "shfn-go-other-ca")
		if err != nil {
			t.Fatal(err)
		}
		mallory, err := other.issueClient(dir, "mallory")
		if err != nil {
			t.Fatal(err)
		}
		untrusted := overTLS(broker.ca)
		untrusted.Authentication = pulsar.NewAuthenticationTLS(mallory.cert, mallory.key)
		refused(t, untrusted, "unknown certificate authority")
	})
}
