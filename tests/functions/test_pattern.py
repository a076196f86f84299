"""topicsPattern end to end: the function consumes every topic of the namespace whose name matches,
those there at start (a partitioned one as a whole) and those created while it runs, found again
every SHFN_PATTERN_DISCOVERY_MS; never its own output, even when that matches too."""
import os
import re
import subprocess
import time
import urllib.request
import uuid

import pulsar
import pytest

from conftest import _env, standalone, wait_for

TAG_SCRIPT = """#!/bin/bash
# Where each output came from: the input topic's last path part, then the payload.
printf '%s:%s' "${SHFN_TOPIC##*/}" "$(cat)"
"""

SPEC = """kind: Function
metadata:
  name: tagger
spec:
  script: tag.sh
  topicsPattern: "orders-{tag}-.*"
  output: orders-{tag}-out
  logTopic: tagger-log
  subscriptionPosition: Earliest
"""


class Broker:
    """Where the topics live before the function starts: `shfn broker` with its admin API (to
    make a partitioned topic), or the shared Pulsar standalone."""

    def __init__(self, workdir):
        self.proc = None
        if standalone():
            self.url, self.http = _env("PULSAR_URL"), _env("PULSAR_HTTP")
            self.token = os.environ.get("PULSAR_TOKEN", "")
            return
        self.token = ""
        self.proc = subprocess.Popen(
            [_env("SHFN_BIN"), "broker", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
             "--data-dir", os.path.join(workdir, "broker-data")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.url = self._ready("shfn broker ready on ")
        self.http = self._ready("shfn admin ready on ")

    def _ready(self, prefix):
        line = self.proc.stdout.readline().decode()
        assert line.startswith(prefix), line
        return line[len(prefix):].strip()

    def create_partitioned(self, topic, partitions):
        request = urllib.request.Request(
            f"{self.http}/admin/v2/persistent/public/default/{topic}/partitions",
            data=str(partitions).encode(), method="PUT",
            headers={"Content-Type": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status // 100 == 2

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def broker(workdir):
    b = Broker(workdir)
    yield b
    b.stop()


def read_exactly(client, topic, count, timeout=60):
    """The first `count` payloads on `topic`, then a check that nothing else follows."""
    reader = client.create_reader(topic, pulsar.MessageId.earliest)
    payloads = []
    deadline = time.monotonic() + timeout
    while len(payloads) < count:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            pytest.fail(f"{len(payloads)} of {count} outputs after {timeout}s: {payloads}")
        try:
            payloads.append(reader.read_next(timeout_millis=min(left, 2000)).data().decode())
        except pulsar.Timeout:
            pass
    with pytest.raises(pulsar.Timeout):
        extra = reader.read_next(timeout_millis=1500)
        pytest.fail(f"unexpected output {extra.data()!r}")
    reader.close()
    return payloads


def test_topics_pattern_subscribes_existing_and_new_topics(make_spec, runtimes, clients, broker):
    tag = uuid.uuid4().hex[:8]
    spec = make_spec(text=SPEC.format(tag=tag), topics=["tagger-log"],
                     scripts={"tag.sh": TAG_SCRIPT})
    full = lambda local: f"persistent://public/default/{local}"
    eu, us, late = f"orders-{tag}-eu", f"orders-{tag}-us", f"orders-{tag}-late"
    parted, out = f"orders-{tag}-parted", f"orders-{tag}-out"
    near_miss, other = f"orders-{tag}", f"refunds-{tag}-eu"

    # Before the function starts: two matching topics, a matching partitioned one, and two
    # that do not match (the pattern asks for a '-' after the tag).
    auth = pulsar.AuthenticationToken(broker.token) if broker.token else None
    before = pulsar.Client(broker.url, authentication=auth, operation_timeout_seconds=30)
    broker.create_partitioned(parted, 2)
    for topic, payloads in [(eu, ["e1"]), (us, ["u1"]), (near_miss, ["n1"]), (other, ["r1"])]:
        producer = before.create_producer(topic)
        for p in payloads:
            producer.send(p.encode())
        producer.close()
    producer = before.create_producer(parted)
    for i in range(4):
        producer.send(f"p{i}".encode(), partition_key=f"key-{i}")
    producer.close()
    before.close()

    rt = runtimes(spec, url=None if standalone() else broker.url,
                  env={"SHFN_PATTERN_DISCOVERY_MS": "300"})
    tagger = rt.instance("tagger")
    assert tagger["topicsPattern"] == full(f"orders-{tag}-.*")
    assert sorted(tagger["patternTopics"]) == sorted(full(t) for t in (eu, parted, us))
    assert f"not subscribing to {full(out)}" in rt.stderr()  # its own output matches too

    c = clients(rt)
    for topic, payload in [(eu, "e2"), (other, "r2"), (near_miss, "n2")]:
        producer = c.py.create_producer(topic)
        producer.send(payload.encode())
        producer.close()
    # A topic made while the function runs is found by the next discovery.
    producer = c.py.create_producer(late)
    producer.send(b"l1")
    wait_for(lambda: full(late) in rt.instance("tagger")["patternTopics"], timeout=30,
             what=f"{late} to be discovered")
    producer.send(b"l2")
    producer.close()

    got = read_exactly(c.py, out, 9)
    assert sorted(p for p in got if not p.startswith(parted)) == sorted(
        [f"{eu}:e1", f"{eu}:e2", f"{us}:u1", f"{late}:l1", f"{late}:l2"])
    from_parted = [p for p in got if p.startswith(parted)]
    assert sorted(p.split(":")[1] for p in from_parted) == ["p0", "p1", "p2", "p3"]
    assert all(p.startswith(f"{parted}-partition-") for p in from_parted)

    # The lifecycle says what was subscribed, on the log topic as on stderr.
    line = f"subscribed to {full(late)} (matches topicsPattern {full(f'orders-{tag}-.*')})"
    assert line in rt.stderr()
    reader = c.reader(spec.topic("tagger-log"))
    logged = []
    while f"INFO [tagger/0] {line}" not in logged:
        try:
            logged.append(reader.read_next(timeout_millis=20000).data().decode())
        except pulsar.Timeout:
            pytest.fail(f"no '{line}' on the log topic: {logged}")
    assert rt.terminate() == 0


def test_official_client_regex_subscription_lists_through_the_broker(broker):
    """The official client's regex subscription asks the broker for the namespace's topics
    (GET_TOPICS_OF_NAMESPACE) and matches them itself: against `shfn broker` as against Pulsar."""
    tag = uuid.uuid4().hex[:8]
    auth = pulsar.AuthenticationToken(broker.token) if broker.token else None
    client = pulsar.Client(broker.url, authentication=auth, operation_timeout_seconds=30)
    try:
        sent = [(f"events-{tag}-a", b"a1"), (f"events-{tag}-b", b"b1"), (f"events-{tag}", b"x1"),
                (f"unrelated-{tag}-a", b"x2")]
        for topic, payload in sent:
            client.create_producer(topic).send(payload)
        consumer = client.subscribe(
            re.compile(f"persistent://public/default/events-{tag}-.*"), "regex",
            initial_position=pulsar.InitialPosition.Earliest)
        got = set()
        for _ in range(2):
            m = consumer.receive(timeout_millis=30000)
            got.add(m.data())
            consumer.acknowledge(m)
        assert got == {b"a1", b"b1"}
        with pytest.raises(pulsar.Timeout):
            extra = consumer.receive(timeout_millis=1500)
            pytest.fail(f"{extra.data()!r} is from a topic that does not match")
    finally:
        client.close()
