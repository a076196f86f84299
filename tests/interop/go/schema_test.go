package interop

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// Three versions of one record. v2 adds a field with a default, which FULL compatibility (the
// default strategy of Pulsar standalone and of the embedded broker) accepts: each version reads
// the other's data. v3 adds a required field, which a v3 reader cannot fill from v1 data, so FULL
// refuses it.
const (
	userV1Def = `{"type":"record","name":"User","namespace":"shfn.interop",` +
		`"fields":[{"name":"id","type":"int"}]}`
	userV2Def = `{"type":"record","name":"User","namespace":"shfn.interop",` +
		`"fields":[{"name":"id","type":"int"},{"name":"email","type":["null","string"],"default":null}]}`
	userV3Def = `{"type":"record","name":"User","namespace":"shfn.interop",` +
		`"fields":[{"name":"id","type":"int"},{"name":"name","type":"string"}]}`
)

type userV1 struct {
	ID int32 `avro:"id" json:"id"`
}

type userV2 struct {
	ID    int32   `avro:"id" json:"id"`
	Email *string `avro:"email" json:"email"`
}

// schemaKinds are the two record schemas the evolution tests run with: the rules are the same,
// only the encoding differs.
var schemaKinds = []struct {
	name string
	new  func(def string) pulsar.Schema
}{
	{"Avro", func(def string) pulsar.Schema { return pulsar.NewAvroSchema(def, nil) }},
	{"JSON", func(def string) pulsar.Schema { return pulsar.NewJSONSchema(def, nil) }},
}

// expectIncompatible asserts that a producer with the schema is refused at once as incompatible
// with the topic's schema (Pulsar answers the PRODUCER command with IncompatibleSchema). The
// producer makes no reconnection attempt: the refusal must be the broker's answer, not a timeout.
func expectIncompatible(t *testing.T, topic string, schema pulsar.Schema, what string) {
	t.Helper()
	p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, Schema: schema,
		MaxReconnectToBroker: new(uint)})
	switch {
	case err == nil:
		p.Close()
		t.Errorf("a producer with %s was created on %s", what, topic)
	case isTimeout(err):
		t.Errorf("producer with %s: timed out instead of being refused: %v", what, err)
	case !strings.Contains(err.Error(), "IncompatibleSchema"):
		t.Errorf("producer with %s: refused without IncompatibleSchema: %v", what, err)
	default:
		// Pulsar's answer goes on with both schemas, over many lines; its first line says enough.
		t.Logf("producer with %s refused: %s", what, strings.SplitN(err.Error(), "\n", 2)[0])
	}
}

// A v1 producer and then a v2 producer (a compatible evolution) each send one record; a v2
// consumer from the earliest position gets both, each tagged with the version it was written
// with, and decodes both (GetSchemaValue fetches the writer's schema by that version).
func TestSchemaEvolutionCompatible(t *testing.T) {
	for _, kind := range schemaKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			topic := topicName(t)
			p1 := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, Schema: kind.new(userV1Def)})
			send(t, p1, &pulsar.ProducerMessage{Value: &userV1{ID: 1}})
			p2 := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, Schema: kind.new(userV2Def)})
			email := "x"
			send(t, p2, &pulsar.ProducerMessage{Value: &userV2{ID: 2, Email: &email}})

			cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub",
				Schema: kind.new(userV2Def)})
			var versions [][]byte
			for i, want := range []userV2{{ID: 1}, {ID: 2, Email: &email}} {
				msg := receive(t, cons, 20*time.Second)
				var got userV2
				if err := msg.GetSchemaValue(&got); err != nil {
					t.Fatalf("message %d: GetSchemaValue(%q): %v", i, msg.Payload(), err)
				}
				if got.ID != want.ID || (got.Email == nil) != (want.Email == nil) ||
					(got.Email != nil && *got.Email != *want.Email) {
					t.Errorf("message %d: decoded %s, want %s", i, userString(got), userString(want))
				}
				if len(msg.SchemaVersion()) == 0 {
					t.Errorf("message %d (%q) has no schema version", i, msg.Payload())
				}
				versions = append(versions, msg.SchemaVersion())
				if err := cons.Ack(msg); err != nil {
					t.Fatalf("Ack: %v", err)
				}
			}
			if bytes.Equal(versions[0], versions[1]) {
				t.Errorf("v1 and v2 records carry the same schema version %x", versions[0])
			}
		})
	}
}

func userString(u userV2) string {
	if u.Email == nil {
		return fmt.Sprintf("{id %d, email null}", u.ID)
	}
	return fmt.Sprintf("{id %d, email %q}", u.ID, *u.Email)
}

// After v1, a v3 producer (a required field without default) is refused under FULL; the topic
// keeps working with v1.
func TestSchemaEvolutionIncompatible(t *testing.T) {
	for _, kind := range schemaKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			topic := topicName(t)
			p1 := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, Schema: kind.new(userV1Def)})
			expectIncompatible(t, topic, kind.new(userV3Def), kind.name+" v3 (a required field added)")
			send(t, p1, &pulsar.ProducerMessage{Value: &userV1{ID: 1}})
		})
	}
}

// A topic's schema type does not change: a STRING producer on an AVRO topic is refused.
func TestSchemaTypeChangeRefused(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	newProducer(t, client, pulsar.ProducerOptions{Topic: topic, Schema: pulsar.NewAvroSchema(userV1Def, nil)})
	expectIncompatible(t, topic, pulsar.NewStringSchema(nil), "a String schema on an Avro topic")
}
