// Package interop runs the official Apache Pulsar Go client (github.com/apache/pulsar-client-go)
// against a broker: Apache Pulsar standalone (the reference; its address comes from PULSAR_URL,
// PULSAR_HTTP and PULSAR_TOKEN, as scripts/test.sh exports them) or, with
// SHFN_INTEROP_BROKER=embedded, `$SHFN_BIN broker`, which TestMain starts itself with token
// authentication on. The same tests run against both, like tests/interop/conftest.py. Both may
// offer pulsar+ssl:// too: the standalone when started with --tls (PULSAR_TLS_URL, PULSAR_CA), the
// shfn broker always, with a CA of its own made here, whose client certificates it takes as a way
// to authenticate.
package interop

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
)

// broker is where the suite runs: the Pulsar service URL, the admin (REST) URL and the token;
// its pulsar+ssl:// URL and the CA (PEM file) its certificate chains to, both empty when it has no
// TLS listener; and a client certificate it trusts (CN "alice"; the shfn broker only).
var broker struct {
	url, http, token string
	tlsURL, ca       string
	clientCert       keyPair
	embedded         bool
}

// client is shared by the tests that need nothing special from their client.
var client pulsar.Client

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	broker.embedded = os.Getenv("SHFN_INTEROP_BROKER") == "embedded"
	if broker.embedded {
		stop, err := startEmbedded()
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			return 1
		}
		defer func() { stop(code != 0) }()
	} else {
		for _, name := range []string{"PULSAR_URL", "PULSAR_HTTP"} {
			if os.Getenv(name) == "" {
				fmt.Fprintf(os.Stderr, "interop: %s is not set: run the suite through scripts/test.sh "+
					"(or source the standalone's env file), or set SHFN_INTEROP_BROKER=embedded\n", name)
				return 1
			}
		}
		broker.url = os.Getenv("PULSAR_URL")
		broker.http = strings.TrimRight(os.Getenv("PULSAR_HTTP"), "/")
		broker.token = os.Getenv("PULSAR_TOKEN")
		if os.Getenv("PULSAR_TLS_URL") != "" && os.Getenv("PULSAR_CA") != "" {
			broker.tlsURL, broker.ca = os.Getenv("PULSAR_TLS_URL"), os.Getenv("PULSAR_CA")
		}
	}
	fmt.Fprintf(os.Stderr, "interop: broker %s (admin %s, tls %q, embedded=%v)\n", broker.url, broker.http,
		broker.tlsURL, broker.embedded)

	var err error
	client, err = pulsar.NewClient(clientOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: pulsar.NewClient:", err)
		return 1
	}
	defer client.Close()
	return m.Run()
}

// clientOptions are the options every client of the suite starts from. The client's own log goes
// to stderr from level WARN on, so that `go test -v` stays readable.
func clientOptions() pulsar.ClientOptions {
	opts := pulsar.ClientOptions{
		URL:              broker.url,
		OperationTimeout: 30 * time.Second,
		Logger: pulsarlog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(os.Stderr,
			&slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
	if broker.token != "" {
		opts.Authentication = pulsar.NewAuthenticationToken(broker.token)
	}
	return opts
}

// startEmbedded starts `$SHFN_BIN broker` on free ports with a fresh data directory and a random
// HS256 token key, signs a token for subject shfn-test, and reads the addresses it announces. It
// serves pulsar+ssl:// too, with a server certificate from a CA made for the run, and takes
// client certificates from that CA.
// stop(failed) stops it, and shows the end of its log if the suite failed; the data directory is
// removed unless SHFN_INTEROP_KEEP_LOG is set.
func startEmbedded() (stop func(failed bool), err error) {
	bin := os.Getenv("SHFN_BIN")
	if bin == "" {
		return nil, fmt.Errorf("SHFN_INTEROP_BROKER=embedded needs SHFN_BIN (the shfn binary)")
	}
	dir, err := os.MkdirTemp("", "shfn-interop-go-")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	secretFile := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		return nil, err
	}
	ca, err := newTestCA(dir, "ca", "shfn-go-test-ca")
	if err != nil {
		return nil, err
	}
	server, err := ca.issueServer(dir, "server")
	if err != nil {
		return nil, err
	}
	if broker.clientCert, err = ca.issueClient(dir, "alice"); err != nil {
		return nil, err
	}
	broker.ca = ca.file
	logPath := filepath.Join(dir, "broker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "broker", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--admin", "127.0.0.1:0", "--token-secret-file", secretFile, "--tls-listen", "127.0.0.1:0",
		"--tlsCertificateFilePath", server.cert, "--tlsKeyFilePath", server.key,
		"--tlsTrustCertsFilePath", ca.file)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func(failed bool) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if failed {
			if log, err := os.ReadFile(logPath); err == nil {
				lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
				fmt.Fprintf(os.Stderr, "interop: the last %d lines of the embedded broker's log:\n%s\n",
					min(len(lines), 60), strings.Join(lines[max(0, len(lines)-60):], "\n"))
			}
		}
		if os.Getenv("SHFN_INTEROP_KEEP_LOG") != "" {
			fmt.Fprintln(os.Stderr, "interop: embedded broker log kept in", logPath)
			return
		}
		os.RemoveAll(dir)
	}

	lines := bufio.NewReader(stdout)
	ready := func(prefix string) (string, error) {
		line, err := lines.ReadString('\n')
		if !strings.HasPrefix(line, prefix) {
			return "", fmt.Errorf("unexpected line from shfn broker: %q (%v); its log: %s", line, err, logPath)
		}
		return strings.TrimSpace(line[strings.Index(line, " on ")+len(" on "):]), nil
	}
	if broker.url, err = ready("shfn broker ready"); err == nil {
		if broker.http, err = ready("shfn admin ready"); err == nil {
			broker.tlsURL, err = ready("shfn broker ready")
		}
	}
	if err != nil {
		stop(true)
		return nil, err
	}
	broker.http = strings.TrimRight(broker.http, "/")
	go func() { _, _ = io.Copy(io.Discard, lines) }() // the broker must never block on its stdout
	broker.token = hs256Token(secret, "shfn-test")
	return stop, nil
}

func hs256Token(key []byte, subject string) string {
	b64 := base64.RawURLEncoding.EncodeToString
	unsigned := b64([]byte(`{"alg":"HS256"}`)) + "." + b64([]byte(`{"sub":"`+subject+`"}`))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + b64(mac.Sum(nil))
}

// topicName is a fresh topic in public/default for one test.
func topicName(t *testing.T) string {
	return "persistent://public/default/" + shortName(t)
}

// shortName is a unique local topic name derived from the test's name.
func shortName(t *testing.T) string {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	return fmt.Sprintf("go-%s-%x", name, suffix)
}

// adminPut sends PUT {http}{path} with a JSON body and the token, and fails the test unless the
// broker answers with a 2xx status.
func adminPut(t *testing.T, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, broker.http+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if broker.token != "" {
		req.Header.Set("Authorization", "Bearer "+broker.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: HTTP %d: %s", path, resp.StatusCode, answer)
	}
}

func newProducer(t *testing.T, c pulsar.Client, opts pulsar.ProducerOptions) pulsar.Producer {
	t.Helper()
	p, err := c.CreateProducer(opts)
	if err != nil {
		t.Fatalf("CreateProducer(%s): %v", opts.Topic, err)
	}
	t.Cleanup(p.Close)
	return p
}

// subscribe subscribes from the earliest message (every test makes its subscription before or
// right after its first message, and must not lose that one to a race).
func subscribe(t *testing.T, c pulsar.Client, opts pulsar.ConsumerOptions) pulsar.Consumer {
	t.Helper()
	opts.SubscriptionInitialPosition = pulsar.SubscriptionPositionEarliest
	cons, err := c.Subscribe(opts)
	if err != nil {
		t.Fatalf("Subscribe(%s, %s): %v", opts.Topic, opts.SubscriptionName, err)
	}
	t.Cleanup(cons.Close)
	return cons
}

func newReader(t *testing.T, c pulsar.Client, opts pulsar.ReaderOptions) pulsar.Reader {
	t.Helper()
	r, err := c.CreateReader(opts)
	if err != nil {
		t.Fatalf("CreateReader(%s): %v", opts.Topic, err)
	}
	t.Cleanup(r.Close)
	return r
}

func send(t *testing.T, p pulsar.Producer, msg *pulsar.ProducerMessage) pulsar.MessageID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := p.Send(ctx, msg)
	if err != nil {
		t.Fatalf("Send to %s: %v", p.Topic(), err)
	}
	return id
}

// sendBatch sends the payloads asynchronously and flushes, so that a batching producer puts
// them in as few batches as it can; it fails the test if any send fails.
func sendBatch(t *testing.T, p pulsar.Producer, msgs []*pulsar.ProducerMessage) []pulsar.MessageID {
	t.Helper()
	ids := make([]pulsar.MessageID, len(msgs))
	errs := make(chan error, len(msgs))
	for i, msg := range msgs {
		i := i
		p.SendAsync(context.Background(), msg, func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			ids[i] = id
			errs <- err
		})
	}
	if err := p.Flush(); err != nil {
		t.Fatalf("Flush %s: %v", p.Topic(), err)
	}
	for range msgs {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("SendAsync to %s: %v", p.Topic(), err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("SendAsync to %s: no receipt in 30 s", p.Topic())
		}
	}
	return ids
}

// receive waits up to timeout for the consumer's next message and fails the test without one.
func receive(t *testing.T, c pulsar.Consumer, timeout time.Duration) pulsar.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msg, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive on %s: %v", c.Subscription(), err)
	}
	return msg
}

// receiveAck receives n messages, acknowledges each, and returns their payloads in order.
func receiveAck(t *testing.T, c pulsar.Consumer, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		msg, err := c.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Receive on %s after %d of %d messages %v: %v", c.Subscription(), len(got), n, got, err)
		}
		if err := c.Ack(msg); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		got = append(got, string(msg.Payload()))
	}
	return got
}

func readNext(t *testing.T, r pulsar.Reader, timeout time.Duration) pulsar.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msg, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("Reader.Next on %s: %v", r.Topic(), err)
	}
	return msg
}

// expectNothing asserts that the consumer receives no message within d.
func expectNothing(t *testing.T, c pulsar.Consumer, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if msg, err := c.Receive(ctx); err == nil {
		t.Fatalf("unexpected message %q (id %s) within %v", msg.Payload(), idString(msg.ID()), d)
	}
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func producerMessages(values []string) []*pulsar.ProducerMessage {
	out := make([]*pulsar.ProducerMessage, len(values))
	for i, v := range values {
		out[i] = &pulsar.ProducerMessage{Payload: []byte(v)}
	}
	return out
}

// idString shows every part of a message id (MessageID.String leaves the batch index out).
func idString(id pulsar.MessageID) string {
	return fmt.Sprintf("%d:%d:%d/%d(partition %d)", id.LedgerID(), id.EntryID(), id.BatchIdx(), id.BatchSize(),
		id.PartitionIdx())
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// perKey rounds of one message for each of `keys` keys, payload "key-K/I": in order per key.
func keyedMessages(keys, perKey int) []*pulsar.ProducerMessage {
	var msgs []*pulsar.ProducerMessage
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			msgs = append(msgs, &pulsar.ProducerMessage{Key: fmt.Sprintf("key-%d", k),
				Payload: []byte(fmt.Sprintf("key-%d/%d", k, i))})
		}
	}
	return msgs
}
