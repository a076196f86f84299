"""Flows end to end: `shfn run` on a Parallel, a Sequence and a cron source, on the embedded
broker and on Apache Pulsar standalone. The classic odd-even example runs on a virtual clock
(SHFN_CLOCK), so a minute passes in half a second; the failure cases are the ones issue 5 names:
a filter that crashes, a subscriber that hangs, a broker that goes away under a reply, a `uri`
subscriber that answers 500 and then 200, and an invalid schedule or time zone."""
import http.server
import json
import os
import re
import subprocess
import threading

import pulsar
import pytest

from conftest import _env, standalone, wait_for

NS = "persistent://public/default/"


def event_props(id_, type_="com.example.test", source="/test", **extra):
    props = {"ce_specversion": "1.0", "ce_id": id_, "ce_type": type_, "ce_source": source}
    props.update({("ce_" + k): v for k, v in extra.items()})
    return props


def drain(consumer, count, timeout_ms=30000):
    got = []
    for _ in range(count):
        m = consumer.receive(timeout_millis=timeout_ms)
        consumer.acknowledge(m)
        got.append(m)
    return got


def nothing_more(consumer, wait_ms=1000):
    """True when no further message arrives within wait_ms (a double delivery would)."""
    try:
        m = consumer.receive(timeout_millis=wait_ms)
    except pulsar.Timeout:
        return True
    pytest.fail(f"unexpected extra message {m.data()!r} {m.properties()}")


def displayed_events(rt):
    """The events the display printed on stdout, as {time, data} dicts."""
    events, current, in_data = [], None, False
    with rt.changed:
        lines = [l for l in rt.lines if l is not None]
    for line in lines:
        if line.startswith("☁️  cloudevents.Event"):
            current, in_data = {"data": ""}, False
            events.append(current)
        elif current is not None and line.startswith("  time: "):
            current["time"] = line[len("  time: "):]
        elif current is not None and line == "Data,":
            in_data = True
        elif current is not None and in_data and line.startswith("  "):
            current["data"] += line.strip()
    return events


def test_odd_even_example_on_a_virtual_clock(make_spec, runtimes):
    spec = make_spec("odd-even", topics=["odd-even", "ping"])
    branch = [spec.topic("odd-even") + "-branch-0", spec.topic("odd-even") + "-branch-1"]
    # One virtual minute every half second, starting half a minute before 09:01.
    rt = runtimes(spec, env={"SHFN_CLOCK": "2026-11-21T09:00:30Z*120"})
    wait_for(lambda: len(displayed_events(rt)) >= 6, 60, "six answers on the display")
    rt.terminate()

    # The source's first tick is the first minute after it started, which a slow start (half a
    # real second here) can push past 09:01; from there on, no minute may be missing.
    first = re.search(r"cron source ping\S*: ready, .* next tick at 2026-11-21T09:(\d\d):00Z",
                      rt.stderr())
    assert first, rt.stderr()
    shown = displayed_events(rt)
    times = [e["time"] for e in shown]
    assert len(times) == len(set(times)), f"a tick shown twice: {times}"
    minutes = [int(t[14:16]) for t in times]
    start = int(first.group(1))
    assert minutes == list(range(start, start + len(minutes))), f"ticks missed: {times}"
    for e in shown:
        want = "we are even!" if int(e["time"][14:16]) % 2 == 0 else "this is odd!"
        assert json.loads(e["data"]) == {"message": want}, e


def test_odd_even_each_tick_reaches_one_branch(make_spec, runtimes, clients):
    spec = make_spec("odd-even", topics=["odd-even", "ping"])
    rt = runtimes(spec, env={"SHFN_CLOCK": "2026-11-21T09:00:50Z*120"})
    c = clients(rt)
    readers = [c.reader(spec.topic("odd-even") + f"-branch-{i}") for i in range(2)]
    wait_for(lambda: len(displayed_events(rt)) >= 4, 60, "four answers on the display")
    per_branch = []
    for r in readers:
        times = []
        while r.has_message_available():
            m = r.read_next(timeout_millis=5000)
            times.append(m.properties()["ce_time"])
        per_branch.append(times)
    even, odd = per_branch
    assert even and odd
    assert all(int(t[14:16]) % 2 == 0 for t in even), even
    assert all(int(t[14:16]) % 2 == 1 for t in odd), odd
    assert not set(even) & set(odd)
    assert len(even) == len(set(even)) and len(odd) == len(set(odd))


PARALLEL = """kind: Parallel
metadata: {name: par}
spec:
  branches:
    - filter: {exact: {type: com.example.a}}
      subscriber: {command: "tr a-z A-Z"}
    - filter: {command: "exit 3"}
      subscriber: {command: cat}
      delivery:
        retry: 2
        backoffPolicy: linear
        backoffDelay: PT0.05S
        deadLetterSink: {topic: parked}
    - subscriber: {command: "sleep 30"}
      delivery: {retry: 1, backoffDelay: PT0.05S, timeout: PT0.3S, deadLetterSink: {topic: hung}}
  reply: {topic: answers}
"""


def test_parallel_filters_crashes_and_hangs(make_spec, runtimes, clients):
    spec = make_spec(text=PARALLEL, topics=["par", "parked", "hung", "answers"])
    rt = runtimes(spec)
    c = clients(rt)
    answers = c.py.subscribe(spec.topic("answers"), "t",
                             initial_position=pulsar.InitialPosition.Earliest)
    parked = c.py.subscribe(spec.topic("parked"), "t",
                            initial_position=pulsar.InitialPosition.Earliest)
    hung = c.py.subscribe(spec.topic("hung"), "t",
                          initial_position=pulsar.InitialPosition.Earliest)
    p = c.py.create_producer(spec.topic("par"))
    p.send(b"hello", properties=event_props("a-1", "com.example.a"))
    p.send(b"other", properties=event_props("b-1", "com.example.b"))

    # Branch 0's attribute filter passes type a only: one answer, the event with new data.
    [m] = drain(answers, 1)
    assert m.data() == b"HELLO"
    assert m.properties()["ce_id"] == "a-1"
    assert spec.topic("par") + "-branch-0" in m.properties()["ce_shfnhistory"]
    nothing_more(answers)

    # Branch 1's filter crashes: 1 + 2 retries, then the dead-letter sink, with Knative's error.
    dead = drain(parked, 2)
    for m in dead:
        props = m.properties()
        assert props["ce_knativeerrorcode"] == "3"
        assert props["ce_knativeerrordest"] == "shfn:" + spec.topic("par") + "-branch-1-filter"
        assert props["SHFN_ATTEMPTS"] == "3"
    assert sorted(m.properties()["ce_id"] for m in dead) == ["a-1", "b-1"]

    # Branch 2's subscriber hangs: timed out (1 + 1 attempts), then its dead-letter sink.
    stuck = drain(hung, 2)
    for m in stuck:
        assert m.properties()["SHFN_FAILURE"] == "timeout"
        assert m.properties()["SHFN_ATTEMPTS"] == "2"
    nothing_more(parked)
    nothing_more(hung)


SEQUENCE = """kind: Sequence
metadata: {name: seq}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}
  steps:
    - command: "tr a-z A-Z"
    - command: 'read -r x; if [ "$x" != DROP ]; then printf "%s!" "$x"; fi'
    - uri: URI
      delivery: {retry: 3, backoffDelay: PT0.05S}
  reply: {topic: done}
"""


class Hook(http.server.BaseHTTPRequestHandler):
    """Answers 500 to the first request of each event id, then 200 with a reply event."""
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ce_id = self.headers["ce-id"]
        Hook.seen.append((ce_id, self.headers["ce-type"], body))
        if sum(1 for s in Hook.seen if s[0] == ce_id) == 1:
            self.send_response(500)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"oops")
            return
        reply = body + b" (via hook)"
        self.send_response(200)
        for k, v in [("ce-specversion", "1.0"), ("ce-id", "r-" + ce_id), ("ce-source", "/hook"),
                     ("ce-type", "com.example.hooked"), ("Content-Type", "text/plain"),
                     ("Content-Length", str(len(reply)))]:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_sequence_chain_with_a_uri_that_fails_once(make_spec, runtimes, clients):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    Hook.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        text = SEQUENCE.replace("URI", f"http://127.0.0.1:{server.server_port}/hook")
        spec = make_spec(text=text, topics=["seq", "done"])
        rt = runtimes(spec)
        c = clients(rt)
        done = c.py.subscribe(spec.topic("done"), "t",
                              initial_position=pulsar.InitialPosition.Earliest)
        # In-memory channels: the ingress is non-persistent.
        p = c.py.create_producer("non-persistent://public/default/" + spec.topic("seq"))
        p.send(b"drop", properties=event_props("e-0"))
        p.send(b"hi", properties=event_props("e-1"))

        try:
            [m] = drain(done, 1)
        except pulsar.Timeout:
            pytest.fail("nothing on the reply topic:\n" + rt.stderr())
        props = m.properties()
        # The hook's reply event replaces the input's; the first 500 was retried.
        assert m.data() == b"HI! (via hook)"
        assert props["ce_id"] == "r-e-1" and props["ce_type"] == "com.example.hooked"
        assert [s[0] for s in Hook.seen] == ["e-1", "e-1"]
        assert Hook.seen[0][1] == "com.example.test" and Hook.seen[0][2] == b"HI!"
        # "drop" printed nothing at step 1: the chain ended there, nothing reached the hook.
        nothing_more(done)
    finally:
        server.shutdown()


REPLY_AFTER_RESTART = """kind: Sequence
metadata: {name: relay}
spec:
  steps:
    - command: cat
  reply: {topic: relayed}
"""


@pytest.mark.skipif(standalone(), reason="restarts its own broker")
def test_reply_survives_the_broker_going_away(make_spec, runtimes, clients, broker_process):
    spec = make_spec(text=REPLY_AFTER_RESTART, topics=["relay", "relayed"])
    rt = runtimes(spec, url=broker_process.url)
    c = clients(rt)
    p = c.py.create_producer(spec.topic("relay"))
    for i in range(5):
        p.send(f"m{i}".encode(), properties=event_props(f"e-{i}"))
    broker_process.kill()  # the reply topic is unreachable until the broker is back
    broker_process.start()
    for i in range(5, 10):
        p.send(f"m{i}".encode(), properties=event_props(f"e-{i}"))
    relayed = c.py.subscribe(spec.topic("relayed"), "t",
                              initial_position=pulsar.InitialPosition.Earliest)
    # At least once: an output whose receipt the kill lost may come twice; none may be missing.
    got = set()
    while len(got) < 10:
        [m] = drain(relayed, 1, timeout_ms=60000)
        got.add(m.properties()["ce_id"])
    assert got == {f"e-{i}" for i in range(10)}


def test_invalid_schedule_and_zone_fail_at_load(make_spec):
    for bad, message in [('schedule: "61 * * * *"', "61"),
                         ('schedule: "* * * * *"\n  timezone: Mars/Olympus', "Mars/Olympus")]:
        text = f"""kind: CronSource
metadata: {{name: tick}}
spec:
  {bad}
  sink: {{topic: ticks}}
"""
        spec = make_spec(text=text)
        r = subprocess.run([_env("SHFN_BIN"), "run", spec.path, "--admin", "off", "--listen",
                            "127.0.0.1:0", "--data-dir", os.path.join(spec.directory, "d")],
                           capture_output=True, timeout=30)
        assert r.returncode != 0
        err = r.stderr.decode()
        assert re.search(r"spec\.yaml:[45]:\d+: tick\.spec\.", err), err
        assert message in err, err


FILTERED_BURST = """kind: Function
metadata: {name: echo}
spec:
  command: [cat]
  mode: stream
---
kind: Parallel
metadata: {name: burst}
spec:
  branches:
    - filter: {exact: {type: com.example.even}}
      subscriber: {ref: {name: echo}}
    - subscriber: {ref: {name: echo}}
  reply: {topic: sorted}
"""


def test_a_burst_through_attribute_filters_comes_out_once_per_matching_branch(make_spec, runtimes,
                                                                            clients):
    """Built-in filters answer a backlog in batches: every event once per branch it matches."""
    spec = make_spec(text=FILTERED_BURST, topics=["burst", "sorted"])
    rt = runtimes(spec)
    c = clients(rt)
    out = c.py.subscribe(spec.topic("sorted"), "t",
                         initial_position=pulsar.InitialPosition.Earliest)
    p = c.py.create_producer(spec.topic("burst"), batching_enabled=True,
                             batching_max_messages=100, block_if_queue_full=True)
    for i in range(600):
        kind = "even" if i % 2 == 0 else "odd"
        p.send_async(f"e{i:03d}".encode(), None,
                     properties=event_props(f"id-{i}", type_=f"com.example.{kind}"))
    p.flush()
    got = sorted(m.data() for m in drain(out, 900))
    assert nothing_more(out)
    expected = sorted([f"e{i:03d}".encode() for i in range(600)] +
                      [f"e{i:03d}".encode() for i in range(0, 600, 2)])
    assert got == expected
    filters = [i for i in rt.status()["instances"] if i["function"].endswith("-filter")]
    assert sorted(f["processedSuccessfully"] for f in filters) == [600, 600]
    assert rt.terminate() == 0
