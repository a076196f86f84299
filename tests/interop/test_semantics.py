"""Pulsar semantics seen through the official Python client alone, against whichever broker
the suite runs on: Key_Shared ownership and order, negative acks, deduplication, seek."""
import collections

import pulsar
import pytest


def drain(consumer, idle_ms=3000, ack=True):
    got = []
    while True:
        try:
            msg = consumer.receive(timeout_millis=idle_ms)
        except pulsar.Timeout:
            return got
        got.append(msg)
        if ack:
            consumer.acknowledge(msg)


def test_key_shared_gives_each_key_to_one_consumer_in_order(py_client, topic):
    consumers = [py_client.subscribe(topic, "ks", consumer_type=pulsar.ConsumerType.KeyShared,
                                     consumer_name=f"c{i}") for i in range(2)]
    producer = py_client.create_producer(topic, batching_enabled=True,
                                         batching_type=pulsar.BatchingType.KeyBased,
                                         block_if_queue_full=True)
    keys = [f"key-{k}" for k in range(16)]
    for i in range(800):
        producer.send_async(str(i).encode(), None, partition_key=keys[i % len(keys)])
    producer.flush()
    producer.close()
    owners = collections.defaultdict(set)
    values = collections.defaultdict(list)
    for index, consumer in enumerate(consumers):
        for msg in drain(consumer):
            owners[msg.partition_key()].add(index)
            values[msg.partition_key()].append(int(msg.data()))
        consumer.close()
    assert sum(len(v) for v in values.values()) == 800
    assert all(len(o) == 1 for o in owners.values()), owners
    assert all(v == sorted(v) for v in values.values())
    assert len({next(iter(o)) for o in owners.values()}) == 2, "both consumers get keys"


def test_negative_ack_redelivers_with_a_higher_count(py_client, topic):
    consumer = py_client.subscribe(topic, "nack", consumer_type=pulsar.ConsumerType.Shared,
                                   negative_ack_redelivery_delay_ms=100)
    producer = py_client.create_producer(topic)
    producer.send(b"retry me")
    first = consumer.receive(timeout_millis=10000)
    assert first.redelivery_count() == 0
    consumer.negative_acknowledge(first)
    again = consumer.receive(timeout_millis=10000)
    assert again.data() == b"retry me"
    assert again.redelivery_count() == 1
    consumer.acknowledge(again)
    with pytest.raises(pulsar.Timeout):
        consumer.receive(timeout_millis=1000)
    producer.close()
    consumer.close()


def test_resent_sequence_ids_are_stored_once(py_client, topic, embedded):
    if not embedded:
        pytest.skip("Pulsar standalone runs with deduplication off, its default")
    consumer = py_client.subscribe(topic, "dedup", initial_position=pulsar.InitialPosition.Earliest)
    producer = py_client.create_producer(topic, producer_name="dedup-producer")
    for seq in range(3):
        producer.send(f"m{seq}".encode(), sequence_id=seq)
    producer.close()
    # The same producer again, resending 1 and 2 as if their receipts had been lost, then 3.
    producer = py_client.create_producer(topic, producer_name="dedup-producer")
    assert producer.last_sequence_id() == 2
    for seq in (1, 2, 3):
        producer.send(f"m{seq}".encode(), sequence_id=seq)
    producer.close()
    assert [m.data() for m in drain(consumer)] == [b"m0", b"m1", b"m2", b"m3"]
    consumer.close()


def test_seek_rewinds_the_subscription(py_client, topic):
    consumer = py_client.subscribe(topic, "seek", initial_position=pulsar.InitialPosition.Earliest)
    producer = py_client.create_producer(topic)
    ids = [producer.send(f"s{i}".encode()) for i in range(5)]
    producer.close()
    assert [m.data() for m in drain(consumer)] == [f"s{i}".encode() for i in range(5)]
    # As with Apache Pulsar itself, the official client resumes after the message sought.
    consumer.seek(ids[2])
    assert [m.data() for m in drain(consumer)] == [b"s3", b"s4"]
    consumer.seek(pulsar.MessageId.earliest)
    assert len(drain(consumer)) == 5
    consumer.close()


def test_readers_start_where_told_and_leave_nothing_behind(py_client, broker, topic):
    producer = py_client.create_producer(topic)
    ids = [producer.send(f"r{i}".encode()) for i in range(5)]
    producer.close()
    reader = py_client.create_reader(topic, pulsar.MessageId.earliest)
    assert [reader.read_next(10000).data() for _ in range(5)] == [f"r{i}".encode() for i in range(5)]
    assert not reader.has_message_available()
    reader.close()
    # By default a reader starts after the message it is given, as with Apache Pulsar.
    reader = py_client.create_reader(topic, ids[2])
    assert reader.read_next(10000).data() == b"r3"
    reader.close()
    reader = py_client.create_reader(topic, ids[2], start_message_id_inclusive=True)
    assert reader.read_next(10000).data() == b"r2"
    reader.close()


def test_key_shared_sticky_ranges_split_keys_and_refuse_overlaps(py_client, topic):
    def sticky(name, ranges):
        policy = pulsar.ConsumerKeySharedPolicy(pulsar.KeySharedMode.Sticky, sticky_ranges=ranges)
        return py_client.subscribe(topic, "sticky", consumer_type=pulsar.ConsumerType.KeyShared,
                                   consumer_name=name, key_shared_policy=policy)

    low, high = sticky("low", [(0, 32767)]), sticky("high", [(32768, 65535)])
    with pytest.raises(Exception):
        sticky("overlap", [(30000, 40000)])
    producer = py_client.create_producer(topic)
    for i in range(200):
        producer.send(str(i).encode(), partition_key=f"key-{i % 20}")
    producer.close()
    owners = collections.defaultdict(set)
    for name, consumer in (("low", low), ("high", high)):
        for msg in drain(consumer):
            owners[msg.partition_key()].add(name)
        consumer.close()
    assert len(owners) == 20
    assert all(len(o) == 1 for o in owners.values()), owners
    assert {next(iter(o)) for o in owners.values()} == {"low", "high"}
