package interop

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// A 10 MiB message, larger than the broker's maximum message size (5 MiB by default), goes
// through in chunks and comes out whole.
func TestChunking(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, EnableChunking: true, DisableBatching: true})
	big := make([]byte, 10<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	send(t, p, &pulsar.ProducerMessage{Payload: big, Key: "big", Properties: map[string]string{"size": "10MiB"}})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("after")})

	msg := receive(t, cons, 60*time.Second)
	if !bytes.Equal(msg.Payload(), big) {
		shown := ""
		if len(msg.Payload()) <= 32 {
			shown = fmt.Sprintf(" %q", msg.Payload())
		}
		t.Fatalf("received %d bytes%s (sha256 %x, id %s), want %d bytes (sha256 %x)", len(msg.Payload()), shown,
			sha256.Sum256(msg.Payload()), idString(msg.ID()), len(big), sha256.Sum256(big))
	}
	if msg.Key() != "big" || msg.Properties()["size"] != "10MiB" {
		t.Errorf("chunked message: key %q properties %v", msg.Key(), msg.Properties())
	}
	if err := cons.Ack(msg); err != nil {
		t.Fatal(err)
	}
	if next := receive(t, cons, 20*time.Second); string(next.Payload()) != "after" {
		t.Fatalf("after the chunked message: %q (%d bytes), want \"after\"",
			next.Payload()[:min(32, len(next.Payload()))], len(next.Payload()))
	}
}

// DeliverAfter on a Shared subscription holds the message back for the delay.
func TestDelayedDeliveryShared(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", Type: pulsar.Shared})
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	const delay = 3 * time.Second
	sentAt := time.Now()
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("delayed"), DeliverAfter: delay})
	expectNothing(t, cons, time.Second)
	msg := receive(t, cons, 30*time.Second)
	receivedAt := time.Now()
	if string(msg.Payload()) != "delayed" {
		t.Fatalf("received %q, want \"delayed\"", msg.Payload())
	}
	// The broker and this test share a clock; allow for the millisecond truncation.
	if early := sentAt.Add(delay).Sub(receivedAt); early > 10*time.Millisecond {
		t.Fatalf("delivered %v after sending, %v before the %v delay was over", receivedAt.Sub(sentAt), early, delay)
	}
	if err := cons.Ack(msg); err != nil {
		t.Fatal(err)
	}
}

// On an Exclusive subscription Pulsar ignores the delay (delayed delivery is for Shared and
// KeyShared subscriptions): the message comes at once.
func TestDelayedDeliveryExclusiveIgnored(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub", Type: pulsar.Exclusive})
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	const delay = 60 * time.Second
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("not delayed"), DeliverAfter: delay})
	// Well before the delay is over.
	msg := receive(t, cons, 20*time.Second)
	if string(msg.Payload()) != "not delayed" {
		t.Fatalf("received %q, want \"not delayed\"", msg.Payload())
	}
}
