"""The flows and sources APIs on `shfn run`'s admin port (/admin/v3/flows|sources/public/default),
the functions API's siblings, through `shfn flows` and `shfn sources` and, for sources, Pulsar's
own pulsar-admin: list, get, status, trigger (flows), create and update from a spec file (scripts uploaded with
it), delete, stop and start, all kept across a restart."""
import json
import os

from conftest import wait_for
from test_functions_api import UPPER, kept_args, pulsar_shell, shfn_cli

SEQ = """kind: Function
metadata: {name: step}
spec:
  script: ./bin/step.sh
---
kind: Sequence
metadata: {name: seq}
spec:
  ingress: seq-in
  steps:
    - ref: {kind: Function, name: step}
  reply: {topic: seq-out}
"""

TICK = """kind: PingSource
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  data: tock
  sink: {topic: ticks}
"""

# Virtual time: a minute passes in a tenth of a second, so the source ticks while the test runs.
FAST_CLOCK = {"SHFN_CLOCK": "2026-12-06T00:00:00Z*600"}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def test_flows_and_sources_are_made_run_and_removed_through_the_api(make_spec, runtimes,
                                                                    clients, workdir):
    spec = make_spec(text=UPPER, topics=["in", "out", "fan-in"])
    names = {t: spec.topic(t) for t in ("seq-in", "seq-out", "ticks")}
    flow_dir, source_dir = os.path.join(workdir, "seq"), os.path.join(workdir, "tick")
    seq_yaml, tick_yaml = os.path.join(flow_dir, "seq.yaml"), os.path.join(source_dir, "tick.yaml")
    text = SEQ
    for local, unique in names.items():
        text = text.replace(local, unique)
    write(seq_yaml, text)
    write(os.path.join(flow_dir, "bin", "step.sh"), "#!/bin/sh\ntr a-z A-Z\n")
    write(tick_yaml, TICK.replace("ticks", names["ticks"]))
    rt = runtimes(spec, *kept_args(workdir), env=FAST_CLOCK)
    c = clients(rt)
    flows = lambda *a: shfn_cli(rt, "flows", *a)  # noqa: E731
    sources = lambda *a: shfn_cli(rt, "sources", *a)  # noqa: E731

    # The spec file's Parallel, as the API shows it.
    assert flows("list").stdout == "fan\n"
    fan = json.loads(flows("get", "fan").stdout)
    assert (fan["kind"], fan["definedIn"]) == ("Parallel", f"{spec.path}:9")
    assert [s["name"] for s in fan["stages"]] == ["fan-branch-0-filter", "fan-branch-0-subscriber"]
    assert fan["stages"][1]["command"] == ["bash", "-c", "cat", "fan-branch-0-subscriber"]
    assert flows("status", "fan").stdout.startswith("fan: ")

    # A Sequence created from its file, its script uploaded.
    r = flows("create", "-f", seq_yaml)
    assert (r.returncode, r.stdout) == (0, "seq: created\n"), r.stderr
    assert sorted(flows("list").stdout.split()) == ["fan", "seq"]
    c.produce(names["seq-in"], "abc")
    assert [m["payload"] for m in c.consume_json(names["seq-out"], 1)] == ["ABC"]
    assert flows("status", "seq").stdout.startswith("seq: 1 of 1 stage(s) running\n")
    r = flows("trigger", "seq", "--trigger-value", "poke")  # from its ingress to its reply
    assert (r.returncode, r.stdout) == (0, "POKE\n"), r.stderr
    r = flows("trigger", "fan", "--trigger-value", "poke")
    assert r.returncode == 1 and "400 Flow fan replies to no topic" in r.stderr
    r = flows("create", "-f", seq_yaml)
    assert r.returncode == 1 and r.stderr.strip().endswith("400 Flow seq already exists")

    # A source created from its file ticks into its sink.
    r = sources("create", "-f", tick_yaml)
    assert (r.returncode, r.stdout) == (0, "tick: created\n"), r.stderr
    ticks = c.consume_json(names["ticks"], 2)
    assert [(m["payload"], m["properties"]["ce_type"]) for m in ticks] == \
        [("tock", "dev.knative.sources.ping")] * 2
    assert sources("status", "tick").stdout.startswith("tick: running, ")

    # pulsar-admin reads the sources API.
    shell = ["sources list --tenant public --namespace default",
             "sources status --tenant public --namespace default --name tick"]
    out = pulsar_shell(rt.http, shell)
    assert json.loads(out[shell[0]]) == ["tick"]
    assert json.loads(out[shell[1]])["numRunning"] == 1

    # Stopped, both stay stopped across a restart; what was made is still there.
    assert sources("stop", "tick").returncode == 0
    assert flows("stop", "seq").returncode == 0
    wait_for(lambda: sources("status", "tick").stdout.startswith("tick: stopped"),
             what="the source to stop")
    wait_for(lambda: flows("status", "seq").stdout.startswith("seq: 0 of 1"),
             what="the flow to stop")
    assert rt.terminate() == 0
    rt = runtimes(spec, *kept_args(workdir), env=FAST_CLOCK)
    assert sorted(flows("list").stdout.split()) == ["fan", "seq"]
    assert sources("status", "tick").stdout.startswith("tick: stopped")
    assert flows("status", "seq").stdout.startswith("seq: 0 of 1")
    assert flows("start", "seq").returncode == 0
    wait_for(lambda: flows("status", "seq").stdout.startswith("seq: 1 of 1"),
             what="the flow to start")

    # Updated from the file: a new script.
    write(os.path.join(flow_dir, "bin", "step.sh"), "#!/bin/sh\nrev\n")
    r = flows("update", "-f", seq_yaml)
    assert (r.returncode, r.stdout) == (0, "seq: updated\n"), r.stderr
    c = clients(rt)
    c.produce(names["seq-in"], "xyz")
    assert [m["payload"] for m in c.consume_json(names["seq-out"], 3)] == ["ABC", "POKE", "zyx"]

    # What a spec file defines is changed there; what the API made goes.
    r = flows("delete", "fan")
    assert r.returncode == 1 and f"400 Flow fan is defined in {spec.path}:" in r.stderr
    r = shfn_cli(rt, "functions", "delete", "step")
    assert r.returncode == 1 and "400 Function step is defined in" in r.stderr
    assert flows("delete", "seq").stdout == "seq: deleted\n"
    assert sources("delete", "tick").stdout == "tick: deleted\n"
    assert flows("list").stdout == "fan\n" and sources("list").stdout == ""
    assert rt.terminate() == 0
    rt = runtimes(spec, *kept_args(workdir), env=FAST_CLOCK)
    assert flows("list").stdout == "fan\n" and sources("list").stdout == ""
