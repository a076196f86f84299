"""`shfn broker` out of file descriptors: it pauses new connections instead of spinning on
accept() and flooding its log, keeps serving the connections it has, and accepts again once
descriptors are free. (Limits are set on a broker of the test's own: embedded broker only.)"""
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time

import pulsar
import pytest


def broker_with_few_descriptors(data, descriptors=64):
    """`shfn broker` under RLIMIT_NOFILE `descriptors`, logging to DATA/log; (process, url)."""
    def small_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, descriptors))

    proc = subprocess.Popen([os.environ["SHFN_BIN"], "broker", "--listen", "127.0.0.1:0",
                             "--data-dir", os.path.join(data, "data"), "--admin", "off"],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(data, "log"), "w"),
                            preexec_fn=small_limit)
    return proc, proc.stdout.readline().decode().split(" on ", 1)[1].strip()


def test_out_of_descriptors_the_broker_pauses_and_recovers(embedded):
    if not embedded:
        pytest.skip("runs a broker with a small descriptor limit: embedded broker only")
    data = tempfile.mkdtemp(prefix="shfn-fds-")
    proc, url = broker_with_few_descriptors(data)
    try:
        host, port = url.removeprefix("pulsar://").rsplit(":", 1)
        client = pulsar.Client(url, operation_timeout_seconds=20)
        producer = client.create_producer("fds")
        producer.send(b"before")
        # More connections than the broker has descriptors for: the kernel completes them all,
        # the broker can accept only some.
        held = [socket.create_connection((host, int(port))) for _ in range(100)]

        def failures():
            with open(os.path.join(data, "log")) as f:
                return [line for line in f if "accept failed" in line]

        deadline = time.monotonic() + 30
        while not failures() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures(), "the broker never ran out of descriptors"
        # Out of descriptors from here on: watch the log for a while. The old loop wrote
        # thousands of lines a second; the burst is logged once.
        time.sleep(1)
        assert 1 <= len(failures()) <= 2, failures()[:5]
        producer.send(b"during")  # the connections it has are still served
        for s in held:
            s.close()
        again = pulsar.Client(url, operation_timeout_seconds=20)
        consumer = again.subscribe("fds", "s", initial_position=pulsar.InitialPosition.Earliest)
        assert [consumer.receive(10000).data() for _ in range(2)] == [b"before", b"during"]
        again.close()
        client.close()
        with open(os.path.join(data, "log")) as f:
            assert any("accepting connections again" in line for line in f)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def test_more_topics_than_descriptors_each_keeps_its_message(embedded):
    """Under a descriptor limit of 64 the broker serves 300 topics: idle ones are unloaded to
    make room for the next, and load again, data and subscription intact, when used."""
    if not embedded:
        pytest.skip("runs a broker with a small descriptor limit: embedded broker only")
    data = tempfile.mkdtemp(prefix="shfn-topics-")
    proc, url = broker_with_few_descriptors(data)
    try:
        client = pulsar.Client(url, operation_timeout_seconds=20)
        # One topic held in use all along: it must not be unloaded under the others.
        kept = client.subscribe("kept", "s", initial_position=pulsar.InitialPosition.Earliest)
        kept_producer = client.create_producer("kept")
        for i in range(300):
            topic = f"many-{i}"
            consumer = client.subscribe(topic, "s")  # a durable subscription: a cursor file
            consumer.close()
            producer = client.create_producer(topic)
            producer.send(f"m-{i}".encode())
            producer.close()
            if i % 50 == 0:
                kept_producer.send(f"kept-{i}".encode())
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert fds < 64, f"{fds} descriptors open"
        sample = range(0, 300, 7)
        for i in sample:
            consumer = client.subscribe(f"many-{i}", "s")
            message = consumer.receive(10000)
            assert message.data() == f"m-{i}".encode()
            consumer.acknowledge(message)
            consumer.close()
        for i in sample:  # loaded again after being unloaded: the acknowledgement was kept
            consumer = client.subscribe(f"many-{i}", "s")
            with pytest.raises(pulsar.Timeout):
                consumer.receive(100)
            consumer.close()
        assert [kept.receive(10000).data() for _ in range(6)] == \
            [f"kept-{i}".encode() for i in range(0, 300, 50)]
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def test_a_topic_with_more_subscriptions_than_descriptors_keeps_each_position(embedded):
    """Under a descriptor limit of 64 one topic, held loaded by its producer, has 200 durable
    subscriptions: a subscription without consumers holds no file open, so each one is made,
    consumes its message and keeps its acknowledgement."""
    if not embedded:
        pytest.skip("runs a broker with a small descriptor limit: embedded broker only")
    data = tempfile.mkdtemp(prefix="shfn-subs-")
    proc, url = broker_with_few_descriptors(data)
    try:
        client = pulsar.Client(url, operation_timeout_seconds=20)
        producer = client.create_producer("many-subscriptions")  # the topic stays loaded
        names = [f"s-{i}" for i in range(200)]
        for name in names:
            client.subscribe("many-subscriptions", name).close()
        producer.send(b"to all")
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert fds < 64, f"{fds} descriptors open"
        for name in names:
            consumer = client.subscribe("many-subscriptions", name)
            message = consumer.receive(10000)
            assert message.data() == b"to all"
            consumer.acknowledge(message)
            consumer.close()
        for name in names[::13]:  # the acknowledgement was written through a reopened file
            consumer = client.subscribe("many-subscriptions", name)
            with pytest.raises(pulsar.Timeout):
                consumer.receive(100)
            consumer.close()
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def _get(url):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class SmallDiskBroker:
    """`shfn broker` (or, with `spec`, `shfn run` and its embedded broker) on a 32 MiB tmpfs
    of its own, with its admin API."""

    def __init__(self, root, spec=None):
        self.disk = os.path.join(root, "disk")
        os.makedirs(self.disk)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", self.disk],
                                 capture_output=True).returncode == 0
        self.proc = None
        if not mounted:
            return
        command = ["broker"] if spec is None else ["run", spec]
        env = {k: v for k, v in os.environ.items() if k != "SHFN_URL"}
        self.proc = subprocess.Popen(
            [os.environ["SHFN_BIN"], *command, "--listen", "127.0.0.1:0", "--data-dir",
             os.path.join(self.disk, "data"), "--admin", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(root, "log"), "w"), env=env)
        self.url = self.proc.stdout.readline().decode().split(" on ", 1)[1].strip()
        self.http = self.proc.stdout.readline().decode().split(" on ", 1)[1].strip()

    def fill(self, leave=300 * 1024):
        free = os.statvfs(self.disk)
        with open(os.path.join(self.disk, "filler"), "wb") as f:
            f.write(b"x" * (free.f_bavail * free.f_frsize - leave))

    def free(self):
        os.remove(os.path.join(self.disk, "filler"))

    def close(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            subprocess.run(["umount", "-l", self.disk])


def _small_disk(embedded, spec=None):
    if not embedded:
        pytest.skip("fills the broker's disk: embedded broker only")
    root = tempfile.mkdtemp(prefix="shfn-full-")
    broker = SmallDiskBroker(root, spec(root) if spec else None)
    if broker.proc is None:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield broker
    broker.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def small_disk(embedded):
    yield from _small_disk(embedded)


def _reverse_spec(root):
    spec = os.path.join(root, "reverse.yaml")
    with open(spec, "w") as f:
        f.write("apiVersion: shfn.dev/v1\n"
                "kind: Function\n"
                "metadata: {name: reverse}\n"
                "spec: {command: rev, inputs: [in], output: out}\n")
    return spec


@pytest.fixture
def small_disk_run(embedded):
    yield from _small_disk(embedded, _reverse_spec)


def test_a_full_disk_fails_sends_fast_keeps_reads_and_resumes(small_disk):
    """On a full disk the official client's sends fail at once with the broker's refusal (not
    after the send timeout), what is stored stays readable by readers and new subscriptions, the
    health check and a metric say so, and producing resumes by itself once space returns, with
    every receipted message stored once, in order."""
    url, http = small_disk.url, small_disk.http
    client = pulsar.Client(url, operation_timeout_seconds=20)
    producer = client.create_producer("full", batching_enabled=False, producer_name="p",
                                      send_timeout_millis=120000)
    small_disk.fill()
    receipted = []
    with pytest.raises(pulsar.ProducerBlockedQuotaExceededException):
        for i in range(100):
            payload = f"{i:03d}".encode() + os.urandom(50_000)
            producer.send(payload)
            receipted.append(payload)
    assert receipted, "the disk was full before the first message"
    status, body = _get(http + "/admin/v2/brokers/health")
    assert status == 503 and "disk full" in body, (status, body)
    assert "shfn_broker_disk_full 1" in _get(http + "/metrics")[1]
    with pytest.raises(pulsar.ProducerBlockedQuotaExceededException):
        producer.send(b"refused at once")

    reader = client.create_reader("full", pulsar.MessageId.earliest)
    assert [reader.read_next(10000).data() for _ in receipted] == receipted
    consumer = client.subscribe("full", "new", initial_position=pulsar.InitialPosition.Earliest)
    first = consumer.receive(10000)
    assert first.data() == receipted[0]
    consumer.acknowledge(first)

    small_disk.free()
    deadline = time.monotonic() + 60
    while True:  # the client re-creates its producer by itself; the broker accepts it again
        try:
            producer.send(b"after")
            break
        except pulsar.ProducerBlockedQuotaExceededException:
            assert time.monotonic() < deadline, "producing never resumed"
            time.sleep(0.1)
    assert _get(http + "/admin/v2/brokers/health")[0] == 200
    assert "shfn_broker_disk_full 0" in _get(http + "/metrics")[1]
    everything = client.create_reader("full", pulsar.MessageId.earliest)
    stored = []
    while True:
        try:
            stored.append(everything.read_next(2000).data())
        except pulsar.Timeout:
            break
    assert stored == receipted + [b"after"]
    client.close()


def test_shfn_produce_on_a_full_disk_fails_at_once_saying_why(small_disk):
    """shfn's own client: a send the broker cannot store fails when the broker refuses the
    producer again, not at the send timeout, and the broker's reason is shown."""
    small_disk.fill()
    env = dict(os.environ, SHFN_URL=small_disk.url)
    r = subprocess.run([os.environ["SHFN_BIN"], "produce", "full", "--timeout", "120"],
                       input=b"x" * 500_000, capture_output=True, env=env, timeout=100)
    assert r.returncode == 1, r.stderr.decode()
    err = r.stderr.decode()
    assert "disk full" in err and "ProducerBlockedQuotaExceeded" in err, err
    assert "timed out" not in err, err


def test_shfn_run_shows_its_embedded_brokers_full_disk(small_disk_run):
    """`shfn run`'s embedded broker on a full disk: /readyz answers 503 saying why, /metrics and
    /status show it, and all three clear by themselves once space returns."""
    url, http = small_disk_run.url, small_disk_run.http
    assert _wait_ready(http)
    assert "shfn_broker_disk_full 0" in _get(http + "/metrics")[1]
    client = pulsar.Client(url, operation_timeout_seconds=20)
    producer = client.create_producer("in", batching_enabled=False)
    small_disk_run.fill()
    with pytest.raises(pulsar.ProducerBlockedQuotaExceededException):
        for _ in range(100):
            producer.send(os.urandom(50_000))
    status, body = _get(http + "/readyz")
    assert status == 503 and "disk is full" in body, (status, body)
    assert "shfn_broker_disk_full 1" in _get(http + "/metrics")[1]
    assert '"disk_full": true' in _get(http + "/status")[1]

    small_disk_run.free()
    assert _wait_ready(http), _get(http + "/readyz")
    assert "shfn_broker_disk_full 0" in _get(http + "/metrics")[1]
    client.close()


def _wait_ready(http, seconds=30):
    deadline = time.monotonic() + seconds
    while _get(http + "/readyz")[0] != 200:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
