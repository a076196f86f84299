package interop

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestNegativeAck(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub",
		Type: pulsar.Shared, NackRedeliveryDelay: 200 * time.Millisecond})
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("nacked")})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("acked")})

	first := receive(t, cons, 20*time.Second)
	if string(first.Payload()) != "nacked" || first.RedeliveryCount() != 0 {
		t.Fatalf("first delivery: %q with redelivery count %d", first.Payload(), first.RedeliveryCount())
	}
	cons.Nack(first)
	second := receive(t, cons, 20*time.Second)
	if string(second.Payload()) != "acked" {
		t.Fatalf("second delivery: %q, want \"acked\"", second.Payload())
	}
	if err := cons.Ack(second); err != nil {
		t.Fatal(err)
	}
	// The negatively acknowledged message comes back, counted as a redelivery.
	again := receive(t, cons, 20*time.Second)
	if string(again.Payload()) != "nacked" {
		t.Fatalf("redelivery: %q, want \"nacked\"", again.Payload())
	}
	if again.RedeliveryCount() != 1 {
		t.Errorf("redelivered message has redelivery count %d, want 1", again.RedeliveryCount())
	}
	if err := cons.Ack(again); err != nil {
		t.Fatal(err)
	}
}

func TestDeadLetterPolicy(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	dlqTopic := topic + "-DLQ"
	const maxDeliveries = 3
	dlq := subscribe(t, client, pulsar.ConsumerOptions{Topic: dlqTopic, SubscriptionName: "dlq-reader"})
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub",
		Type: pulsar.Shared, NackRedeliveryDelay: 200 * time.Millisecond,
		DLQ: &pulsar.DLQPolicy{MaxDeliveries: maxDeliveries, DeadLetterTopic: dlqTopic}})
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	send(t, p, &pulsar.ProducerMessage{Payload: []byte("poison"), Key: "k",
		Properties: map[string]string{"origin": "go-interop"}})

	// The application sees the message MaxDeliveries times and rejects it each time ...
	for i := 0; i < maxDeliveries; i++ {
		msg := receive(t, cons, 20*time.Second)
		if string(msg.Payload()) != "poison" || msg.RedeliveryCount() != uint32(i) {
			t.Fatalf("delivery %d: %q with redelivery count %d", i, msg.Payload(), msg.RedeliveryCount())
		}
		cons.Nack(msg)
	}
	// ... then it goes to the dead-letter topic, with its key and properties.
	dead := receive(t, dlq, 30*time.Second)
	if string(dead.Payload()) != "poison" || dead.Key() != "k" || dead.Properties()["origin"] != "go-interop" {
		t.Fatalf("dead letter: payload %q key %q properties %v", dead.Payload(), dead.Key(), dead.Properties())
	}
	if err := dlq.Ack(dead); err != nil {
		t.Fatal(err)
	}
	t.Logf("dead letter properties: %v", dead.Properties())
	// And the subscription does not deliver it again.
	expectNothing(t, cons, 2*time.Second)
}
