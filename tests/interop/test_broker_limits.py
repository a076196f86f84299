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
