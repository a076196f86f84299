package interop

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// collect receives (and acknowledges) from all the consumers until n messages have arrived in
// total, and returns what each consumer got, in its order of arrival.
func collect(t *testing.T, consumers []pulsar.Consumer, n int, timeout time.Duration) [][]pulsar.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var mu sync.Mutex
	got := make([][]pulsar.Message, len(consumers))
	total := 0
	var wg sync.WaitGroup
	for i, c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msg, err := c.Receive(ctx)
				if err != nil {
					return
				}
				_ = c.Ack(msg)
				mu.Lock()
				got[i] = append(got[i], msg)
				total++
				if total >= n {
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if total < n {
		t.Fatalf("received %d of %d messages in %v (per consumer: %v)", total, n, timeout, counts(got))
	}
	return got
}

func counts(got [][]pulsar.Message) []int {
	out := make([]int, len(got))
	for i, msgs := range got {
		out[i] = len(msgs)
	}
	return out
}

func TestSubscriptionExclusive(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	c1 := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", Type: pulsar.Exclusive})
	// A second consumer on an exclusive subscription is refused (ConsumerBusy in Pulsar).
	if c2, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub",
		Type: pulsar.Exclusive}); err == nil {
		c2.Close()
		t.Fatal("a second consumer joined the exclusive subscription")
	} else {
		t.Logf("second exclusive consumer refused: %v", err)
	}
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	want := payloads("exclusive", 20)
	for _, v := range want {
		send(t, p, &pulsar.ProducerMessage{Payload: []byte(v)})
	}
	if got := receiveAck(t, c1, len(want)); !equalStrings(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

func TestSubscriptionShared(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", Type: pulsar.Shared, ReceiverQueueSize: 4}
	c1 := subscribe(t, client, opts)
	c2 := subscribe(t, client, opts)
	// Unbatched, so that the broker dispatches message by message; with receiver queues of 4,
	// neither consumer can take all 40.
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	want := payloads("shared", 40)
	sendBatch(t, p, producerMessages(want))
	got := collect(t, []pulsar.Consumer{c1, c2}, len(want), 30*time.Second)
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Errorf("one consumer got everything: %v", counts(got))
	}
	// Every message exactly once across the two consumers.
	var all []string
	for _, msgs := range got {
		for _, m := range msgs {
			all = append(all, string(m.Payload()))
		}
	}
	sort.Strings(all)
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	if !equalStrings(all, sorted) {
		t.Fatalf("the two shared consumers received %v, want each of %v once", all, sorted)
	}
	t.Logf("per consumer: %v", counts(got))
}

func TestSubscriptionFailover(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", Type: pulsar.Failover}
	c1, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub",
		Type: pulsar.Failover, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	closeC1 := sync.OnceFunc(c1.Close)
	defer closeC1()
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	first := payloads("failover-a", 10)
	for _, v := range first {
		send(t, p, &pulsar.ProducerMessage{Payload: []byte(v)})
	}
	if got := receiveAck(t, c1, len(first)); !equalStrings(got, first) {
		t.Fatalf("active consumer received %v, want %v", got, first)
	}
	// A second consumer joins the same failover subscription; when the first leaves, it takes
	// over and gets the rest, in order.
	c2 := subscribe(t, client, opts)
	closeC1()
	second := payloads("failover-b", 10)
	for _, v := range second {
		send(t, p, &pulsar.ProducerMessage{Payload: []byte(v)})
	}
	if got := receiveAck(t, c2, len(second)); !equalStrings(got, second) {
		t.Fatalf("standby consumer received %v after the failover, want %v", got, second)
	}
}

func TestSubscriptionKeyShared(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", Type: pulsar.KeyShared}
	c1 := subscribe(t, client, opts)
	c2 := subscribe(t, client, opts)
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	const keys, perKey = 8, 5
	msgs := keyedMessages(keys, perKey)
	sendBatch(t, p, msgs)
	got := collect(t, []pulsar.Consumer{c1, c2}, len(msgs), 30*time.Second)
	// Each key goes to one consumer only, and its messages arrive in order.
	owner := map[string]int{}
	next := map[string]int{}
	for ci, received := range got {
		for _, m := range received {
			key := m.Key()
			if o, ok := owner[key]; ok && o != ci {
				t.Fatalf("key %s was delivered to both consumers", key)
			}
			owner[key] = ci
			want := fmt.Sprintf("%s/%d", key, next[key])
			if string(m.Payload()) != want {
				t.Fatalf("consumer %d got %q for key %s, want %q", ci, m.Payload(), key, want)
			}
			next[key]++
		}
	}
	for k := 0; k < keys; k++ {
		if n := next[fmt.Sprintf("key-%d", k)]; n != perKey {
			t.Fatalf("key-%d: %d messages, want %d", k, n, perKey)
		}
	}
	t.Logf("per consumer: %v, key owners: %v", counts(got), owner)
}

// Batching with each compression codec of the client: NONE, LZ4, ZLIB, ZSTD, and SNAPPY, which
// the Go client does have (pulsar.SNAPPY, internal/compression/snappy.go in v0.19.0).
func TestBatchingCompression(t *testing.T) {
	t.Parallel()
	codecs := []struct {
		name  string
		codec pulsar.CompressionType
	}{
		{"NONE", pulsar.NoCompression}, {"LZ4", pulsar.LZ4}, {"ZLIB", pulsar.ZLib},
		{"ZSTD", pulsar.ZSTD}, {"SNAPPY", pulsar.SNAPPY},
	}
	for _, tc := range codecs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			topic := topicName(t)
			cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
			p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, CompressionType: tc.codec,
				BatchingMaxMessages: 1000, BatchingMaxPublishDelay: time.Second})
			var want []string
			for i := 0; i < 50; i++ {
				// Compressible, and different for each message.
				want = append(want, fmt.Sprintf("%s-%03d:%s", tc.name, i, strings.Repeat("pulsar ", 20+i)))
			}
			sendBatch(t, p, producerMessages(want))
			batched := false
			for i, w := range want {
				msg := receive(t, cons, 20*time.Second)
				if !bytes.Equal(msg.Payload(), []byte(w)) {
					t.Fatalf("message %d: got %q, want %q", i, msg.Payload(), w)
				}
				if msg.ID().BatchIdx() > 0 {
					batched = true
				}
				if err := cons.Ack(msg); err != nil {
					t.Fatal(err)
				}
			}
			if !batched {
				t.Fatal("no message came out of a batch (every batch index <= 0)")
			}
		})
	}
}

func TestKeysAndProperties(t *testing.T) {
	t.Parallel()
	for _, batching := range []bool{true, false} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			t.Parallel()
			topic := topicName(t)
			cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
			p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, DisableBatching: !batching})
			eventTime := time.UnixMilli(1700000000123)
			msgs := []*pulsar.ProducerMessage{
				{Payload: []byte("with key"), Key: "the-key", OrderingKey: "the-ordering-key",
					Properties: map[string]string{"a": "1", "unicode": "grüße ✓", "empty": ""},
					EventTime:  eventTime},
				{Payload: []byte("no key, no properties")},
				// The Go client (v0.19.0, MessageReader.ReadMessage) drops a non-batched message
				// with an empty payload and no properties as corrupt: this one has a property.
				{Payload: []byte{}, Key: "empty-payload", Properties: map[string]string{"empty": "yes"}},
			}
			sendBatch(t, p, msgs)
			for i, want := range msgs {
				msg := receive(t, cons, 20*time.Second)
				if !bytes.Equal(msg.Payload(), want.Payload) {
					t.Fatalf("message %d: payload %q, want %q", i, msg.Payload(), want.Payload)
				}
				if msg.Key() != want.Key {
					t.Errorf("message %d: key %q, want %q", i, msg.Key(), want.Key)
				}
				if msg.OrderingKey() != want.OrderingKey {
					t.Errorf("message %d: ordering key %q, want %q", i, msg.OrderingKey(), want.OrderingKey)
				}
				if len(msg.Properties()) != len(want.Properties) {
					t.Errorf("message %d: properties %v, want %v", i, msg.Properties(), want.Properties)
				}
				for k, v := range want.Properties {
					if got, ok := msg.Properties()[k]; !ok || got != v {
						t.Errorf("message %d: property %q = %q (present %v), want %q", i, k, got, ok, v)
					}
				}
				if !want.EventTime.IsZero() && !msg.EventTime().Equal(want.EventTime) {
					t.Errorf("message %d: event time %v, want %v", i, msg.EventTime(), want.EventTime)
				}
				if msg.ProducerName() != p.Name() {
					t.Errorf("message %d: producer name %q, want %q", i, msg.ProducerName(), p.Name())
				}
				_ = cons.Ack(msg)
			}
		})
	}
}
