"""shfn against Apache Pulsar and its official Python client, both ways."""
import base64
import json
import os
import random
import subprocess
import urllib.request

import pulsar
import pytest

CODECS = {
    "none": pulsar.CompressionType.NONE,
    "lz4": pulsar.CompressionType.LZ4,
    "zlib": pulsar.CompressionType.ZLib,
    "zstd": pulsar.CompressionType.ZSTD,
    "snappy": pulsar.CompressionType.SNAPPY,
}


def payload_of(record):
    if "payload" in record:
        return record["payload"].encode()
    return base64.b64decode(record["payload_base64"])


def admin(broker, method, path, body=None):
    req = urllib.request.Request(broker["http"] + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if broker["token"]:
        req.add_header("Authorization", "Bearer " + broker["token"])
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_python_batches_reach_shfn_consume_byte_exact(py_client, shfn, topic, codec):
    rng = random.Random(codec)
    sent = []
    producer = py_client.create_producer(topic, batching_enabled=True,
                                         batching_max_messages=50,
                                         batching_max_publish_delay_ms=20,
                                         compression_type=CODECS[codec])
    for i in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        key = f"k{i % 7}"
        props = {"i": str(i), "codec": codec}
        producer.send_async(data, None, partition_key=key, properties=props)
        sent.append((data, key, props))
    producer.flush()
    producer.close()

    received = shfn.consume_json(topic, 200)
    assert len(received) == 200
    for (data, key, props), record in zip(sent, received):
        assert payload_of(record) == data
        assert record["key"] == key
        assert record["properties"] == props
        assert record["redelivery_count"] == 0


def test_shfn_consume_json_keeps_payloads_that_only_look_like_utf8(py_client, shfn, topic):
    """An overlong form, a surrogate or a code point past U+10FFFF is not UTF-8: such a payload
    comes as payload_base64, byte-exact, not as text with replacement characters."""
    payloads = [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", "h\u00e9llo".encode()]
    producer = py_client.create_producer(topic, batching_enabled=False)
    for data in payloads:
        producer.send(data)
    producer.close()
    received = shfn.consume_json(topic, len(payloads))
    assert [payload_of(r) for r in received] == payloads
    assert [("payload" in r) for r in received] == [False, False, False, True]


def test_shfn_produce_reaches_python_consumer(py_client, shfn, topic):
    consumer = py_client.subscribe(topic, "py", initial_position=pulsar.InitialPosition.Earliest)
    r = shfn.run("produce", topic, "-m", "hello", "-m", "world", "-n", "3", "-k", "the-key",
                 "-p", "a=1", "-p", "b=two", "--batch", "--compression", "zstd")
    assert r.returncode == 0, r.stderr.decode()
    got = []
    for _ in range(6):
        msg = consumer.receive(timeout_millis=20000)
        got.append((msg.data(), msg.partition_key(), msg.properties()))
        consumer.acknowledge(msg)
    consumer.close()
    assert [g[0] for g in got] == [b"hello", b"world"] * 3
    assert all(g[1] == "the-key" and g[2] == {"a": "1", "b": "two"} for g in got)


def test_stdin_records_are_binary_safe(py_client, shfn, topic):
    records = [b"line one\nline two", b"\xff\xfe invalid utf-8 \x80", b"", b"tab\tand \r\n crlf"]
    consumer = py_client.subscribe(topic, "py", initial_position=pulsar.InitialPosition.Earliest)
    r = shfn.run("produce", topic, "-0", input=b"\0".join(records) + b"\0")
    assert r.returncode == 0, r.stderr.decode()
    got = []
    for _ in records:
        msg = consumer.receive(timeout_millis=20000)
        got.append(msg.data())
        consumer.acknowledge(msg)
    consumer.close()
    assert got == records


def test_stdin_lines_each_become_a_message(py_client, shfn, topic):
    r = shfn.run("produce", topic, input=b"alpha\nbeta\ngamma\n")
    assert r.returncode == 0, r.stderr.decode()
    r = shfn.run("consume", topic, "-s", "raw", "-n", "3", "-p", "earliest", "--receive-timeout", "20")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"alpha\nbeta\ngamma\n"


def test_partitioned_topic_keeps_order_per_key(py_client, shfn, broker, topic):
    assert admin(broker, "PUT", f"/admin/v2/persistent/public/default/{topic}/partitions", 4) // 100 == 2
    producer = py_client.create_producer(topic, batching_enabled=True,
                                         compression_type=pulsar.CompressionType.LZ4)
    for i in range(400):
        producer.send_async(str(i).encode(), None, partition_key=f"key{i % 9}")
    producer.flush()
    producer.close()
    received = shfn.consume_json(topic, 400)
    assert len(received) == 400
    last = {}
    partitions = set()
    for record in received:
        value = int(payload_of(record))
        assert value > last.get(record["key"], -1)
        last[record["key"]] = value
        partitions.add(record["topic"])
    assert len(partitions) > 1


def test_unknown_flag_is_a_usage_error(shfn):
    r = shfn.run("produce", "t", "--no-such-flag")
    assert r.returncode == 2
    assert b"--no-such-flag" in r.stderr


def test_unreachable_broker_is_one_clear_line(shfn):
    env = dict(shfn.env, SHFN_URL="pulsar://127.0.0.1:1")
    r = shfn.run("produce", "t", "-m", "x", "--timeout", "2", env=env)
    assert r.returncode == 1
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "could not connect" in lines[0], lines


def test_invalid_topic_name_is_refused(shfn):
    r = shfn.run("consume", "persistent://only/two", "-s", "s", "--timeout", "5")
    assert r.returncode == 1
    assert "invalid topic name" in r.stderr.decode()


def test_missing_token_is_refused(shfn, broker):
    if not broker["token"]:
        pytest.skip("broker runs without authentication")
    env = dict(shfn.env, SHFN_TOKEN="")
    r = shfn.run("produce", "t", "-m", "x", "--timeout", "5", env=env)
    assert r.returncode == 1
    assert "AuthenticationError" in r.stderr.decode()


def test_a_token_read_from_a_file_may_end_in_a_newline(shfn, broker):
    # As a Kubernetes Secret made with --from-file gives it.
    if not broker["token"]:
        pytest.skip("broker runs without authentication")
    env = dict(shfn.env, SHFN_TOKEN=broker["token"] + "\n")
    r = shfn.run("produce", "token-newline", "-m", "x", "--timeout", "10", env=env)
    assert r.returncode == 0, r.stderr.decode()
