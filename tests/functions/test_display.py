"""`shfn display` end to end: messages published with the official client (a binary-mode
CloudEvent, a structured-mode one, a plain message, a broken one) are printed exactly as Knative's
event-display prints events, on `shfn broker` or on the shared Pulsar standalone."""
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pulsar
import pytest

from conftest import _env, standalone

HEADER = "\u2601\ufe0f  cloudevents.Event\n"


class Target:
    """Where the topics live: `shfn broker` (the broker_process fixture) or the standalone."""

    def __init__(self, broker):
        if standalone():
            self.url, self.token = _env("PULSAR_URL"), os.environ.get("PULSAR_TOKEN", "")
        else:
            self.url, self.token = broker.url, ""
        auth = pulsar.AuthenticationToken(self.token) if self.token else None
        self.py = pulsar.Client(self.url, authentication=auth, operation_timeout_seconds=20)

    def args(self):
        return ["--url", self.url] + (["--token", self.token] if self.token else [])

    def display(self, *args, timeout=60):
        return subprocess.run([_env("SHFN_BIN"), "display", *args, *self.args()],
                              capture_output=True, timeout=timeout)


@pytest.fixture
def target(broker_process):
    t = Target(broker_process)
    yield t
    t.py.close()


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


def full(topic):
    return f"persistent://public/default/{topic}"


def shfn_id(message_id):
    """The official client's MessageId as shfn prints it: ledger:entry:partition:batch."""
    return (f"{message_id.ledger_id()}:{message_id.entry_id()}:{message_id.partition()}:"
            f"{message_id.batch_index()}")


def plain_event(topic, message_id, time, data):
    return (HEADER + "Context Attributes,\n"
            "  specversion: 1.0\n"
            "  type: dev.shfn.message\n"
            f"  source: {full(topic)}\n"
            f"  id: {shfn_id(message_id)}\n"
            f"  time: {time}\n"
            "Data,\n"
            f"  {data}\n")


def test_events_print_as_event_display_does_and_every_message_is_acked(target):
    topic = unique("display")
    producer = target.py.create_producer(topic, batching_enabled=False)
    producer.send(b'{"message": "hi"}', properties={
        "ce_specversion": "1.0", "ce_id": "b-1", "ce_source": "/test/binary",
        "ce_type": "dev.shfn.test.binary", "content-type": "application/json",
        "ce_zext": "z", "ce_aext": "a"})
    broken = producer.send(b'{"specversion": "1.0", "id": ',
                           properties={"content-type": "application/cloudevents+json"})
    structured = {"specversion": "1.0", "id": "s-1", "source": "/test/structured",
                  "type": "dev.shfn.test.structured", "subject": "sub",
                  "time": "2024-05-06T07:08:09.5+02:00", "datacontenttype": "application/json",
                  "data": {"b": [1, 2], "a": "x"}}
    producer.send(json.dumps(structured).encode(),
                  properties={"content-type": "application/cloudevents+json"})
    plain = producer.send(b"plain text", event_timestamp=1700000000123)

    subscription = unique("show")
    r = target.display(topic, "--from", "earliest", "-n", "3", "--subscription", subscription)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == (
        HEADER + "Context Attributes,\n"
        "  specversion: 1.0\n"
        "  type: dev.shfn.test.binary\n"
        "  source: /test/binary\n"
        "  id: b-1\n"
        "  datacontenttype: application/json\n"
        "Extensions,\n"
        "  aext: a\n"
        "  zext: z\n"
        "Data,\n"
        "  {\n"
        '    "message": "hi"\n'
        "  }\n"
        + HEADER + "Context Attributes,\n"
        "  specversion: 1.0\n"
        "  type: dev.shfn.test.structured\n"
        "  source: /test/structured\n"
        "  subject: sub\n"
        "  id: s-1\n"
        "  time: 2024-05-06T05:08:09.5Z\n"
        "  datacontenttype: application/json\n"
        "Data,\n"
        "  {\n"
        '    "b": [\n'
        "      1,\n"
        "      2\n"
        "    ],\n"
        '    "a": "x"\n'
        "  }\n"
        + plain_event(topic, plain, "2023-11-14T22:13:20.123Z", "plain text"))
    stderr = r.stderr.decode()
    assert f"message {shfn_id(broken)} on {full(topic)} is not a valid CloudEvent" in stderr, stderr

    # Everything up to the third event was acked, the broken message too: the same subscription
    # sees only what comes next.
    after = producer.send(b"after", event_timestamp=1700000000000)
    r = target.display(topic, "--subscription", subscription, "-n", "1")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == plain_event(topic, after, "2023-11-14T22:13:20Z", "after")
    assert r.stderr.decode() == ""
    producer.close()


def test_several_topics_until_sigterm(target):
    topics = [unique("display-a"), unique("display-b")]
    expected = []
    for n, topic in enumerate(topics):
        producer = target.py.create_producer(topic, batching_enabled=False)
        sent = producer.send(f"event {n}".encode(), event_timestamp=1700000000000 + n)
        expected.append(plain_event(topic, sent, f"2023-11-14T22:13:20.00{n}Z", f"event {n}"))
        producer.close()
    expected[0] = expected[0].replace("20.000Z", "20Z")  # Go's RFC3339Nano drops zero fractions

    proc = subprocess.Popen([_env("SHFN_BIN"), "display", *topics, "--from", "earliest",
                             *target.args()], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = []
    changed = threading.Condition()

    def read():
        for line in proc.stdout:
            with changed:
                out.append(line.decode())
                changed.notify_all()

    threading.Thread(target=read, daemon=True).start()
    lines_expected = sum(e.count("\n") for e in expected)
    deadline = time.monotonic() + 60
    with changed:
        while len(out) < lines_expected:
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"display printed {out!r}; stderr: {proc.stderr.read().decode()}")
            changed.wait(left)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, proc.stderr.read().decode()
    printed = "".join(out)
    blocks = sorted(HEADER + b for b in printed.split(HEADER) if b)
    assert blocks == sorted(expected)
