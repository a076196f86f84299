"""Delivery guarantees across failures: graceful shutdown, a broker that is down at start or
restarts mid-run, and EFFECTIVELY_ONCE through repeated kill -9 of the runtime."""
import os
import signal
import time

import pulsar
import pytest

from conftest import BrokerProcess, free_port, standalone, wait_for

SLOW = """kind: Function
metadata:
  name: slow
spec:
  command: "sleep 0.2; cat"
  inputs: [in]
  output: out
  parallelism: 2
"""


def read_all(client, topic, expected, timeout=60):
    """Every payload on `topic` from the start, until `expected` distinct ones were seen."""
    reader = client.create_reader(topic, pulsar.MessageId.earliest)
    payloads = []
    deadline = time.monotonic() + timeout
    while len(set(payloads)) < expected:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            pytest.fail(f"{len(set(payloads))} of {expected} outputs after {timeout}s")
        try:
            payloads.append(reader.read_next(timeout_millis=min(left, 2000)).data())
        except pulsar.Timeout:
            pass
    # Anything published after the last expected one would be a duplicate too.
    while True:
        try:
            payloads.append(reader.read_next(timeout_millis=1000).data())
        except pulsar.Timeout:
            break
    reader.close()
    return payloads


def test_graceful_shutdown_finishes_in_flight_work_and_loses_nothing(
        make_spec, runtimes, clients, broker_process):
    spec = make_spec(text=SLOW, topics=["in", "out"])
    url = broker_process.url if broker_process else None
    rt = runtimes(spec, url=url)
    c = clients(rt)
    producer = c.py.create_producer(spec.topic("in"))
    inputs = [f"m-{i:03d}".encode() for i in range(30)]
    for p in inputs:
        producer.send(p)
    wait_for(lambda: rt.instance("slow")["processedSuccessfully"] >= 4, what="some progress")
    assert rt.terminate() == 0
    assert "stopping" in rt.stderr() and "stopped" in rt.stderr()

    rt2 = runtimes(spec, url=url)
    outputs = read_all(c.py, spec.topic("out"), len(inputs))
    assert sorted(outputs) == inputs  # each exactly once: drained, acked, nothing redone
    rt2.terminate()


STUCK = """kind: Function
metadata:
  name: stuck
spec:
  command: "./stuck.sh"
  inputs: [in]
  output: out
  deadLetterTopic: dlq
  maxMessageRetries: 0
  subscriptionPosition: Earliest
"""


def test_past_the_drain_deadline_running_scripts_are_stopped_and_their_messages_kept(
        make_spec, runtimes, clients, workdir):
    """A script that will not finish in time is killed when the drain deadline passes: shfn run
    exits then, not when the script would have ended, and the message is neither counted as a
    failure nor parked in the dead-letter topic: the next run gets it again."""
    pids = os.path.join(workdir, "pids")
    spec = make_spec(text=STUCK, topics=["in", "out", "dlq"], scripts={
        "stuck.sh": f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 300\n"})
    rt = runtimes(spec, "--drain-timeout", "0.5")
    c = clients(rt)
    c.produce(spec.topic("in"), "held")
    wait_for(lambda: os.path.exists(pids), what="the script to start")
    rt.proc.send_signal(signal.SIGTERM)
    assert rt.proc.wait(timeout=60) == 0, rt.stderr()
    log = rt.stderr()
    assert "drain deadline passed" in log
    assert "failed" not in log, log
    with open(pids) as f:
        pid = int(f.read().split()[0])
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]

    rt2 = runtimes(spec, "--drain-timeout", "0.5")
    wait_for(lambda: len(open(pids).read().split()) >= 2, what="the message to come back")
    assert rt2.instance("stuck")["userExceptions"] == 0
    c2 = clients(rt2)
    dlq = c2.py.subscribe(spec.topic("dlq"), "check",
                          initial_position=pulsar.InitialPosition.Earliest)
    with pytest.raises(pulsar.Timeout):
        dlq.receive(timeout_millis=500)
    assert rt2.terminate() == 0


PICKY = """kind: Function
metadata:
  name: picky
spec:
  command: 'x=$(cat); [ "$x" != bad ] || exit 3; printf %s "$x"'
  inputs: [in]
  output: out
  deadLetterTopic: dlq
  maxMessageRetries: 2
  subscriptionPosition: Earliest
"""


def test_a_failing_message_does_not_replay_the_rest_of_its_batch(make_spec, runtimes, clients):
    """The broker redelivers a batch as a whole; the neighbours of a failing message, already
    processed and acked, must not run (and publish) again with each of its retries."""
    spec = make_spec(text=PICKY, topics=["in", "out", "dlq"])
    rt = runtimes(spec)
    c = clients(rt)
    producer = c.py.create_producer(spec.topic("in"), batching_enabled=True,
                                    batching_max_messages=5, batching_max_publish_delay_ms=1000)
    # One batch; "bad" last, so that its neighbours are done before its first failure.
    for p in [b"a", b"b", b"c", b"d", b"bad"]:
        producer.send_async(p, None)
    producer.flush()
    parked = read_all(c.py, spec.topic("dlq"), 1)
    assert parked == [b"bad"]
    outputs = read_all(c.py, spec.topic("out"), 4)
    assert sorted(outputs) == [b"a", b"b", b"c", b"d"]  # each once
    status = rt.instance("picky")
    assert status["processedSuccessfully"] == 4
    assert status["userExceptions"] == 3  # the first attempt and two retries of "bad" alone
    assert rt.terminate() == 0


def test_broker_down_at_start_then_restarted_mid_run(make_spec, runtimes, workdir):
    if standalone():
        pytest.skip("restarts a broker of its own")
    port = free_port()
    spec = make_spec(text=SLOW.replace("sleep 0.2; cat", "cat"), topics=["in", "out"])
    rt = runtimes(spec, url=f"pulsar://127.0.0.1:{port}", wait_ready=False)
    wait_for(lambda: "retrying" in rt.stderr(), what="a retry line while the broker is down")
    assert "cannot" in rt.stderr()
    broker = BrokerProcess(workdir, port)
    try:
        rt.wait_ready()
        client = pulsar.Client(broker.url, operation_timeout_seconds=30)
        producer = client.create_producer(spec.topic("in"), send_timeout_millis=0)
        first = [f"a-{i:03d}".encode() for i in range(50)]
        for p in first:
            producer.send(p)
        wait_for(lambda: rt.instance("slow")["processedSuccessfully"] >= 10, what="progress")
        broker.kill()
        broker.start()  # same port, same data directory
        second = [f"b-{i:03d}".encode() for i in range(50)]
        for p in second:
            producer.send(p)
        outputs = read_all(client, spec.topic("out"), 100)
        assert set(outputs) == set(first + second)  # at least once: nothing lost
        client.close()
        assert rt.terminate() == 0
    finally:
        broker.stop()


EFFECTIVELY_ONCE = """kind: Function
metadata:
  name: once
spec:
  command: "sleep 0.005; cat"
  inputs: [in]
  output: out
  processingGuarantees: EFFECTIVELY_ONCE
  subscriptionPosition: Earliest
"""


def test_effectively_once_through_repeated_kill_9(make_spec, runtimes, broker_process):
    spec = make_spec(text=EFFECTIVELY_ONCE, topics=["in", "out"])
    url = broker_process.url if broker_process else None
    token = os.environ.get("PULSAR_TOKEN", "") if standalone() else ""
    auth = pulsar.AuthenticationToken(token) if token else None
    client = pulsar.Client(url or os.environ["PULSAR_URL"], authentication=auth,
                           operation_timeout_seconds=30)
    producer = client.create_producer(spec.topic("in"), batching_enabled=True)
    inputs = [f"e-{i:04d}".encode() for i in range(400)]
    for p in inputs:
        producer.send_async(p, None)
    producer.flush()

    done = 0
    for _ in range(3):
        rt = runtimes(spec, url=url)
        target = done + 40
        wait_for(lambda: rt.instance("once")["processedSuccessfully"] >= 40, timeout=60,
                 what="progress before the kill")
        rt.proc.send_signal(signal.SIGKILL)
        rt.kill()
        done = target
    rt = runtimes(spec, url=url)
    outputs = read_all(client, spec.topic("out"), len(inputs), timeout=120)
    duplicates = {p for p in outputs if outputs.count(p) > 1}
    assert not duplicates, f"{len(duplicates)} outputs published twice, e.g. {sorted(duplicates)[:5]}"
    assert sorted(outputs) == inputs
    rt.terminate()
    client.close()
