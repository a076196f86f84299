package interop

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/prometheus/client_golang/prometheus"
)

// recordingHandler keeps the client's log records (INFO and up) and passes WARN and up to stderr.
type recordingHandler struct {
	mu      *sync.Mutex
	records *[]string
	attrs   []slog.Attr
	stderr  slog.Handler
}

func (h recordingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h recordingHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	h.mu.Lock()
	*h.records = append(*h.records, b.String())
	h.mu.Unlock()
	if r.Level >= slog.LevelWarn {
		return h.stderr.Handle(ctx, r)
	}
	return nil
}

func (h recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	h.stderr = h.stderr.WithAttrs(attrs)
	return h
}

func (h recordingHandler) WithGroup(name string) slog.Handler {
	h.stderr = h.stderr.WithGroup(name)
	return h
}

// counters sums the client's Prometheus counters by name.
func counters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if c := m.GetCounter(); c != nil {
				out[f.GetName()] += c.GetValue()
			}
		}
	}
	return out
}

// A consumer left idle for more than 60 s (two of the client's 30 s keep-alive intervals, after
// which it drops a connection that has not answered its pings) keeps its connection: a message
// produced after 65 s reaches it, and the client opened no other connection, closed none,
// looked nothing up again and logged no reconnection.
func TestConsumerStaysConnected(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	var records []string
	opts := clientOptions()
	opts.MetricsRegisterer = reg
	opts.Logger = pulsarlog.NewLoggerWithSlog(slog.New(recordingHandler{mu: &mu, records: &records,
		stderr: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})}))
	c, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := topicName(t)
	cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
	before := counters(t, reg)
	mu.Lock()
	logged := len(records)
	mu.Unlock()
	if before["pulsar_client_connections_opened"] < 1 {
		t.Fatalf("no connection counted after subscribing: %v", before)
	}

	time.Sleep(65 * time.Second) // the idle time is the behaviour under test

	// Produced by the shared client, so that this client's connection count is only the consumer's.
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("after 65 s")})
	msg := receive(t, cons, 20*time.Second)
	if string(msg.Payload()) != "after 65 s" {
		t.Fatalf("received %q", msg.Payload())
	}
	if err := cons.Ack(msg); err != nil {
		t.Fatal(err)
	}

	after := counters(t, reg)
	mu.Lock()
	since := append([]string(nil), records[logged:]...)
	mu.Unlock()
	for _, name := range []string{"pulsar_client_connections_opened", "pulsar_client_connections_closed",
		"pulsar_client_connections_establishment_errors", "pulsar_client_connections_handshake_errors",
		"pulsar_client_lookup_count", "pulsar_client_consumers_reconnect_failure"} {
		if after[name] != before[name] {
			t.Errorf("%s went from %v to %v while the consumer was idle", name, before[name], after[name])
		}
	}
	for _, r := range since {
		l := strings.ToLower(r)
		if strings.Contains(l, "reconnect") || strings.Contains(l, "closed") || strings.Contains(l, "stale") {
			t.Errorf("client log while idle: %s", r)
		}
	}
	t.Logf("connections opened %v, closed %v; %d client log records while idle",
		after["pulsar_client_connections_opened"], after["pulsar_client_connections_closed"], len(since))
}
