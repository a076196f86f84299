"""Features of the official Python client (C++ underneath) that the broker must carry exactly as
Pulsar does, against whichever broker the suite runs on: chunked messages, delayed delivery,
partition indexes in message ids, seeks, inclusive readers at the latest message and producer
access modes. Schemas have their own file (test_schemas.py)."""
import base64
import datetime
import os
import time
import urllib.request

import pulsar
import pytest

from test_semantics import drain


def test_a_chunked_10_mib_message_arrives_byte_exact(py_client, topic):
    payload = os.urandom(10 * 1024 * 1024)
    consumer = py_client.subscribe(topic, "chunks", initial_position=pulsar.InitialPosition.Earliest)
    producer = py_client.create_producer(topic, chunking_enabled=True, batching_enabled=False)
    producer.send(payload)
    producer.send(b"after the chunks")
    producer.close()
    first = consumer.receive(timeout_millis=30000)
    assert len(first.data()) == len(payload)
    assert first.data() == payload
    consumer.acknowledge(first)
    assert consumer.receive(timeout_millis=10000).data() == b"after the chunks"
    consumer.close()


@pytest.mark.parametrize("compression", [pulsar.CompressionType.NONE, pulsar.CompressionType.LZ4])
def test_shfn_puts_a_chunked_message_together(py_client, shfn, topic, compression):
    """shfn's own client (here `shfn consume`) joins the chunks the official client cut."""
    payload = os.urandom(3 * 1024 * 1024) * 3  # 9 MiB, compressible
    producer = py_client.create_producer(topic, chunking_enabled=True, batching_enabled=False,
                                         compression_type=compression)
    producer.send(payload, properties={"size": "9MiB"})
    producer.send(b"after the chunks")
    producer.close()
    got = shfn.consume_json(topic, 2)
    payloads = [m["payload"].encode() if "payload" in m else base64.b64decode(m["payload_base64"])
                for m in got]
    assert [len(p) for p in payloads] == [len(payload), 16]
    assert payloads[0] == payload
    assert got[0]["properties"] == {"size": "9MiB"}
    # Every chunk was acknowledged with the message: nothing comes back to the subscription.
    again = shfn.run("consume", topic, "-s", "check", "-n", "1", "-p", "earliest",
                     "--receive-timeout", "2")
    assert again.stdout == b"", again.stdout[:100]


def test_a_delayed_message_waits_on_a_shared_subscription(py_client, topic):
    consumer = py_client.subscribe(topic, "later", consumer_type=pulsar.ConsumerType.Shared)
    producer = py_client.create_producer(topic)
    sent_at = time.time()
    producer.send(b"later", deliver_after=datetime.timedelta(seconds=3))
    producer.send(b"now")
    assert consumer.receive(timeout_millis=10000).data() == b"now", "not held up by the delay"
    with pytest.raises(pulsar.Timeout):
        consumer.receive(timeout_millis=1000)
    later = consumer.receive(timeout_millis=15000)
    assert later.data() == b"later"
    assert time.time() - sent_at >= 2.9, "delivered before its time"
    producer.close()
    consumer.close()


def test_an_exclusive_subscription_ignores_the_delay_as_pulsar_does(py_client, topic):
    consumer = py_client.subscribe(topic, "exclusive")
    producer = py_client.create_producer(topic)
    producer.send(b"in an hour", deliver_after=datetime.timedelta(hours=1))
    assert consumer.receive(timeout_millis=10000).data() == b"in an hour"
    producer.close()
    consumer.close()


def test_messages_of_a_partitioned_topic_name_their_partition(py_client, broker, topic):
    request = urllib.request.Request(
        f"{broker['http']}/admin/v2/persistent/public/default/{topic}/partitions", data=b"3",
        method="PUT", headers={"Content-Type": "application/json",
                               "Authorization": f"Bearer {broker['token']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status // 100 == 2
    consumer = py_client.subscribe(topic, "parts", initial_position=pulsar.InitialPosition.Earliest)
    producer = py_client.create_producer(topic)
    for i in range(30):
        producer.send(str(i).encode(), partition_key=f"key-{i}")
    producer.close()
    got = drain(consumer)
    assert sorted(int(m.data()) for m in got) == list(range(30))
    partitions = set()
    for m in got:
        index = int(m.topic_name().rsplit("-partition-", 1)[1])
        assert m.message_id().partition() == index, (m.topic_name(), m.message_id())
        partitions.add(index)
    assert len(partitions) > 1
    consumer.close()


def test_a_seek_by_time_after_a_seek_by_id_skips_nothing(py_client, topic):
    consumer = py_client.subscribe(topic, "rewind", initial_position=pulsar.InitialPosition.Earliest)
    producer = py_client.create_producer(topic)
    ids = [producer.send(f"t{i}".encode()) for i in range(10)]
    producer.close()
    first = drain(consumer)
    assert len(first) == 10
    consumer.seek(ids[5])
    assert consumer.receive(timeout_millis=10000).data() == b"t6"
    consumer.seek(first[0].publish_timestamp())
    assert [m.data() for m in drain(consumer)] == [f"t{i}".encode() for i in range(10)]
    consumer.close()


def test_an_inclusive_reader_at_latest_reads_the_last_message_of_a_batch(py_client, topic):
    producer = py_client.create_producer(topic, batching_enabled=True,
                                         batching_max_publish_delay_ms=1000)
    for i in range(5):
        producer.send_async(f"b{i}".encode(), None)
    producer.flush()
    producer.close()
    reader = py_client.create_reader(topic, pulsar.MessageId.latest,
                                     start_message_id_inclusive=True)
    # The client asks for the last message id and seeks to it: the batch's last index.
    assert reader.has_message_available()
    assert reader.read_next(10000).data() == b"b4"
    reader.close()


def test_a_second_exclusive_producer_is_refused_and_fencing_takes_over(py_client, topic):
    first = py_client.create_producer(topic, access_mode=pulsar.ProducerAccessMode.Exclusive)
    with pytest.raises(pulsar.ProducerFenced):
        py_client.create_producer(topic, access_mode=pulsar.ProducerAccessMode.Exclusive)
    with pytest.raises(pulsar.ProducerBusy):
        py_client.create_producer(topic)
    fencing = py_client.create_producer(
        topic, access_mode=pulsar.ProducerAccessMode.ExclusiveWithFencing)
    fencing.send(b"mine now")
    with pytest.raises(Exception) as refused:
        first.send(b"fenced out")
    assert not isinstance(refused.value, pulsar.Timeout)
    fencing.close()
