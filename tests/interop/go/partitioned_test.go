package interop

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestPartitionedTopic(t *testing.T) {
	t.Parallel()
	const partitions = 3
	name := shortName(t)
	topic := "persistent://public/default/" + name
	adminPut(t, "/admin/v2/persistent/public/default/"+name+"/partitions", strconv.Itoa(partitions))

	parts, err := client.TopicPartitions(topic)
	if err != nil {
		t.Fatalf("TopicPartitions: %v", err)
	}
	if len(parts) != partitions {
		t.Fatalf("the client sees partitions %v, want %d", parts, partitions)
	}
	cons := subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "sub"})
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic})

	const keys, perKey = 10, 4
	msgs := keyedMessages(keys, perKey)
	sendBatch(t, p, msgs)

	keyPartition := map[string]int{}
	next := map[string]int{}
	used := map[int]bool{}
	for range msgs {
		msg := receive(t, cons, 20*time.Second)
		if err := cons.Ack(msg); err != nil {
			t.Fatal(err)
		}
		// The partition the message came from, by its topic name, is its id's partition index.
		i := strings.LastIndex(msg.Topic(), "-partition-")
		if i < 0 {
			t.Fatalf("message %q from %q, not from a partition", msg.Payload(), msg.Topic())
		}
		partition, err := strconv.Atoi(msg.Topic()[i+len("-partition-"):])
		if err != nil || partition < 0 || partition >= partitions {
			t.Fatalf("message %q from %q: not one of the %d partitions", msg.Payload(), msg.Topic(), partitions)
		}
		if idx := msg.ID().PartitionIdx(); int(idx) != partition {
			t.Fatalf("message %q from %s has message id %s with partition index %d, want %d",
				msg.Payload(), msg.Topic(), idString(msg.ID()), idx, partition)
		}
		used[partition] = true
		// Messages with one key go to one partition, in order.
		key := msg.Key()
		if kp, ok := keyPartition[key]; ok && kp != partition {
			t.Fatalf("key %s in partitions %d and %d", key, kp, partition)
		}
		keyPartition[key] = partition
		if want := fmt.Sprintf("%s/%d", key, next[key]); string(msg.Payload()) != want {
			t.Fatalf("got %q for key %s, want %q", msg.Payload(), key, want)
		}
		next[key]++
	}
	if len(used) < 2 {
		t.Fatalf("%d keys all went to partitions %v", keys, used)
	}
	t.Logf("key → partition: %v", keyPartition)
}
