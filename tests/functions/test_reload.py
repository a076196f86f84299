"""Reloading a running `shfn run`: SIGHUP (or --watch and a changed file) applies the difference
between the spec as it runs and as it is now. What changed drains and restarts, what is gone
stops, what is new starts, the rest is not touched, the embedded broker and its clients stay up;
a file that does not load changes nothing. Under load, nothing is lost or duplicated."""
import json
import signal
import threading
import time
import urllib.request

import pulsar
import pytest

from conftest import Spec, admin_call, standalone, wait_for

BEFORE = """kind: Function
metadata: {name: upper}
spec: {command: ["tr", "a-z", "A-Z"], inputs: [in], output: out}
---
kind: Function
metadata: {name: keep}
spec: {command: cat, inputs: [in], output: kept}
---
kind: Function
metadata: {name: gone}
spec: {command: cat, inputs: [in], output: left}
"""

AFTER = """kind: Function
metadata: {name: added}
spec: {command: cat, inputs: [in], output: new}
---
kind: Function
metadata: {name: upper}
spec: {command: ["rev"], inputs: [in], output: out}
---
kind: Function
metadata: {name: keep}
spec: {command: cat, inputs: [in], output: kept}
"""

TOPICS = ["in", "out", "kept", "left", "new"]


def rewrite(spec, text, topics):
    """The spec file, as it is now: the same topic suffix as the running one."""
    Spec(spec.directory, text, topics, spec.suffix)


def reloads_done(rt):
    return rt.stderr().count("reload: done")


def hang_up(rt):
    done = reloads_done(rt)
    rt.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads_done(rt) > done, what="the reload to be done")


def everything_on(c, topic, total):
    """The payloads on `topic` from its start: `total` of them, or fewer when some never came,
    and then nothing more (a duplicate would come late)."""
    out = c.py.subscribe(topic, "check", initial_position=pulsar.InitialPosition.Earliest)
    got = []
    while len(got) < total:
        try:
            got.append(out.receive(timeout_millis=20000).data().decode())
        except pulsar.Timeout:
            break
    with pytest.raises(pulsar.Timeout):
        got.append(out.receive(timeout_millis=1000).data().decode())
    return got


def names(rt):
    return sorted(i["function"] for i in rt.status()["instances"])


def topic_stats(rt, topic):
    with urllib.request.urlopen(
            f"{rt.http}/admin/v2/persistent/public/default/{topic}/stats", timeout=10) as r:
        return json.loads(r.read())


def test_sighup_applies_the_difference_and_leaves_the_rest_running(make_spec, runtimes, clients):
    spec = make_spec(text=BEFORE, topics=TOPICS)
    rt = runtimes(spec)
    c = clients(rt)
    kept = c.py.subscribe(spec.topic("kept"), "watcher")
    c.produce(spec.topic("in"), "hello")
    assert kept.receive(timeout_millis=20000).data() == b"hello"
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 1)] == ["HELLO"]

    rewrite(spec, AFTER, TOPICS)
    hang_up(rt)
    err = rt.stderr()
    assert "reload: upper changed" in err and "reload: added is new" in err
    assert "reload: gone is gone from the spec" in err
    assert "reload: done: 1 stage(s) kept, 2 started, 2 stopped" in err
    assert names(rt) == ["added", "keep", "upper"]
    # keep was not restarted: its counters go on.
    assert rt.instance("keep")["received"] == 1

    c.produce(spec.topic("in"), "again")
    assert kept.receive(timeout_millis=20000).data() == b"again"
    assert [m["payload"] for m in c.consume_json(spec.topic("new"), 1)] == ["again"]
    out = c.reader(spec.topic("out"))
    assert [out.read_next(timeout_millis=20000).data().strip() for _ in range(2)] == [b"HELLO",
                                                                                   b"niaga"]
    assert rt.instance("keep")["received"] == 2
    if not standalone():
        # The embedded broker stayed up: the client's consumer is the one it was, which the
        # broker has sent both messages (a consumer made again would count one).
        [watcher] = topic_stats(rt, spec.topic("kept"))["subscriptions"]["watcher"]["consumers"]
        assert watcher["msgOutCounter"] == 2
    assert rt.proc.poll() is None
    assert rt.terminate() == 0


def test_a_spec_that_does_not_load_changes_nothing(make_spec, runtimes, clients):
    spec = make_spec(text=BEFORE, topics=TOPICS)
    rt = runtimes(spec)
    c = clients(rt)
    with open(spec.path, "w") as f:
        f.write(BEFORE + "---\nkind: Function\nmetadata: {name: broken}\nspec: {command: cat, "
                "inputs: [in], timeoutMs: soon}\n")
    rt.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "nothing changed" in rt.stderr(), what="the reload to be refused")
    assert f"reload: {spec.path}:15:" in rt.stderr() and "timeoutMs" in rt.stderr()
    assert names(rt) == ["gone", "keep", "upper"]
    c.produce(spec.topic("in"), "still")
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 1)] == ["STILL"]
    assert rt.proc.poll() is None


def test_watch_reloads_when_the_file_changes(make_spec, runtimes, clients):
    spec = make_spec(text=BEFORE, topics=TOPICS)
    rt = runtimes(spec, "--watch")
    c = clients(rt)
    rewrite(spec, AFTER, TOPICS)
    wait_for(lambda: reloads_done(rt) == 1, what="the change to be seen")
    assert "reload (a spec file changed)" in rt.stderr()
    assert names(rt) == ["added", "keep", "upper"]
    c.produce(spec.topic("in"), "watched")
    assert [m["payload"].strip() for m in c.consume_json(spec.topic("out"), 1)] == ["dehctaw"]


LOADED = """kind: Function
metadata: {name: loaded}
spec:
  command: ["cat"]
  mode: stream
  processingGuarantees: GUARANTEE
  inputs: [in]
  output: out
  env: {ROUND: "ROUND_NUMBER"}
"""


@pytest.mark.parametrize("guarantee", ["ATLEAST_ONCE", "EFFECTIVELY_ONCE"])
def test_reloads_under_load_lose_and_duplicate_nothing(make_spec, runtimes, clients, guarantee):
    def text(round_number):
        return LOADED.replace("GUARANTEE", guarantee).replace("ROUND_NUMBER", str(round_number))

    spec = make_spec(text=text(0), topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    total = 3000
    sending = send_steadily(c, spec.topic("in"), total)
    # Each round changes the function (its environment), so it drains and restarts.
    for round_number in (1, 2, 3):
        wait_for(lambda: rt.instance("loaded")["received"] > 0, what="messages flowing")
        rewrite(spec, text(round_number), ["in", "out"])
        hang_up(rt)
    assert_all_once(c, spec.topic("out"), total, sending)
    assert rt.stderr().count("reload: loaded changed") == 3


def send_steadily(c, topic, total):
    """Sends m0..m{total-1} to `topic` in a steady flow, in the background, so that the changes a
    test makes meanwhile land inside it; returns the thread."""
    producer = c.py.create_producer(topic, batching_enabled=True,
                                    batching_max_publish_delay_ms=2, block_if_queue_full=True)

    def send():
        for n in range(total):
            producer.send_async(f"m{n}".encode(), None)
            if n % 100 == 99:
                time.sleep(0.02)  # pacing, not waiting: a flow the changes land inside
        producer.flush()

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def assert_all_once(c, topic, total, sending):
    """Once send_steadily is done: every message on `topic`, none twice."""
    sending.join(timeout=120)
    assert not sending.is_alive()
    got = everything_on(c, topic, total)
    assert len(got) == total, f"{total - len(set(got))} missing, {len(got) - len(set(got))} twice"
    assert sorted(got) == sorted(f"m{n}" for n in range(total))


HELD_STREAM = """kind: Function
metadata: {name: held}
spec:
  command: ["sh", "-c", "until [ -e GO ]; do sleep 0.02; done; exec cat"]
  mode: stream
  timeoutMs: 120000
  inputs: [in]
  output: out
"""


def test_a_stop_leaves_no_batch_entry_half_taken(make_spec, runtimes, clients, workdir):
    # The instance takes messages until its run slots are full (64 for a stream worker that does
    # not answer yet), in the middle of a 1000-message batch entry. Stopped then, it takes the
    # rest of that entry too: left half taken, the broker would send the entry again whole, and
    # its taken half would run twice.
    go = f"{workdir}/go"
    spec = make_spec(text=HELD_STREAM.replace("GO", go), topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    total = 5000
    producer = c.py.create_producer(spec.topic("in"), batching_enabled=True,
                                    batching_max_messages=1000, batching_max_publish_delay_ms=50,
                                    block_if_queue_full=True)
    for n in range(total):
        producer.send_async(f"m{n}".encode(), None)
    producer.flush()
    wait_for(lambda: rt.instance("held")["inFlight"] >= 32, what="messages to be taken")
    assert admin_call(rt, "POST", "/admin/v3/functions/public/default/held/stop")[0] == 204
    wait_for(lambda: "[held/0] stopping" in rt.stderr(), what="the stop to begin")
    open(go, "w").close()  # the worker answers: the drain ends
    wait_for(lambda: "held: stopped" in rt.stderr(), what="the drain to end")
    assert admin_call(rt, "POST", "/admin/v3/functions/public/default/held/start")[0] == 204
    got = everything_on(c, spec.topic("out"), total)
    assert len(got) == len(set(got)) == total, f"{len(got) - len(set(got))} twice"
