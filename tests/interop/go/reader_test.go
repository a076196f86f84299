package interop

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestReaderEarliest(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	want := payloads("earliest", 5)
	sendBatch(t, p, producerMessages(want))
	r := newReader(t, client, pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	for i, w := range want {
		if got := string(readNext(t, r, 20*time.Second).Payload()); got != w {
			t.Fatalf("message %d: %q, want %q", i, got, w)
		}
	}
	if r.HasNext() {
		t.Fatal("HasNext is true after reading every message")
	}
}

func TestReaderLatest(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	sendBatch(t, p, producerMessages(payloads("old", 3)))
	r := newReader(t, client, pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.LatestMessageID()})
	if r.HasNext() {
		t.Fatal("a reader at latest has a next message before anything new was produced")
	}
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("new")})
	if got := string(readNext(t, r, 20*time.Second).Payload()); got != "new" {
		t.Fatalf("reader at latest read %q, want \"new\"", got)
	}
}

// A reader at the latest message, inclusive, on a topic whose last entry is a batch, starts at
// the last message of that batch (not at its first, not after it).
func TestReaderLatestInclusiveBatched(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic,
		BatchingMaxMessages: 100, BatchingMaxPublishDelay: time.Second})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("before")})
	want := payloads("batched", 10)
	ids := sendBatch(t, p, producerMessages(want))
	last := ids[len(ids)-1]
	if last.BatchIdx() <= 0 {
		t.Fatalf("the last message is not inside a batch: %s", idString(last))
	}
	r := newReader(t, client, pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.LatestMessageID(),
		StartMessageIDInclusive: true})
	// No HasNext first: the Go client (v0.19.0) makes this reader with a seek, which the broker
	// answers by closing the consumer; a HasNext then can hold the client's event loop in
	// GetLastMessageID retries ("Consumer not found") for the whole operation timeout, before
	// the consumer reconnects, and return false, Pulsar standalone included.
	msg := readNext(t, r, 20*time.Second)
	if string(msg.Payload()) != want[len(want)-1] {
		t.Fatalf("inclusive reader at latest read %q (id %s), want the last message %q (id %s)",
			msg.Payload(), idString(msg.ID()), want[len(want)-1], idString(last))
	}
	if r.HasNext() {
		next := readNext(t, r, 5*time.Second)
		t.Fatalf("a second message after the last one: %q (id %s)", next.Payload(), idString(next.ID()))
	}
}
