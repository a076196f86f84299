"""`shfn run` serves its embedded broker's admin API (Pulsar's /admin/v2 and /lookup/v2) on its
own admin port, next to /status and /metrics: what `shfn broker` serves, without a second port."""
import json
import subprocess

import pytest

from conftest import UPPER, _env, standalone
from conftest import admin_call as call



def test_shfn_run_serves_the_embedded_brokers_admin_api_on_its_admin_port(make_spec, runtimes,
                                                                         clients):
    if standalone():
        pytest.skip("with --url there is no embedded broker: Pulsar serves its own admin API")
    spec = make_spec(text=UPPER, topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    c.produce(spec.topic("in"), "hello")
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 1)] == ["HELLO"]

    assert call(rt, "GET", "/admin/v2/tenants") == (200, ["public", "pulsar"])
    status, topics = call(rt, "GET", "/admin/v2/persistent/public/default")
    assert status == 200
    assert f"persistent://public/default/{spec.topic('in')}" in topics
    assert f"persistent://public/default/{spec.topic('out')}" in topics
    status, stats = call(rt, "GET", f"/admin/v2/persistent/public/default/{spec.topic('in')}/stats")
    assert status == 200 and stats["msgInCounter"] == 1
    # The broker names itself by the port that serves its API.
    status, cluster = call(rt, "GET", "/admin/v2/clusters/standalone")
    assert status == 200 and cluster["serviceUrl"] == rt.http
    assert cluster["brokerServiceUrl"] == rt.url
    # Changes go through: a namespace made here takes topics.
    assert call(rt, "PUT", "/admin/v2/namespaces/public/ops")[0] == 204
    c.produce("persistent://public/ops/t", "in a new namespace")
    # The runtime's own endpoints are still there.
    assert rt.status()["ready"] is True


ELSEWHERE = """kind: Function
metadata:
  name: upper
spec:
  command: ["tr", "a-z", "A-Z"]
  inputs: [persistent://acme/orders/in]
  output: persistent://acme/orders/out
"""


def test_the_embedded_broker_gets_the_namespaces_its_spec_names(make_spec, runtimes, clients):
    if standalone():
        pytest.skip("a cluster's namespaces are its operators' to create")
    rt = runtimes(make_spec(text=ELSEWHERE))
    c = clients(rt)
    c.produce("persistent://acme/orders/in", "hello")
    assert [m["payload"] for m in c.consume_json("persistent://acme/orders/out", 1)] == ["HELLO"]
    assert call(rt, "GET", "/admin/v2/namespaces/acme") == (200, ["acme/orders"])
    assert "created namespace acme/orders" in rt.stderr()


def test_the_admin_port_names_shfns_version(make_spec, runtimes):
    rt = runtimes(make_spec(text=UPPER, topics=["in", "out"]))
    status, body = rt.get("/version")
    printed = subprocess.run([_env("SHFN_BIN"), "--version"], capture_output=True, text=True)
    assert status == 200
    assert printed.stdout == f"shfn {json.loads(body)['version']}\n"
