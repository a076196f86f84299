"""What the chaos tests share: `shfn broker` and `shfn run` as processes to SIGKILL, a forwarder
that gives a broker restarted on another port one stable address, a load of numbered messages
from the official client with a ledger of what was receipted, and the final count (read back,
lost, duplicated, out of order). Named apart from `conftest` so that no other suite's conftest
can shadow it; nothing here comes from another test directory."""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pulsar
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from ready_lines import ReadyLines  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def shfn_bin():
    value = os.environ.get("SHFN_BIN", "")
    if not value:
        pytest.fail("SHFN_BIN is not set: run the suite through ctest or bench/chaos-kills.sh")
    return value


def wait_for(condition, timeout=60, what="condition"):
    """Polls `condition` until it returns something truthy; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def client_logger(workdir):
    """The official client logs every reconnect at INFO; keep its warnings in a file instead."""
    return pulsar.FileLogger(pulsar.LoggerLevel.Warn, os.path.join(workdir, "pulsar-client.log"))


def summary(scenario, **figures):
    """One line per scenario; bench/chaos-kills.sh collects these."""
    line = "chaos: " + scenario + " " + " ".join(f"{k}={v}" for k, v in figures.items())
    print(line, flush=True)
    return line


# ------------------------------------------------------------------------------ processes

def cpu_seconds(pid):
    """User + system CPU time of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _drain(stream):
    for _ in stream:
        pass


class Broker:
    """`shfn broker` on 127.0.0.1:0 over one data directory; killed and started again at will
    (each start may get another port: `url` follows it, `forwarder` keeps one address)."""

    def __init__(self, workdir, data_dir=None, nofile=None, name="broker"):
        self.data_dir = data_dir or os.path.join(workdir, f"{name}-data")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.nofile = nofile
        self.proc = None
        self.url = None
        self.starts = 0
        self.kills = 0

    def start(self):
        limit = self.nofile

        def limits():
            if limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        with open(self.log_path, "ab") as log:
            log.write(f"---- start {self.starts + 1}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [shfn_bin(), "broker", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
                 "--admin", "off"],
                stdout=subprocess.PIPE, stderr=log, preexec_fn=limits if limit else None)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("shfn broker ready on "):
            self.proc.wait(timeout=30)
            pytest.fail(f"shfn broker did not start ({line!r}):\n{self.log()[-3000:]}")
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
        self.url = line.split(" on ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.starts += 1
        return self

    def kill(self):
        """SIGKILL, and wait for the process to be gone (its lock and port with it)."""
        assert self.proc.poll() is None, f"the broker died on its own:\n{self.log()[-3000:]}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Forwarder:
    """A TCP forwarder on a port of its own (held for the whole test) to whichever broker runs
    now. Clients given its address look topics up through it; the broker answers with its real
    address, so only lookups pass here and a restarted broker is found at its new port: the
    clients' own reconnect path, without depending on a port being free for the restart."""

    def __init__(self, target):
        self.target = target  # a callable: the (host, port) to forward to, or None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "pulsar://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.open = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            address = self.target()
            try:
                upstream = socket.create_connection(address, timeout=5) if address else None
            except OSError:
                upstream = None
            if upstream is None:
                downstream.close()  # the client retries, as with a broker that is down
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open.update((downstream, upstream))
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):  # either side gone: both go, as a broker's death would do
            with self.lock:
                self.open.discard(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()
        with self.lock:
            for s in list(self.open):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Run:
    """`shfn run SPEC --url URL`: its stdout read in the background for the ready lines, its
    counters through the admin endpoint's /status."""

    def __init__(self, spec_path, url, workdir, name):
        env = dict(os.environ)
        env.pop("SHFN_URL", None)
        self.log_path = os.path.join(workdir, f"{name}.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([shfn_bin(), "run", spec_path, "--url", url,
                                          "--admin", "127.0.0.1:0"],
                                         stdout=subprocess.PIPE, stderr=log, env=env, cwd=workdir)
        self.ready_lines = ReadyLines(self.proc.stdout, lambda: self.log()[-3000:])
        self.http = self.ready_lines.wait_for("shfn admin ready on ")
        self.ready_lines.wait_for("shfn functions ready")

    def processed(self, function):
        """The instance's processedSuccessfully counter (0 while the endpoint does not answer)."""
        try:
            with urllib.request.urlopen(self.http + "/status", timeout=10) as r:
                status = json.loads(r.read().decode())
        except (OSError, urllib.error.URLError, ValueError):
            return 0
        for i in status["instances"]:
            if i["function"] == function:
                return i["processedSuccessfully"]
        return 0

    def kill(self):
        assert self.proc.poll() is None, f"shfn run died on its own:\n{self.log()[-3000:]}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


# ------------------------------------------------------------------------------ load

def payload(producer, n, pad=0):
    return f"{producer}-{n:08d}".encode() + b" " * pad


def number_of(data):
    name, n = data.decode().rstrip(" ").rsplit("-", 1)
    return name, int(n)


class Load:
    """A thread sending numbered messages through the official client as fast as the broker
    takes them (at most `window` unreceipted) or at `rate` a second, each under its number as
    sequence id, recording every number whose send callback said Ok. Without `recreate` it
    relies on the client's own reconnect (no send timeout by default: the client holds a
    message until it is stored). With `recreate`, when `generation()` changes (the broker was
    restarted, on `url()`'s new port) it closes its client, opens a new one with the same
    producer name and resends every message that had no receipt."""

    def __init__(self, url, topic, name, workdir, batching=False, recreate=False,
                 generation=None, window=500, send_timeout_ms=0, rate=None, pad=0):
        self.rate = rate  # messages per second at most (None: as fast as receipts come)
        self.pad = pad  # bytes of padding after the number
        self.url, self.topic, self.name, self.workdir = url, topic, name, workdir
        self.batching, self.recreate, self.generation = batching, recreate, generation
        self.window, self.send_timeout_ms = window, send_timeout_ms
        self.receipted = set()
        self.failed = {}  # number -> the last error its callback reported
        self.sent = 0  # numbers 0 .. sent-1 have been handed to the client
        self.inflight = 0
        self.recreated = 0
        self.already_stored = 0  # resends the broker had stored before it died (dedup'd)
        self.deduplicated = 0  # receipts for a resend the broker had stored: id -1:-1
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.error = None
        self.client = None  # the thread's current client (abort() closes it)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def receipts(self):
        if self.error:  # the thread is gone: say why instead of waiting for progress
            raise AssertionError(f"the load of {self.name} failed: {self.error!r}")
        with self.changed:
            return len(self.receipted)

    def _open(self):
        client = pulsar.Client(self.url(), operation_timeout_seconds=10,
                               logger=client_logger(self.workdir))
        self.client = client
        producer = client.create_producer(
            self.topic, producer_name=self.name, send_timeout_millis=self.send_timeout_ms,
            batching_enabled=self.batching, batching_max_publish_delay_ms=5,
            max_pending_messages=self.window * 2, block_if_queue_full=False)
        return client, producer

    def _callback(self, n):
        def done(result, msg_id):
            with self.changed:
                self.inflight -= 1
                if result == pulsar.Result.Ok:
                    self.receipted.add(n)
                    self.deduplicated += msg_id.ledger_id() == -1
                    self.failed.pop(n, None)
                else:
                    self.failed[n] = str(result)
                self.changed.notify_all()
        return done

    def _send(self, producer, n):
        with self.changed:
            self.inflight += 1
        try:
            producer.send_async(payload(self.name, n, self.pad), self._callback(n), sequence_id=n)
        except Exception as e:  # the client refused it outright: no receipt, no callback
            with self.changed:
                self.inflight -= 1
                self.failed[n] = repr(e)

    def _run(self):
        try:
            generation = self.generation() if self.generation else 0
            client, producer = self._open()
            begun = time.monotonic()
            while not self.stopping.is_set():
                if self.rate:  # pacing the load, not waiting for anything
                    self.stopping.wait(max(0.0, begun + self.sent / self.rate - time.monotonic()))
                with self.changed:
                    self.changed.wait_for(
                        lambda: self.inflight < self.window or self.stopping.is_set()
                        or (self.recreate and self.generation() != generation),
                        timeout=0.02 if self.recreate else 1)  # nothing notifies a restart
                if self.recreate and self.generation() != generation:
                    generation = self.generation()
                    client, producer = self._reopen(client)
                    continue
                if self.inflight >= self.window or self.stopping.is_set():
                    continue
                self._send(producer, self.sent)
                self.sent += 1
            if self.recreate:  # the last restart may have come after the last message
                while self.generation() != generation:
                    generation = self.generation()
                    client, producer = self._reopen(client)
            try:
                producer.flush()
            except pulsar.PulsarException:
                pass  # a send that failed (a full disk refuses them) says so in its callback
            with self.changed:
                answered = self.changed.wait_for(lambda: self.inflight == 0, timeout=120)
                left = self.inflight
            client.close()
            if not answered:
                raise AssertionError(f"{left} sends unanswered 120 s after the last one")
        except Exception as e:  # reported by finish()
            self.error = e

    def _reopen(self, client):
        client.close()  # fails what it still holds: those get resent below
        with self.changed:
            if not self.changed.wait_for(lambda: self.inflight == 0, timeout=60):
                raise AssertionError(f"{self.inflight} sends unanswered by a closed client")
            missing = [n for n in range(self.sent) if n not in self.receipted]
            highest = max(self.receipted, default=-1)
        client, producer = self._open()
        # The broker names the last sequence id it stored for this producer name: past what
        # was receipted when the send was stored but the broker died before it answered.
        self.already_stored += max(0, producer.last_sequence_id() - highest)
        self.recreated += 1
        for n in missing:
            self._send(producer, n)
        return client, producer

    def abort(self):
        """At the end of a test, whatever happened: stops the thread and closes its client (a
        client left open when the interpreter exits aborts it)."""
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        self.thread.join(2)
        if self.thread.is_alive() and self.client:
            self.client.close()  # fails what it still holds, which ends the thread
            self.thread.join(30)

    def finish(self, timeout=180):
        """Stops sending; waits for every message handed to the client to be answered."""
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the load of {self.name} did not finish"
        if self.error:
            raise self.error
        with self.changed:
            assert self.inflight == 0, f"{self.inflight} sends of {self.name} never answered"


def resend(url, topic, name, numbers, workdir):
    """Sends `numbers` again under their own sequence ids from a new producer with the same
    name; returns how many the broker answered as duplicates (message id -1:-1)."""
    client = pulsar.Client(url, operation_timeout_seconds=30, logger=client_logger(workdir))
    try:
        producer = client.create_producer(topic, producer_name=name, batching_enabled=False)
        ids = [producer.send(payload(name, n), sequence_id=n) for n in numbers]
        return sum(1 for i in ids if i.ledger_id() == -1)
    finally:
        client.close()


def read_topic(url, topic, workdir):
    """Every payload on `topic` from the earliest, in order (a reader until nothing is left)."""
    client = pulsar.Client(url, operation_timeout_seconds=30, logger=client_logger(workdir))
    try:
        reader = client.create_reader(topic, pulsar.MessageId.earliest)
        payloads = []
        while reader.has_message_available():
            payloads.append(reader.read_next(timeout_millis=30000).data())
        reader.close()
        return payloads
    finally:
        client.close()


def wait_for_payloads(url, topic, expected, workdir, timeout=180):
    """Reads `topic` from the earliest until every payload in `expected` has been seen (the
    function caught up); fails the test at the deadline, naming how many are missing."""
    client = pulsar.Client(url, operation_timeout_seconds=30, logger=client_logger(workdir))
    try:
        reader = client.create_reader(topic, pulsar.MessageId.earliest)
        missing = set(expected)
        deadline = time.monotonic() + timeout
        while missing:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"{len(missing)} of {len(expected)} outputs missing after {timeout}s")
            try:
                missing.discard(reader.read_next(timeout_millis=int(min(left, 1) * 1000)).data())
            except pulsar.Timeout:
                pass
        reader.close()
    finally:
        client.close()


def tally(receipted, payloads):
    """Per producer name: receipted numbers not read back, numbers read more than once, and
    whether each producer's numbers come back in the order they were sent."""
    seen = {}
    for data in payloads:
        name, n = number_of(data)
        seen.setdefault(name, []).append(n)
    lost, duplicates, disorder = [], [], []
    for name, numbers in receipted.items():
        read = seen.get(name, [])
        counts = {}
        for n in read:
            counts[n] = counts.get(n, 0) + 1
        lost += [(name, n) for n in sorted(numbers) if n not in counts]
        duplicates += [(name, n) for n, c in sorted(counts.items()) if c > 1]
        if read != sorted(read):
            disorder.append(name)
    return lost, duplicates, disorder


def kill_points(rng, kills, low, high):
    """How much progress to wait for before each kill: random, so that kills land at
    different points of the stream (before a sync, between a write and its receipt, ...)."""
    return [rng.randint(low, high) for _ in range(kills)]
