"""Fixtures for the function tests: `shfn run` as a real process, on its embedded broker or
against Apache Pulsar standalone (SHFN_FUNCTIONS_BROKER=standalone; scripts/test.sh exports the
standalone's address), driven with `shfn produce`, `shfn consume` and the official client.

Specs are copied into a temporary directory with their scripts, and every topic name gets a
suffix unique to the test, so tests never see each other's messages on a shared standalone."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pulsar
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from ready_lines import ReadyLines  # noqa: E402


def _env(name):
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: run the suite through ctest or scripts/test.sh")
    return value


def standalone():
    return os.environ.get("SHFN_FUNCTIONS_BROKER", "") == "standalone"


def wait_for(condition, timeout=30, what="condition"):
    """Polls `condition` until it returns something truthy; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Spec:
    """A spec file in a temp dir: topics renamed with a unique suffix, scripts alongside."""

    def __init__(self, directory, text, topics, suffix):
        self.directory = directory
        self.suffix = suffix
        for t in sorted(topics, key=len, reverse=True):
            text = re.sub(rf"(?<![\w-]){re.escape(t)}(?![\w-])", t + suffix, text)
        self.path = os.path.join(directory, "spec.yaml")
        with open(self.path, "w") as f:
            f.write(text)

    def topic(self, name):
        return name + self.suffix


class Runtime:
    """A running `shfn run`; its stdout is read in the background for the ready lines."""

    def __init__(self, spec, workdir, extra_args=(), env=None, url=None, wait_ready=True):
        self.spec = spec
        self.workdir = workdir
        args = [_env("SHFN_BIN"), "run", spec.path, "--admin", "127.0.0.1:0", *extra_args]
        run_env = dict(os.environ)
        run_env.pop("SHFN_URL", None)
        run_env.update(env or {})
        if url:
            args += ["--url", url]
        elif standalone():
            args += ["--url", _env("PULSAR_URL"), "--token", os.environ.get("PULSAR_TOKEN", "")]
        else:
            self.data_dir = os.path.join(workdir, "data")
            args += ["--listen", "127.0.0.1:0", "--data-dir", self.data_dir]
        self.log_path = os.path.join(workdir, f"run-{uuid.uuid4().hex[:6]}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=run_env,
                                     cwd=workdir)
        self.ready_lines = ReadyLines(self.proc.stdout, self.stderr)
        self.lines, self.changed = self.ready_lines.lines, self.ready_lines.changed
        if url:
            self.url, self.token = url, ""
        elif standalone():
            self.url, self.token = _env("PULSAR_URL"), os.environ.get("PULSAR_TOKEN", "")
        else:
            self.url, self.token = self._ready("shfn broker ready on "), ""
        self.http = self._ready("shfn admin ready on ")
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout=60):
        self._ready("shfn functions ready", timeout)

    def _ready(self, prefix, timeout=60):
        return self.ready_lines.wait_for(prefix, timeout)

    def stderr(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def get(self, path):
        try:
            with urllib.request.urlopen(self.http + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def status(self):
        return json.loads(self.get("/status")[1])

    def instance(self, name):
        """The status of function `name`: its instance's, or with --threads the first
        instance's with the counters of all."""
        parts = [i for i in self.status()["instances"] if i["function"] == name]
        if not parts:
            raise KeyError(name)
        whole = dict(parts[0])
        for key, value in whole.items():
            if key == "lastInvocation":
                whole[key] = max(p[key] for p in parts)
            elif isinstance(value, int) and not isinstance(value, bool) and key != "instance":
                whole[key] = sum(p[key] or 0 for p in parts)  # inputBacklog: None until known
        return whole

    def terminate(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code

    def kill(self):
        if self.proc.poll() is None:
            # Each process shfn started leads a process group of its own, which a SIGKILL of
            # shfn does not reach: a command source's command would outlive the test.
            for group in self._children():
                try:
                    os.killpg(group, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.log.close()

    def _children(self):
        pids = set()
        tasks = f"/proc/{self.proc.pid}/task"
        for task in os.listdir(tasks) if os.path.isdir(tasks) else []:
            try:
                with open(f"{tasks}/{task}/children") as f:
                    pids.update(int(pid) for pid in f.read().split())
            except OSError:
                pass
        return pids


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


@pytest.fixture
def make_spec(workdir):
    """make_spec(example_dir or None, yaml_text=None, topics=[...], scripts={name: text})."""
    suffix = "-" + uuid.uuid4().hex[:8]

    def make(example=None, text=None, topics=(), scripts=None):
        if example:
            src = os.path.join(ROOT, "examples", example)
            for name in os.listdir(src):
                shutil.copy2(os.path.join(src, name), workdir)
            yaml_name = [n for n in sorted(os.listdir(src))
                         if n.endswith(".yaml") and not n.endswith(".test.yaml")][0]
            with open(os.path.join(src, yaml_name)) as f:
                text = f.read()
        for name, body in (scripts or {}).items():
            path = os.path.join(workdir, name)
            with open(path, "w") as f:
                f.write(body)
            os.chmod(path, 0o755)
        return Spec(workdir, text, topics, suffix)

    return make


@pytest.fixture
def runtimes(workdir):
    """start(spec, *args) -> Runtime; every runtime started is stopped at the end of the test."""
    started = []

    def start(spec, *extra_args, env=None, url=None, wait_ready=True):
        rt = Runtime(spec, workdir, extra_args, env, url, wait_ready)
        started.append(rt)
        return rt

    yield start
    for rt in started:
        if rt.proc.poll() is None:
            rt.kill()


class Clients:
    """`shfn produce` / `shfn consume` and the official Python client, against one runtime."""

    def __init__(self, rt):
        self.rt = rt
        self.binary = _env("SHFN_BIN")
        self.env = dict(os.environ, SHFN_URL=rt.url, SHFN_TOKEN=rt.token)
        auth = pulsar.AuthenticationToken(rt.token) if rt.token else None
        self.py = pulsar.Client(rt.url, authentication=auth, operation_timeout_seconds=20)

    def shfn(self, *args, input=None, timeout=60):
        r = subprocess.run([self.binary, *args], input=input, capture_output=True,
                           timeout=timeout, env=self.env)
        assert r.returncode == 0, r.stderr.decode()
        return r

    def produce(self, topic, *messages, key=None):
        args = ["produce", topic]
        for m in messages:
            args += ["-m", m]
        if key:
            args += ["-k", key]
        self.shfn(*args)

    def consume_json(self, topic, count, timeout=30):
        r = self.shfn("consume", topic, "-s", "check-" + uuid.uuid4().hex[:6], "-n", str(count),
                      "-p", "earliest", "--format", "json", "--receive-timeout", str(timeout),
                      timeout=timeout + 30)
        return [json.loads(line) for line in r.stdout.decode().splitlines()]

    def reader(self, topic):
        return self.py.create_reader(topic, pulsar.MessageId.earliest)

    def close(self):
        self.py.close()


@pytest.fixture
def clients():
    made = []

    def make(rt):
        c = Clients(rt)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


class BrokerProcess:
    """`shfn broker` as a process of its own, to kill and restart under a running function."""

    def __init__(self, workdir, port=None):
        self.data_dir = os.path.join(workdir, "broker-data")
        self.port = port
        self.proc = None
        self.start()

    def start(self):
        listen = f"127.0.0.1:{self.port or 0}"
        self.proc = subprocess.Popen([_env("SHFN_BIN"), "broker", "--listen", listen,
                                      "--data-dir", self.data_dir, "--admin", "off"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("shfn broker ready on "), line
        self.url = line.split(" on ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def broker_process(workdir):
    """An external broker: `shfn broker`, or the shared standalone under SHFN_FUNCTIONS_BROKER=
    standalone (which cannot be restarted by a test: tests that restart it skip there)."""
    if standalone():
        yield None
        return
    b = BrokerProcess(workdir)
    yield b
    b.stop()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A function the tests of shfn run's own endpoints run: it upper-cases.
UPPER = """kind: Function
metadata:
  name: upper
spec:
  command: ["tr", "a-z", "A-Z"]
  inputs: [in]
  output: out
"""


def admin_call(rt, method, path, body=None):
    """One request to the runtime's admin port: (status, the JSON answer or None)."""
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(rt.http + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")
