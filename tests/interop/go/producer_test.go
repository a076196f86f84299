package interop

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// isTimeout tells the errors of a request that got no answer from the others.
func isTimeout(err error) bool {
	var perr *pulsar.Error
	if errors.As(err, &perr) && perr.Result() == pulsar.TimeoutError {
		return true
	}
	s := strings.ToLower(err.Error())
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(s, "timeout") ||
		strings.Contains(s, "timed out")
}

// Two producers with ProducerAccessModeExclusive: the second is refused at once, with the
// broker's answer (Pulsar: ProducerFenced, "Topic has an existing exclusive producer"); so is a
// shared producer (ProducerBusy). Once the first is gone, an exclusive producer gets the topic. (The Go client
// has no ExclusiveWithFencing mode; Shared, Exclusive and WaitForExclusive are all it offers.)
func TestProducerAccessModeExclusive(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	first, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, Name: "first",
		ProducerAccessMode: pulsar.ProducerAccessModeExclusive})
	if err != nil {
		t.Fatalf("first exclusive producer: %v", err)
	}
	closeFirst := sync.OnceFunc(first.Close)
	defer closeFirst()
	for _, mode := range []struct {
		name string
		mode pulsar.ProducerAccessMode
		code string // the broker's error code, as the client's error shows it
	}{
		{"Exclusive", pulsar.ProducerAccessModeExclusive, "ProducerFenced"},
		{"Shared", pulsar.ProducerAccessModeShared, "ProducerBusy"},
	} {
		second, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: mode.mode,
			MaxReconnectToBroker: new(uint)})
		switch {
		case err == nil:
			second.Close()
			t.Errorf("a producer with access mode %s was created next to an exclusive producer", mode.name)
		case isTimeout(err):
			t.Errorf("producer with access mode %s next to an exclusive one: timed out instead of being refused: %v",
				mode.name, err)
		case !strings.Contains(err.Error(), mode.code):
			t.Errorf("producer with access mode %s next to an exclusive one: refused without %s: %v",
				mode.name, mode.code, err)
		default:
			t.Logf("producer with access mode %s refused: %v", mode.name, err)
		}
	}
	if t.Failed() {
		return
	}
	send(t, first, &pulsar.ProducerMessage{Payload: []byte("from the exclusive producer")})
	closeFirst()
	again := newProducer(t, client, pulsar.ProducerOptions{Topic: topic,
		ProducerAccessMode: pulsar.ProducerAccessModeExclusive})
	send(t, again, &pulsar.ProducerMessage{Payload: []byte("from the next exclusive producer")})
}

// ProducerAccessModeWaitForExclusive: the producer is created only once the exclusive producer
// holding the topic has gone.
func TestProducerAccessModeWaitForExclusive(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	first, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, Name: "first",
		ProducerAccessMode: pulsar.ProducerAccessModeExclusive})
	if err != nil {
		t.Fatalf("exclusive producer: %v", err)
	}
	type created struct {
		p   pulsar.Producer
		err error
	}
	waiting := make(chan created, 1)
	go func() {
		p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, Name: "waiting",
			ProducerAccessMode: pulsar.ProducerAccessModeWaitForExclusive})
		waiting <- created{p, err}
	}()
	select {
	case c := <-waiting:
		if c.p != nil {
			c.p.Close()
		}
		first.Close()
		t.Fatalf("WaitForExclusive returned while an exclusive producer held the topic: %v", c.err)
	case <-time.After(3 * time.Second):
	}
	send(t, first, &pulsar.ProducerMessage{Payload: []byte("first")})
	first.Close()
	var c created
	select {
	case c = <-waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("WaitForExclusive still waiting 30 s after the exclusive producer closed")
	}
	if c.err != nil {
		t.Fatalf("WaitForExclusive: %v", c.err)
	}
	defer c.p.Close()
	send(t, c.p, &pulsar.ProducerMessage{Payload: []byte("second")})
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
	if got := receiveAck(t, cons, 2); !equalStrings(got, []string{"first", "second"}) {
		t.Fatalf("received %v, want [first second]", got)
	}
}

type schemaRecord struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

const schemaRecordDef = `{"type":"record","name":"SchemaRecord","namespace":"shfn.interop",` +
	`"fields":[{"name":"name","type":"string"},{"name":"count","type":"int"}]}`

// A producer and a consumer with a JSON schema, on a client whose operation timeout is 60 s:
// they work end to end on both brokers, and a failure says so at once, not at the timeout.
func TestJSONSchemaProducerAndConsumer(t *testing.T) {
	t.Parallel()
	opts := clientOptions()
	opts.OperationTimeout = 60 * time.Second
	c, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := topicName(t)
	start := time.Now()
	failed := func(step string, err error) {
		t.Helper()
		took := time.Since(start).Round(time.Millisecond)
		if isTimeout(err) {
			t.Fatalf("%s: timed out, %v after the start: %v", step, took, err)
		}
		t.Fatalf("%s refused, %v after the start: %v", step, took, err)
	}
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic,
		Schema: pulsar.NewJSONSchema(schemaRecordDef, nil), MaxReconnectToBroker: new(uint)})
	if err != nil {
		failed("JSON schema producer", err)
		return
	}
	defer p.Close()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
		Schema:                      pulsar.NewJSONSchema(schemaRecordDef, nil), MaxReconnectToBroker: new(uint)})
	if err != nil {
		failed("JSON schema consumer", err)
		return
	}
	defer cons.Close()
	want := schemaRecord{Name: "grüße", Count: 42}
	// Longer than the operation timeout, so that the client's own error comes out.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := p.Send(ctx, &pulsar.ProducerMessage{Value: &want}); err != nil {
		failed("Send with the JSON schema", err)
		return
	}
	msg := receive(t, cons, 20*time.Second)
	var got schemaRecord
	if err := msg.GetSchemaValue(&got); err != nil {
		t.Fatalf("GetSchemaValue(%q): %v", msg.Payload(), err)
	}
	if got != want {
		t.Fatalf("received %+v, want %+v", got, want)
	}
	if len(msg.SchemaVersion()) == 0 {
		t.Errorf("message without schema version")
	}
}
