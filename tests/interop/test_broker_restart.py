"""The embedded broker killed with SIGKILL and started again on the same data: what the official
Python client stored comes back as it went in, a chunked message reassembled byte-exact and a
delayed message still held until its time. (The standalone cannot be killed per test; these run
on the embedded broker only.)"""
import datetime
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pulsar
import pytest


class KillableBroker:
    def __init__(self, binary):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="shfn-restart-")
        self.proc = None
        self.url = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "broker", "--listen", "127.0.0.1:0",
                                      "--data-dir", os.path.join(self.data, "data"),
                                      "--admin", "off"], stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("shfn broker ready on "), line
        self.url = line.split(" on ", 1)[1].strip()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def killable(embedded):
    if not embedded:
        pytest.skip("kills the broker: embedded broker only")
    broker = KillableBroker(os.environ["SHFN_BIN"])
    broker.start()
    yield broker
    broker.close()


def test_chunks_and_delays_survive_a_kill_9(killable):
    payload = os.urandom(10 * 1024 * 1024)
    client = pulsar.Client(killable.url, operation_timeout_seconds=20)
    consumer = client.subscribe("restart", "s", consumer_type=pulsar.ConsumerType.Shared)
    consumer.close()  # the subscription exists; nothing is received before the kill
    producer = client.create_producer("restart", chunking_enabled=True, batching_enabled=False)
    producer.send(payload)
    # The client's deliver-at time (whole milliseconds) is at least this.
    not_before = math.floor(time.time() * 1000) / 1000 + 4
    producer.send(b"delayed", deliver_after=datetime.timedelta(seconds=4))
    client.close()

    killable.kill()
    killable.start()
    client = pulsar.Client(killable.url, operation_timeout_seconds=20)
    consumer = client.subscribe("restart", "s", consumer_type=pulsar.ConsumerType.Shared)
    first = consumer.receive(timeout_millis=30000)
    assert first.data() == payload, f"{len(first.data())} bytes back of {len(payload)}"
    consumer.acknowledge(first)
    later = consumer.receive(timeout_millis=30000)
    assert later.data() == b"delayed"
    assert time.time() >= not_before, "the delay was forgotten in the restart"
    consumer.acknowledge(later)
    client.close()
