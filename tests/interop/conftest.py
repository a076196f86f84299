"""Fixtures for the interop suite: the shfn binary and Apache Pulsar standalone with the
official Python client. The broker is started by scripts/test.sh, which exports its address."""
import json
import os
import subprocess
import uuid

import pulsar
import pytest


def _env(name):
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh")
    return value


@pytest.fixture(scope="session")
def broker():
    return {
        "url": _env("PULSAR_URL"),
        "http": _env("PULSAR_HTTP"),
        "token": os.environ.get("PULSAR_TOKEN", ""),
    }


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
