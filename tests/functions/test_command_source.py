"""Command sources (Knative's ContainerSource shape) end to end, on the embedded broker and on
Apache Pulsar standalone: every line a long-lived command prints becomes an event (NDJSON
CloudEvents pass through), a command that ends is started again with back-off, its stderr goes
to the log, the sources API stops and starts it, and a command sends events itself to K_SINK
with the CloudEvents Python SDK, applying K_CE_OVERRIDES, as SinkBinding's contract has it. A
sink server built on the same SDK receives what the Trigger delivers."""
import json
import os
import sys

from conftest import admin_call, wait_for
from tokens import new_secret
from test_broker import INGRESS, Sink, sink, trigger  # noqa: F401 (sink: a fixture)

CONTAINER_SOURCE = """---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {{name: {name}}}
spec:
  template:
    spec:
      containers:
        - name: {name}
          command: {command}
          env:
            - {{name: GREETING, value: hello}}
  ceOverrides:
    extensions: {{team: core}}
  sink:
    {sink}
"""


def command_source(name, command, sink="ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, "
                                        "name: events}"):
    return CONTAINER_SOURCE.format(name=name, command=json.dumps(command), sink=sink)


def broker_to(sink_url):
    return ("kind: Broker\nmetadata: {name: events}\n"
            + trigger("deliver", "events", f"{{uri: '{sink_url}/got'}}"))


def data(event):
    """The event's data: JSON as the SDK parsed it, anything else as text."""
    return event.data.decode() if isinstance(event.data, bytes) else event.data


def source_status(rt, name):
    code, body = admin_call(rt, "GET", f"/admin/v3/sources/public/default/{name}/status")
    assert code == 200, body
    return body["instances"][0]["status"]


def test_each_line_is_an_event_and_cloudevents_pass_through(make_spec, runtimes, sink):
    script = r"""#!/bin/bash
echo "plain words"
echo '{"temperature": 21}'
echo '{"specversion": "1.0", "id": "e1", "source": "/sensor", "type": "reading", "data": {"c": 3}}'
echo '{"specversion": "1.0", "id": "no-source", "type": "reading"}'
printf 'crlf line\r\n'
printf 'greeting: %s\n' "$GREETING"
echo "to the log" >&2
printf 'last line, no newline'
exec 1>&-  # stdout's end ends the last line
exec sleep 1000
"""
    spec = make_spec(text=broker_to(sink.url) + command_source("lines", ["./lines.sh"]),
                     topics=["events"], scripts={"lines.sh": script})
    rt = runtimes(spec, *INGRESS)
    wait_for(lambda: len(sink.at("/got")) == 6, what="six events")
    got = sink.at("/got")
    plain = [e for e in got if e["type"] == "dev.shfn.line"]
    # A Trigger's subscriber has several deliveries in flight, so they may arrive in any order
    # (the order on the Broker's topic is command_source_test's to check).
    assert sorted((json.dumps(data(e)), e["datacontenttype"]) for e in plain) == sorted([
        ('"plain words"', "text/plain"), ('{"temperature": 21}', "application/json"),
        ('"crlf line"', "text/plain"), ('"greeting: hello"', "text/plain"),
        ('"last line, no newline"', "text/plain")])
    for e in plain:
        assert e["source"] == "/apis/v1/namespaces/default/containersources/lines"
        assert e["team"] == "core"
    [passed] = [e for e in got if e["type"] == "reading"]
    assert (passed["id"], passed["source"], passed.data, passed["team"]) == (
        "e1", "/sensor", {"c": 3}, "core")
    log = rt.stderr()
    assert 'source lines: a line is not a valid CloudEvent: missing required attribute "source"' \
        in log
    assert "source lines: to the log" in log
    status = source_status(rt, "lines")
    assert (status["numReceivedFromSource"], status["numWritten"], status["running"]) == (7, 6,
                                                                                         True)


def test_a_command_that_ends_is_started_again(make_spec, runtimes, sink):
    script = """#!/bin/bash
runs=$(( $(cat runs 2>/dev/null || echo 0) + 1 ))
echo $runs > runs
echo "run $runs"
exit 7
"""
    spec = make_spec(text=broker_to(sink.url) + command_source("again", ["./again.sh"]),
                     topics=["events"], scripts={"again.sh": script})
    rt = runtimes(spec, *INGRESS)
    wait_for(lambda: len(sink.at("/got")) >= 2, what="a second run's event", timeout=30)
    assert [data(e) for e in sink.at("/got")][:2] == ["run 1", "run 2"]
    assert " ms: exited with code 7; starting it again in " in rt.stderr()
    assert source_status(rt, "again")["numRestarts"] >= 1


def test_stop_ends_the_command_and_start_runs_it_again(make_spec, runtimes, sink, workdir):
    script = """#!/bin/bash
trap 'echo "terminated" > stopped; echo "last words"; exit 0' TERM
echo "up"
while true; do sleep 0.1; done
"""
    spec = make_spec(text=broker_to(sink.url) + command_source("long", ["./long.sh"]),
                     topics=["events"], scripts={"long.sh": script})
    rt = runtimes(spec, *INGRESS)
    wait_for(lambda: len(sink.at("/got")) == 1, what="the first line")
    assert admin_call(rt, "POST", "/admin/v3/sources/public/default/long/stop")[0] == 204
    stopped = os.path.join(workdir, "stopped")
    wait_for(lambda: os.path.exists(stopped), what="SIGTERM to the command")
    # What it printed on its way out is published too.
    wait_for(lambda: [data(e) for e in sink.at("/got")] == ["up", "last words"],
             what="its last words")
    wait_for(lambda: not source_status(rt, "long")["running"], what="the source stopped")
    assert admin_call(rt, "POST", "/admin/v3/sources/public/default/long/start")[0] == 204
    wait_for(lambda: [data(e) for e in sink.at("/got")] == ["up", "last words", "up"],
             what="the command running again")
    code, body = admin_call(rt, "GET", "/admin/v3/sources/public/default/long")
    assert (code, body["kind"], body["command"]) == (200, "ContainerSource", ["./long.sh"])


SDK_SENDER = """#!{python}
# Sends one event to K_SINK with the CloudEvents SDK, applying K_CE_OVERRIDES, as a container
# under SinkBinding does; prints the answer's status to stderr, then waits.
import json, os, time, urllib.request
from cloudevents.v1.conversion import to_binary
from cloudevents.v1.http import CloudEvent

attributes = {{"type": "sdk.sent", "source": "/sdk", "id": "sdk-1"}}
attributes.update(json.loads(os.environ.get("K_CE_OVERRIDES", "{{}}")).get("extensions", {{}}))
headers, body = to_binary(CloudEvent(attributes, {{"via": "K_SINK"}}))
if "SHFN_TOKEN" in os.environ:  # shfn run asks for tokens
    headers["Authorization"] = "Bearer " + os.environ["SHFN_TOKEN"]
request = urllib.request.Request(os.environ["K_SINK"], data=body, headers=headers, method="POST")
with urllib.request.urlopen(request, timeout=30) as answer:
    print("K_SINK answered", answer.status, flush=True, file=__import__("sys").stderr)
time.sleep(1000)
"""


def test_a_command_sends_to_k_sink_with_the_sdk(make_spec, runtimes, sink):
    sender = SDK_SENDER.format(python=sys.executable)
    spec = make_spec(text=broker_to(sink.url) + command_source("sdk", ["./sender.py"]),
                     topics=["events"], scripts={"sender.py": sender})
    rt = runtimes(spec, *INGRESS)
    wait_for(lambda: len(sink.at("/got")) == 1, what="the event the command sent")
    [event] = sink.at("/got")
    assert (event["id"], event["type"], event["team"], event.data) == (
        "sdk-1", "sdk.sent", "core", {"via": "K_SINK"})
    wait_for(lambda: "source sdk: K_SINK answered 202" in rt.stderr(), what="the 202 in the log")


def test_with_tokens_the_command_gets_one_for_k_sink(make_spec, runtimes, sink, workdir):
    key_file, _ = new_secret(workdir, "admin")
    sender = SDK_SENDER.format(python=sys.executable)
    spec = make_spec(text=broker_to(sink.url) + command_source("sdk", ["./sender.py"]),
                     topics=["events"], scripts={"sender.py": sender})
    rt = runtimes(spec, *INGRESS, "--token-secret-file", key_file)
    wait_for(lambda: len(sink.at("/got")) == 1, what="the event the command sent")
    wait_for(lambda: "source sdk: K_SINK answered 202" in rt.stderr(), what="the 202 in the log")


def test_a_uri_sink_is_k_sink_itself(make_spec, runtimes, sink):
    """Without a Broker there is no ingress unless asked: K_SINK is the uri, and the lines the
    command prints reach it through shfn."""
    sender = SDK_SENDER.format(python=sys.executable).replace(
        'time.sleep(1000)', 'print("a line")\ntime.sleep(1000)')
    spec = make_spec(text=command_source("direct", ["./sender.py"],
                                         sink=f"uri: '{sink.url}/direct'"),
                     scripts={"sender.py": sender})
    runtimes(spec)
    wait_for(lambda: len(sink.at("/direct")) == 2, what="the posted event and the line's")
    by_type = {e["type"]: e for e in sink.at("/direct")}
    assert by_type["sdk.sent"].data == {"via": "K_SINK"}
    assert data(by_type["dev.shfn.line"]) == "a line"


def test_a_command_that_cannot_run_stops_shfn_run_with_a_clear_error(make_spec, runtimes,
                                                                      workdir):
    spec = make_spec(text=command_source("nothing", ["./missing.sh"], sink="topic: out"))
    rt = runtimes(spec, wait_ready=False)
    assert rt.proc.wait(timeout=60) != 0
    missing = os.path.join(workdir, "missing.sh")
    log = rt.stderr()
    assert f"source nothing: cannot run {missing}: No such file or directory" in log
    assert "could not start (No such file or directory); the error logged above says what" in log
