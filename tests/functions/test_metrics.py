"""What a running function tells about itself: outputs published and messages dropped (a
success with nothing to publish) on /status and /metrics, in exec and in stream mode."""
import re

import pytest

from conftest import wait_for

# Even numbers pass, odd ones print nothing.
EVENS = """kind: Function
metadata:
  name: evens
spec:
  command: COMMAND
  mode: MODE
  inputs: [in]
  output: out
"""

COMMANDS = {
    "exec": '["sh", "-c", "read -r n; [ $((n % 2)) -eq 0 ] && echo $n; exit 0"]',
    "stream": '["sed", "-u", "s/^[0-9]*[13579]$//"]',
}


def metric(text, name, function):
    found = re.search(rf'^{name}{{function="{function}",instance="0"}} (\d+)$', text, re.M)
    return int(found.group(1)) if found else None


@pytest.mark.parametrize("mode", ["exec", "stream"])
def test_published_and_dropped_are_counted(make_spec, runtimes, clients, mode):
    spec = make_spec(text=EVENS.replace("COMMAND", COMMANDS[mode]).replace("MODE", mode),
                     topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    c.produce(spec.topic("in"), *[str(n) for n in range(10)])
    status = wait_for(lambda: (lambda s: s if s["processedSuccessfully"] == 10 else None)(
        rt.instance("evens")), what="10 messages processed")
    assert (status["received"], status["published"], status["dropped"]) == (10, 5, 5)
    outputs = sorted(int(m["payload"]) for m in c.consume_json(spec.topic("out"), 5))
    assert outputs == [0, 2, 4, 6, 8]
    text = rt.get("/metrics")[1]
    assert metric(text, "shfn_function_published_total", "evens") == 5
    assert metric(text, "shfn_function_dropped_total", "evens") == 5


@pytest.mark.parametrize("mode", ["exec", "stream"])
def test_debug_logging_traces_each_message(make_spec, runtimes, clients, mode):
    spec = make_spec(text=EVENS.replace("COMMAND", COMMANDS[mode]).replace("MODE", mode),
                     topics=["in", "out"])
    rt = runtimes(spec, env={"SHFN_LOG": "debug"})
    c = clients(rt)
    c.produce(spec.topic("in"), "2")
    [out] = c.consume_json(spec.topic("out"), 1)
    wait_for(lambda: "acknowledged" in rt.stderr(), what="the ack to be traced")
    trace = [line.split("] ", 1)[1] for line in rt.stderr().splitlines()
             if "[evens/0] " in line and " debug " in line]
    got_id = [line.split(": ", 1)[0] for line in trace]
    assert len(set(got_id)) == 1, trace  # one message, one id on every line
    steps = [line.split(": ", 1)[1] for line in trace]
    assert steps[0].startswith("received from persistent://public/default/" + spec.topic("in"))
    if mode == "exec":
        assert steps[1] == "started, attempt 1"
    out_bytes = {"exec": 2, "stream": 1}[mode]  # "2\n" from echo; a line frame without its \n
    assert re.match(rf"succeeded in [\d.]+ ms, {out_bytes} bytes out", steps[-2]), steps
    assert steps[-1] == "output stored or none to store; acknowledged"


HELD = """kind: Function
metadata:
  name: held
spec:
  command: ["sh", "-c", "until [ -e GO ]; do sleep 0.02; done; cat"]
  timeoutMs: 120000
  inputs: [in]
  output: out
"""


def test_the_input_backlog_is_shown_and_goes_down_as_messages_are_done(make_spec, runtimes,
                                                                      clients, workdir):
    go = f"{workdir}/go"
    spec = make_spec(text=HELD.replace("GO", go), topics=["in", "out"])
    rt = runtimes(spec, env={"SHFN_BACKLOG_REFRESH_MS": "100"})
    c = clients(rt)
    c.produce(spec.topic("in"), *[f"m{n}" for n in range(5)])
    wait_for(lambda: rt.instance("held")["inputBacklog"] == 5, what="a backlog of 5")
    assert metric(rt.get("/metrics")[1], "shfn_function_input_backlog", "held") == 5
    open(go, "w").close()
    assert len(c.consume_json(spec.topic("out"), 5)) == 5
    wait_for(lambda: rt.instance("held")["inputBacklog"] == 0, what="the backlog to empty")
