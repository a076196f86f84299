"""Topic compaction, as `pulsar-admin topics compact` runs it and readers with
`is_read_compacted` see it: the latest value per key, tombstones, batches, the subscriptions that
may read compacted. The same assertions hold on Pulsar standalone and on `shfn broker`; what
they assert was first observed on Pulsar 4.0 standalone."""
import time

import pulsar
import pytest

from conftest import admin


def path(topic):
    return f"/admin/v2/persistent/public/default/{topic}"


def compact(broker, topic):
    """Runs a compaction and waits for it to end; its status."""
    assert admin(broker, "PUT", path(topic) + "/compaction") == 204
    return compaction_status(broker, topic)


def compaction_status(broker, topic):
    """The status of the topic's compaction once it is not running."""
    deadline = time.monotonic() + 30
    while True:
        reply = []
        assert admin(broker, "GET", path(topic) + "/compaction", reply=reply) == 200
        if reply[0]["status"] != "RUNNING" or time.monotonic() > deadline:
            return reply[0]
        time.sleep(0.05)


def compacted_view(client, topic):
    """(key, value) of every message a compacted reader gets from the start."""
    reader = client.create_reader(topic, pulsar.MessageId.earliest, is_read_compacted=True)
    seen = []
    while reader.has_message_available():
        m = reader.read_next(timeout_millis=20000)
        seen.append((m.partition_key(), m.data()))
    reader.close()
    return seen


def send_all(producer, messages):
    for key, value in messages:
        if key is None:
            producer.send(value)
        else:
            producer.send(value, partition_key=key)


def test_a_compacted_reader_gets_the_latest_value_of_each_key(py_client, broker, topic):
    producer = py_client.create_producer(topic, batching_enabled=False)
    send_all(producer, [("a", b"a1"), ("b", b"b1"), (None, b"no key"), ("a", b"a2"),
                        ("c", b"c1"), ("a", b"a3")])
    reply = []
    assert admin(broker, "GET", path(topic) + "/compaction", reply=reply) == 200
    assert reply[0] == {"status": "NOT_RUN", "lastError": ""}
    internal = []
    admin(broker, "GET", path(topic) + "/internalStats", reply=internal)
    assert internal[0]["compactedLedger"]["ledgerId"] == -1

    assert compact(broker, topic) == {"status": "SUCCESS", "lastError": ""}
    producer.send(b"a4", partition_key="a")  # after the horizon: read as it is
    assert compacted_view(py_client, topic) == [("b", b"b1"), ("c", b"c1"), ("a", b"a3"),
                                                ("a", b"a4")]
    stats = []
    admin(broker, "GET", path(topic) + "/stats", reply=stats)
    # a1 and a2 replaced, the message without a key dropped.
    assert stats[0]["compaction"]["lastCompactionRemovedEventCount"] == 3
    assert "__compaction" in stats[0]["subscriptions"]
    internal = []
    admin(broker, "GET", path(topic) + "/internalStats", reply=internal)
    assert internal[0]["compactedLedger"]["entries"] == 3  # b1, c1, a3
    # Without is_read_compacted, a reader gets everything.
    reader = py_client.create_reader(topic, pulsar.MessageId.earliest)
    assert len([reader.read_next(timeout_millis=20000) for _ in range(7)]) == 7
    reader.close()


def test_compacting_again_builds_on_the_compacted_view(py_client, broker, topic):
    producer = py_client.create_producer(topic, batching_enabled=False)
    send_all(producer, [("a", b"a1"), ("b", b"b1"), ("b", b"b2")])
    compact(broker, topic)
    send_all(producer, [("b", b"b3"), ("c", b"c1")])
    assert compact(broker, topic)["status"] == "SUCCESS"
    assert compacted_view(py_client, topic) == [("a", b"a1"), ("b", b"b3"), ("c", b"c1")]


def test_a_batched_tombstone_removes_its_key(py_client, broker, topic):
    plain = py_client.create_producer(topic, batching_enabled=False)
    send_all(plain, [("a", b"a1"), ("b", b"b1")])
    batched = py_client.create_producer(topic, batching_enabled=True, batching_max_messages=10,
                                        batching_max_publish_delay_ms=60000)
    for key, value in [("a", b""), ("c", b"c1"), ("c", b"c2"), (None, b"no key")]:
        if key is None:
            batched.send_async(value, None)
        else:
            batched.send_async(value, None, partition_key=key)
    batched.flush()
    # A kept message after the batch: the last message a compacted reader is told of is the last
    # one kept, c2 here without it, so whether the placeholder after c2 is read before
    # has_message_available says no would depend on the client's threads.
    send_all(plain, [("d", b"d1")])
    assert compact(broker, topic)["status"] == "SUCCESS"
    # The batch keeps its four indexes; the three messages taken out come as empty placeholders
    # (compacted_out) through this client, on Pulsar as on shfn.
    assert compacted_view(py_client, topic) == [("b", b"b1"), ("", b""), ("", b""), ("c", b"c2"),
                                                ("", b""), ("d", b"d1")]


def test_a_compressed_batch_is_compacted_and_compressed_again(py_client, broker, topic):
    batched = py_client.create_producer(topic, batching_enabled=True, batching_max_messages=10,
                                        batching_max_publish_delay_ms=60000,
                                        compression_type=pulsar.CompressionType.LZ4)
    for key, value in [("a", b"a1"), ("b", b"b1"), ("a", b"a2" * 100), ("c", b"")]:
        batched.send_async(value, None, partition_key=key)
    batched.flush()
    plain = py_client.create_producer(topic, batching_enabled=False)
    send_all(plain, [("d", b"d1"), ("e", b"e1"), ("d", b"d2")])
    assert compact(broker, topic)["status"] == "SUCCESS"
    view = compacted_view(py_client, topic)
    assert view == [("", b""), ("b", b"b1"), ("a", b"a2" * 100), ("", b""), ("e", b"e1"),
                    ("d", b"d2")]
    # A compacted reader that starts at a message gets what the view holds from there.
    last = []
    reader = py_client.create_reader(topic, pulsar.MessageId.earliest, is_read_compacted=True)
    while reader.has_message_available():
        last.append(reader.read_next(timeout_millis=20000).message_id())
    reader.close()
    reader = py_client.create_reader(topic, last[-2], is_read_compacted=True,
                                     start_message_id_inclusive=True)
    assert [reader.read_next(timeout_millis=20000).data() for _ in range(2)] == [b"e1", b"d2"]
    assert not reader.has_message_available()
    reader.close()


def test_compacting_a_partitioned_topic_compacts_each_partition(py_client, broker, topic):
    assert admin(broker, "PUT", path(topic) + "/partitions", 2) == 204
    producer = py_client.create_producer(topic, batching_enabled=False)
    for i in range(6):
        producer.send(f"v{i}".encode(), partition_key=f"k{i % 2}")
    assert admin(broker, "PUT", path(topic) + "/compaction") == 204
    assert admin(broker, "GET", path(topic) + "/compaction") == 404  # asked of each partition
    for partition in (f"{topic}-partition-0", f"{topic}-partition-1"):
        assert compaction_status(broker, partition)["status"] == "SUCCESS"
    assert sorted(compacted_view(py_client, topic)) == [("k0", b"v4"), ("k1", b"v5")]


def test_an_empty_message_sent_by_this_client_stays_a_value(py_client, broker, topic):
    # The C++ and Python clients leave uncompressed_size out of an uncompressed message, and
    # Pulsar then counts the whole entry: an empty message is a value, not a tombstone.
    producer = py_client.create_producer(topic, batching_enabled=False)
    send_all(producer, [("a", b"a1"), ("a", b""), ("b", b"b1")])
    compact(broker, topic)
    assert compacted_view(py_client, topic) == [("a", b""), ("b", b"b1")]


def test_a_compacted_reader_knows_where_the_view_ends(py_client, broker, topic):
    # The topic's last message is not in the view (it has no key): has_message_available must
    # say so once the view is read, rather than wait for it for ever.
    producer = py_client.create_producer(topic, batching_enabled=False)
    send_all(producer, [("a", b"a1"), (None, b"no key")])
    compact(broker, topic)
    assert compacted_view(py_client, topic) == [("a", b"a1")]
    gone = f"{topic}-gone"
    producer = py_client.create_producer(gone, batching_enabled=False)
    send_all(producer, [(None, b"no key"), (None, b"nor this")])
    compact(broker, gone)
    assert compacted_view(py_client, gone) == []


def test_a_compacted_subscription_keeps_what_it_never_got_in_its_backlog(py_client, broker,
                                                                          topic):
    producer = py_client.create_producer(topic, batching_enabled=False)
    send_all(producer, [("a", b"a1"), ("a", b"a2"), ("b", b"b1")])
    compact(broker, topic)
    consumer = py_client.subscribe(topic, "compacted", is_read_compacted=True,
                                   initial_position=pulsar.InitialPosition.Earliest)
    got = []
    for _ in range(2):
        m = consumer.receive(timeout_millis=20000)
        got.append(m.data())
        consumer.acknowledge(m)
    assert got == [b"a2", b"b1"]
    # As on Pulsar: a1 was never delivered, so never acknowledged.
    deadline = time.monotonic() + 20
    while True:
        stats = []
        admin(broker, "GET", path(topic) + "/stats", reply=stats)
        backlog = stats[0]["subscriptions"]["compacted"]["msgBacklog"]
        if backlog == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert backlog == 1
    consumer.close()


def test_only_one_consumer_at_a_time_reads_compacted(py_client, topic):
    py_client.create_producer(topic).close()
    with pytest.raises(Exception):
        py_client.subscribe(topic, "shared", is_read_compacted=True,
                            consumer_type=pulsar.ConsumerType.Shared)
    failover = py_client.subscribe(topic, "failover", is_read_compacted=True,
                                   consumer_type=pulsar.ConsumerType.Failover)
    failover.close()


def test_compaction_is_refused_where_pulsar_refuses_it(py_client, broker, topic):
    assert admin(broker, "PUT", path(topic) + "/compaction") == 404  # no such topic
    assert admin(broker, "GET", path(topic) + "/compaction") == 404
    nonpersistent = f"/admin/v2/non-persistent/public/default/{topic}/compaction"
    assert admin(broker, "PUT", nonpersistent) == 404


def test_the_compaction_threshold_is_a_namespace_policy(broker, topic):
    policy = "/admin/v2/namespaces/public/default/compactionThreshold"
    reply = []
    try:
        assert admin(broker, "PUT", policy, 1 << 20) == 204
        assert admin(broker, "GET", policy, reply=reply) == 200
        assert reply[-1] == 1 << 20
        # A topic made under a threshold keeps everything for its first compaction.
        assert admin(broker, "PUT", path(topic)) == 204
        assert admin(broker, "GET", path(topic) + "/subscriptions", reply=reply) == 200
        assert reply[-1] == ["__compaction"]
        assert admin(broker, "PUT", policy, -5) == 412
        assert admin(broker, "PUT", policy, "x") == 400
    finally:
        assert admin(broker, "DELETE", policy) == 204
    assert admin(broker, "GET", policy, reply=reply) == 200
    assert reply[-1] == ""
