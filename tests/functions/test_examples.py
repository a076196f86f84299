"""The examples, end to end: `shfn run` as a real process, messages in with `shfn produce` and
the official Python client, out with `shfn consume` and a Python reader."""
import json

import pulsar
import pytest

from conftest import wait_for


def test_reverse_in_stdin_and_arg_styles(make_spec, runtimes, clients):
    spec = make_spec("reverse", topics=["reverse-in", "reverse-out", "reverse-arg-in",
                                        "reverse-arg-out", "reverse-log"])
    rt = runtimes(spec)
    c = clients(rt)
    c.produce(spec.topic("reverse-in"), "hello", "shell functions")
    # A payload that looks like an option, and one with a quote and a dollar: passed as $1
    # without any interpolation.
    c.produce(spec.topic("reverse-arg-in"), "-n", "it's $HOME")
    out = [m["payload"] for m in c.consume_json(spec.topic("reverse-out"), 2)]
    assert out == ["olleh", "snoitcnuf llehs"]
    out = [m["payload"] for m in c.consume_json(spec.topic("reverse-arg-out"), 2)]
    assert out == ["n-", "EMOH$ s'ti"]

    # The log topic has the instances' lifecycle, tagged.
    reader = c.reader(spec.topic("reverse-log"))
    seen = set()
    while len(seen) < 2:
        m = reader.read_next(timeout_millis=20000)
        props = m.properties()
        if props.get("level") == "INFO" and " ready" in m.data().decode():
            assert m.data().decode().startswith(f"INFO [{props['function']}/0] ready")
            assert props["instance"] == "0"
            seen.add(props["function"])
    assert seen == {"reverse", "reverse-arg"}
    assert rt.terminate() == 0


def test_json_transform_sets_key_and_properties(make_spec, runtimes, clients):
    spec = make_spec("json-transform", topics=["orders", "order-summaries", "order-summary-log"])
    rt = runtimes(spec)
    c = clients(rt)
    producer = c.py.create_producer(spec.topic("orders"))
    orders = [{"customer": "ann", "items": [{"price": 2, "qty": 3}, {"price": 1.5, "qty": 2}]},
              {"customer": "bob", "items": []}]
    for o in orders:
        producer.send(json.dumps(o).encode())
    got = {m["key"]: m for m in c.consume_json(spec.topic("order-summaries"), 2)}
    assert json.loads(got["ann"]["payload"]) == {"customer": "ann", "items": 2, "total": 9}
    assert json.loads(got["bob"]["payload"]) == {"customer": "bob", "items": 0, "total": 0}
    assert got["ann"]["properties"] == {"transform-version": "2"}


def test_flaky_function_retries_then_dead_letters(make_spec, runtimes, clients):
    spec = make_spec("flaky", topics=["flaky-in", "flaky-out", "flaky-log", "flaky-dlq"])
    rt = runtimes(spec)
    c = clients(rt)
    dlq = c.py.subscribe(spec.topic("flaky-dlq"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    c.produce(spec.topic("flaky-in"), "fine", "flaky-1", "poison-1")
    out = sorted(m["payload"] for m in c.consume_json(spec.topic("flaky-out"), 2))
    assert out == ["ok: fine", "ok: flaky-1"]

    parked = dlq.receive(timeout_millis=30000)
    assert parked.data() == b"poison-1"
    props = parked.properties()
    assert props["SHFN_EXIT_CODE"] == "3"
    assert props["SHFN_FAILURE"] == "exit_code"
    assert "cannot digest 'poison-1'" in props["SHFN_STDERR_TAIL"]
    assert props["SHFN_ATTEMPTS"] == "3"  # the first attempt and maxMessageRetries (2) retries
    assert props["REAL_TOPIC"].endswith(spec.topic("flaky-in"))
    assert props["ORIGIN_MESSAGE_ID"]
    with pytest.raises(pulsar.Timeout):
        dlq.receive(timeout_millis=1000)  # only the poison message

    flaky = wait_for(lambda: rt.instance("flaky")["deadLettered"] == 1 and rt.instance("flaky"),
                     what="status to count the dead letter")
    assert flaky["userExceptions"] == 4  # flaky-1 once, poison-1 three times
    assert flaky["processedSuccessfully"] == 2
    status, metrics = rt.get("/metrics")
    assert status == 200
    assert 'pulsar_function_user_exceptions_total{function="flaky",instance="0"} 4' in metrics
    assert 'pulsar_function_received_total{function="flaky",instance="0"} 6' in metrics


def test_admin_endpoints(make_spec, runtimes, clients):
    spec = make_spec("reverse", topics=["reverse-in", "reverse-out", "reverse-arg-in",
                                        "reverse-arg-out", "reverse-log"])
    rt = runtimes(spec)
    assert rt.get("/healthz") == (200, "ok\n")
    assert rt.get("/readyz") == (200, "ready\n")
    c = clients(rt)
    c.produce(spec.topic("reverse-in"), "abc")
    c.consume_json(spec.topic("reverse-out"), 1)
    wait_for(lambda: rt.instance("reverse")["processedSuccessfully"] == 1, what="status")
    status = rt.status()
    assert status["ready"] is True
    reverse = rt.instance("reverse")
    assert reverse["subscriptionType"] == "Shared"
    assert reverse["processingGuarantees"] == "ATLEAST_ONCE"
    assert reverse["lastInvocation"] > 0
    code, metrics = rt.get("/metrics")
    assert code == 200
    for family in ("pulsar_function_received_total", "pulsar_function_processed_successfully_total",
                   "pulsar_function_user_exceptions_total", "pulsar_function_system_exceptions_total",
                   "pulsar_function_process_latency_ms", "pulsar_function_last_invocation"):
        assert f"# TYPE {family} " in metrics
    assert 'pulsar_function_processed_successfully_total{function="reverse",instance="0"} 1' in metrics
    assert rt.get("/nope")[0] == 404



def test_heartbeat_container_source(make_spec, runtimes):
    """Knative's heartbeats sample: a command whose NDJSON CloudEvents reach a Trigger's display,
    and which ends with shfn on SIGTERM."""
    spec = make_spec("heartbeat")
    rt = runtimes(spec, "--ingress", "127.0.0.1:0")

    def beats():
        with rt.changed:
            return [line for line in rt.lines if line and '"id": ' in line]

    wait_for(lambda: len(beats()) >= 2, what="two heartbeats displayed")
    assert [line.strip() for line in beats()[:2]] == ['"id": 1,', '"id": 2,']
    assert "type: dev.knative.eventing.samples.heartbeat" in "\n".join(
        line for line in rt.lines if line)
    assert rt.terminate() == 0
    log = rt.stderr()
    assert "source heartbeat: sending a heartbeat every 1s; K_SINK=http://127.0.0.1:" in log
    assert "source heartbeat: stopped after " in log
