package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// Topic compaction as the Go client sees it: after a compaction through the admin API, a reader
// that reads compacted gets each key's latest value, then what came after the compaction. The
// same tests in Python (tests/interop/test_compaction.py) and Java (CompactionTest.java).

// compactionEnd is the key of the message each test publishes last, so that a read knows where
// to stop. Its value is never empty: a later compaction would take an empty one for a tombstone.
const compactionEnd = "end"

// compactionWait bounds every wait of these tests: a compaction, a message.
const compactionWait = 20 * time.Second

// adminCall sends {method} {http}{path} with the token and returns the status and the body.
func adminCall(t *testing.T, method, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, broker.http+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if broker.token != "" {
		req.Header.Set("Authorization", "Bearer "+broker.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, body
}

// adminGetJSON GETs path, which must answer 200, into out.
func adminGetJSON(t *testing.T, path string, out any) {
	t.Helper()
	status, body := adminCall(t, http.MethodGet, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", path, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// topicAdminPath is the admin API's path of a persistent://tenant/ns/topic.
func topicAdminPath(topic string) string {
	return "/admin/v2/" + strings.Replace(topic, "://", "/", 1)
}

type compactionStatus struct {
	Status    string `json:"status"`
	LastError string `json:"lastError"`
}

func getCompactionStatus(t *testing.T, topic string) compactionStatus {
	t.Helper()
	var s compactionStatus
	adminGetJSON(t, topicAdminPath(topic)+"/compaction", &s)
	return s
}

// compact starts a compaction of the topic through the admin API (204) and polls its status
// until it succeeds; it fails the test if the compaction fails or is not done in time.
func compact(t *testing.T, topic string) {
	t.Helper()
	path := topicAdminPath(topic) + "/compaction"
	if status, body := adminCall(t, http.MethodPut, path); status != http.StatusNoContent {
		t.Fatalf("PUT %s: HTTP %d, want 204: %s", path, status, body)
	}
	deadline := time.Now().Add(compactionWait)
	for {
		s := getCompactionStatus(t, topic)
		switch {
		case s.Status == "SUCCESS":
			if s.LastError != "" {
				t.Fatalf("compaction of %s: %+v, want no lastError", topic, s)
			}
			return
		case s.Status == "ERROR":
			t.Fatalf("compaction of %s failed: %+v", topic, s)
		case time.Now().After(deadline):
			t.Fatalf("compaction of %s not done within %v: %+v", topic, compactionWait, s)
		}
		time.Sleep(20 * time.Millisecond) // a polling interval, bounded by the deadline above
	}
}

// hasSubscription tells whether the topic's stats list the subscription.
func hasSubscription(t *testing.T, topic, sub string) bool {
	t.Helper()
	var stats struct {
		Subscriptions map[string]json.RawMessage `json:"subscriptions"`
	}
	adminGetJSON(t, topicAdminPath(topic)+"/stats", &stats)
	_, ok := stats.Subscriptions[sub]
	return ok
}

// shown is what a user sees of a message: "key=value", or "value" for a message without a key.
func shown(m pulsar.Message) string {
	if m.Key() == "" {
		return string(m.Payload())
	}
	return m.Key() + "=" + string(m.Payload())
}

// position is where a message is in the topic: ledger:entry:index, the index 0 outside a batch
// (a send receipt says -1 there, a received message 0).
func position(id pulsar.MessageID) string {
	return fmt.Sprintf("%d:%d:%d", id.LedgerID(), id.EntryID(), max(id.BatchIdx(), 0))
}

// readUntilEnd reads from r until the message whose key is compactionEnd, and returns what it
// read; it fails the test if a message does not come within compactionWait.
func readUntilEnd(t *testing.T, r pulsar.Reader, who string) []pulsar.Message {
	t.Helper()
	var got []pulsar.Message
	for len(got) == 0 || got[len(got)-1].Key() != compactionEnd {
		ctx, cancel := context.WithTimeout(context.Background(), compactionWait)
		m, err := r.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s got %v, then: %v", who, shownAll(got), err)
		}
		got = append(got, m)
	}
	return got
}

// readCompacted reads the topic with a compacted reader from the earliest message up to the end
// message.
func readCompacted(t *testing.T, topic string) []pulsar.Message {
	t.Helper()
	r, err := client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID(),
		ReadCompacted: true})
	if err != nil {
		t.Fatalf("CreateReader(%s, ReadCompacted): %v", topic, err)
	}
	defer r.Close()
	return readUntilEnd(t, r, "the compacted reader")
}

func shownAll(msgs []pulsar.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = shown(m)
	}
	return out
}

func positions(msgs []pulsar.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = position(m.ID())
	}
	return out
}

// keyed is a message with the key (none if empty) and the value.
func keyed(key, value string) *pulsar.ProducerMessage {
	return &pulsar.ProducerMessage{Key: key, Payload: []byte(value)}
}

// compactedEntries is the number of entries in the topic's compacted view, as `pulsar-admin
// topics stats-internal` shows it (compactedLedger.entries).
func compactedEntries(t *testing.T, topic string) int {
	t.Helper()
	var stats struct {
		CompactedLedger struct {
			Entries int `json:"entries"`
		} `json:"compactedLedger"`
	}
	adminGetJSON(t, topicAdminPath(topic)+"/internalStats", &stats)
	return stats.CompactedLedger.Entries
}

// The Go client sets uncompressed_size on every message it sends, 0 for an empty payload; Pulsar
// counts that size, so an empty message from this client is a tombstone, as from the Java client
// (the Python and C++ clients leave the size out, and their empty message stays a value).
//
// The Go client (v0.19.0) itself drops an empty message outside a batch that has no properties
// ("Discarding corrupted message", BatchDeSerializeError), so a reader of this client would not
// show such a message even if it were kept; the empty message of f has a property, which the
// client hands over as an empty message, so that its removal is visible. The number of entries
// in the compacted view shows that b's is removed too.
func TestCompactionReaderGetsTheLatestValuePerKeyThenWhatCameAfter(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	emptyWithProperty := &pulsar.ProducerMessage{Key: "f", Payload: []byte{},
		Properties: map[string]string{"empty": "yes"}}
	history := []*pulsar.ProducerMessage{
		keyed("a", "a1"), keyed("b", "b1"), keyed("c", "c1"), keyed("a", "a2"),
		// Dropped: compaction keeps keyed messages only.
		keyed("", "no key"),
		// The Go client's empty payload: a tombstone for b.
		keyed("b", ""),
		// e is removed, then comes back.
		keyed("c", "c2"), keyed("e", "e1"), keyed("e", ""), keyed("e", "e2"),
		// A tombstone for f, which this client would show if it were kept.
		keyed("f", "f1"), emptyWithProperty,
		keyed("d", "d1")}
	var sent []pulsar.MessageID
	for _, m := range history {
		sent = append(sent, send(t, p, m))
	}
	if s := getCompactionStatus(t, topic); s != (compactionStatus{Status: "NOT_RUN"}) {
		t.Fatalf("compaction status before any compaction: %+v, want NOT_RUN", s)
	}
	if hasSubscription(t, topic, "__compaction") {
		t.Fatal("a __compaction subscription before the first compaction")
	}
	compact(t, topic)
	if !hasSubscription(t, topic, "__compaction") {
		t.Fatal("no __compaction subscription after a compaction")
	}
	// a2, c2, e2 and d1: neither b's empty message nor f's.
	if n := compactedEntries(t, topic); n != 4 {
		t.Fatalf("the compacted view has %d entries, want 4 (a2, c2, e2, d1)", n)
	}
	a3 := send(t, p, keyed("a", "a3")) // after the compaction: read as it is
	end := send(t, p, keyed(compactionEnd, "fin"))

	got := readCompacted(t, topic)
	want := []string{"a=a2", "c=c2", "e=e2", "d=d1", "a=a3", "end=fin"}
	if !equalStrings(shownAll(got), want) {
		t.Fatalf("the compacted reader got %q, want %q", shownAll(got), want)
	}
	// The compacted view serves the messages as they were published, under their own ids.
	wantAt := []string{position(sent[3]), position(sent[6]), position(sent[9]), position(sent[12]),
		position(a3), position(end)}
	if !equalStrings(positions(got), wantAt) {
		t.Fatalf("the compacted reader got its messages at %v, want %v (where they were published)",
			positions(got), wantAt)
	}

	// The topic itself is whole: a reader that does not read compacted gets everything, but for
	// the two empty messages without properties, which the Go client drops.
	all := newReader(t, client, pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	want = []string{"a=a1", "b=b1", "c=c1", "a=a2", "no key", "c=c2", "e=e1", "e=e2", "f=f1", "f=", "d=d1",
		"a=a3", "end=fin"}
	if got := shownAll(readUntilEnd(t, all, "the plain reader")); !equalStrings(got, want) {
		t.Fatalf("the plain reader got %q, want %q", got, want)
	}
}

// In a batch, compaction keeps the batch and each message's index, and puts a compacted_out
// placeholder where it took a message out: a message replaced, a message without a key, and the
// Go client's empty message (a tombstone in a batch too).
func TestCompactionOfBatches(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	p := newProducer(t, client, pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: 100,
		BatchingMaxPublishDelay: time.Hour})
	var sent []pulsar.MessageID
	for _, batch := range [][]*pulsar.ProducerMessage{
		{keyed("a", "a1"), keyed("b", "b1"), keyed("c", "c1"), keyed("", "no key")},
		{keyed("a", "a2"), keyed("b", ""), keyed("d", "d1"), keyed("a", "a3")},
	} {
		ids := sendBatch(t, p, batch) // one batch: the delay is too long to send it any other way
		for i, id := range ids {
			if id.LedgerID() != ids[0].LedgerID() || id.EntryID() != ids[0].EntryID() || id.BatchIdx() != int32(i) {
				t.Fatalf("message %d of a batch at %s, want index %d of one entry (the first at %s)",
					i, idString(id), i, idString(ids[0]))
			}
		}
		sent = append(sent, ids...)
	}
	compact(t, topic)
	sendBatch(t, p, []*pulsar.ProducerMessage{keyed(compactionEnd, "fin")})

	got := readCompacted(t, topic)
	// What Pulsar's compaction keeps: c1 in the first batch, d1 and a3 in the second. The Go
	// client does not skip the placeholders (the Java client does): it hands each over as an
	// empty message without a key, on Pulsar as on shfn. b's empty message is one of them.
	want := []string{"", "", "c=c1", "", "", "", "d=d1", "a=a3", "end=fin"}
	if !equalStrings(shownAll(got), want) {
		t.Fatalf("the compacted reader got %q, want %q", shownAll(got), want)
	}
	// The batches keep their indexes: each message, placeholder or survivor, has the id it was
	// published with.
	wantAt := make([]string, len(sent))
	for i, id := range sent {
		wantAt[i] = position(id)
	}
	if !equalStrings(positions(got)[:len(sent)], wantAt) {
		t.Fatalf("the compacted reader got its messages at %v, want %v (where they were published)",
			positions(got)[:len(sent)], wantAt)
	}
}

// Only Exclusive and Failover subscriptions may read compacted; the Go client leaves the check
// to the broker, which refuses the subscription at once (Pulsar: NotAllowedError).
func TestCompactionSharedConsumerCannotReadCompacted(t *testing.T) {
	t.Parallel()
	topic := topicName(t)
	newProducer(t, client, pulsar.ProducerOptions{Topic: topic})
	for _, sub := range []struct {
		name string
		typ  pulsar.SubscriptionType
	}{{"shared", pulsar.Shared}, {"key-shared", pulsar.KeyShared}} {
		c, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: sub.name,
			Type: sub.typ, ReadCompacted: true, MaxReconnectToBroker: new(uint)})
		switch {
		case err == nil:
			c.Close()
			t.Errorf("a %s consumer reading compacted was created", sub.name)
		case isTimeout(err):
			t.Errorf("a %s consumer reading compacted: timed out instead of being refused: %v", sub.name, err)
		case !strings.Contains(err.Error(), "NotAllowedError"):
			t.Errorf("a %s consumer reading compacted: refused without NotAllowedError: %v", sub.name, err)
		default:
			t.Logf("a %s consumer reading compacted: refused: %v", sub.name, err)
		}
	}
	// A Failover one may.
	subscribe(t, client, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "failover",
		Type: pulsar.Failover, ReadCompacted: true})
}
