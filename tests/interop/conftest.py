"""Fixtures for the interop suite: the shfn binary, a broker, and the official Python client.

The broker is Apache Pulsar standalone (started by scripts/test.sh, which exports its address)
unless SHFN_INTEROP_BROKER=embedded, in which case the suite starts `shfn broker` itself: the
same tests run against both."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid

import pulsar
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tokens import hs256_token as _hs256_token  # noqa: E402,F401  (test_tls imports it here)


def _env(name):
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh")
    return value


def _ready_url(proc, prefix):
    line = proc.stdout.readline().decode()
    assert line.startswith(prefix), f"unexpected first lines from shfn broker: {line!r}"
    return line.split(" on ", 1)[1].strip()


@pytest.fixture(scope="session")
def embedded():
    return os.environ.get("SHFN_INTEROP_BROKER", "") == "embedded"


@contextlib.contextmanager
def shfn_broker():
    """A `shfn broker` on free ports with a fresh data directory and token authentication on, as
    on the standalone: a random HS256 key and a token signed here. Yields url, http and token."""
    data = tempfile.mkdtemp(prefix="shfn-interop-")
    secret = os.urandom(32)
    with open(os.path.join(data, "secret.key"), "wb") as f:
        f.write(secret)
    proc = subprocess.Popen([_env("SHFN_BIN"), "broker", "--listen", "127.0.0.1:0",
                             "--data-dir", os.path.join(data, "data"), "--admin", "127.0.0.1:0",
                             "--token-secret-file", os.path.join(data, "secret.key")],
                            stdout=subprocess.PIPE)
    try:
        url = _ready_url(proc, "shfn broker ready")
        http = _ready_url(proc, "shfn admin ready")
        yield {"url": url, "http": http, "token": _hs256_token(secret, "shfn-test")}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def broker(embedded):
    if not embedded:
        yield {
            "url": _env("PULSAR_URL"),
            "http": _env("PULSAR_HTTP"),
            "token": os.environ.get("PULSAR_TOKEN", ""),
        }
        return
    with shfn_broker() as b:
        yield b


def admin(broker, method, path, body=None, reply=None):
    """One admin API request with the broker's token; the status, and with `reply` a list, the
    answer's body (JSON decoded when it is JSON) appended to it."""
    headers = {"Content-Type": "application/json"}
    if broker["token"]:
        headers["Authorization"] = "Bearer " + broker["token"]
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(broker["http"] + path, data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    if reply is not None:
        try:
            reply.append(json.loads(text))
        except ValueError:
            reply.append(text.decode(errors="replace"))
    return status


@pytest.fixture(scope="session")
def py_client(broker):
    auth = pulsar.AuthenticationToken(broker["token"]) if broker["token"] else None
    client = pulsar.Client(broker["url"], authentication=auth, operation_timeout_seconds=20)
    yield client
    client.close()


@pytest.fixture
def topic():
    return f"interop-{uuid.uuid4().hex[:12]}"


class Shfn:
    """Runs the shfn binary against the test broker."""

    def __init__(self, broker):
        self.binary = _env("SHFN_BIN")
        self.env = dict(os.environ, SHFN_URL=broker["url"], SHFN_TOKEN=broker["token"])

    def run(self, *args, input=None, timeout=60, env=None):
        return subprocess.run([self.binary, *args], input=input, capture_output=True,
                              timeout=timeout, env=env or self.env)

    def consume_json(self, topic, count, *extra):
        r = self.run("consume", topic, "-s", "check", "-n", str(count), "-p", "earliest",
                     "--format", "json", "--receive-timeout", "20", *extra)
        assert r.returncode == 0, r.stderr.decode()
        return [json.loads(line) for line in r.stdout.decode().splitlines()]


@pytest.fixture(scope="session")
def shfn(broker):
    return Shfn(broker)
