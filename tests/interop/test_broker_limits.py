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


def test_out_of_descriptors_the_broker_pauses_and_recovers(embedded):
    if not embedded:
        pytest.skip("runs a broker with a small descriptor limit: embedded broker only")
    data = tempfile.mkdtemp(prefix="shfn-fds-")

    def small_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    proc = subprocess.Popen([os.environ["SHFN_BIN"], "broker", "--listen", "127.0.0.1:0",
                             "--data-dir", os.path.join(data, "data"), "--admin", "off"],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(data, "log"), "w"),
                            preexec_fn=small_limit)
    try:
        url = proc.stdout.readline().decode().split(" on ", 1)[1].strip()
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

    def small_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    proc = subprocess.Popen([os.environ["SHFN_BIN"], "broker", "--listen", "127.0.0.1:0",
                             "--data-dir", os.path.join(data, "data"), "--admin", "off"],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(data, "log"), "w"),
                            preexec_fn=small_limit)
    try:
        url = proc.stdout.readline().decode().split(" on ", 1)[1].strip()
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
