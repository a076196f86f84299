"""`shfn run` with several spec files, and what it says when a port it needs is taken."""
import os
import socket
import subprocess

import pytest

from conftest import UPPER, _env, standalone

# Its script and its flow's command are relative to its own directory, not the first file's.
MARKED = """kind: Function
metadata:
  name: marked
spec:
  script: mark.sh
  inputs: [in{s}]
  output: marked{s}
---
kind: Sequence
metadata:
  name: twice
spec:
  ingress: seq-in{s}
  steps:
    - ref: {{kind: Function, name: marked}}
    - command: ["./mark.sh"]
  reply: {{topic: seq-out{s}}}
"""


def write_other_spec(spec, text, name):
    """`text` as spec file `name` in a directory of its own, with mark.sh; {s} in it becomes the
    first spec's topic suffix."""
    directory = os.path.join(spec.directory, "other")
    os.makedirs(directory, exist_ok=True)
    script = os.path.join(directory, "mark.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nsed 's/$/!/'\n")
    os.chmod(script, 0o755)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text.format(s=spec.suffix))
    return path


def test_one_run_takes_several_spec_files(make_spec, runtimes, clients):
    spec = make_spec(text=UPPER, topics=["in", "out"])
    other = write_other_spec(spec, MARKED, "marked.yaml")
    rt = runtimes(spec, other)
    names = sorted({i["function"] for i in rt.status()["instances"]})
    assert names == ["marked", "twice-step-0", "twice-step-1", "upper"]
    c = clients(rt)
    c.produce(spec.topic("in"), "hello")
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 1)] == ["HELLO"]
    assert [m["payload"] for m in c.consume_json(spec.topic("marked"), 1)] == ["hello!"]
    c.produce(spec.topic("seq-in"), "seq")
    replies = c.consume_json(spec.topic("seq-out"), 1)
    assert [m["payload"] for m in replies] == ["seq!!"]


def test_a_name_used_in_two_files_is_refused_with_both_places(make_spec, workdir):
    spec = make_spec(text=UPPER, topics=["in", "out"])
    other = write_other_spec(spec, "kind: Function\nmetadata: {{name: upper}}\n"
                             "spec: {{command: cat, inputs: [x{s}]}}\n", "again.yaml")
    r = subprocess.run([_env("SHFN_BIN"), "run", spec.path, other, "--admin", "off"],
                       capture_output=True, timeout=30, cwd=workdir)
    assert r.returncode == 1
    assert r.stderr.decode() == (f'{other}:1:1: upper.metadata.name: duplicate name "upper" '
                                 f"(first used at {spec.path}:1)\n")
    assert not os.path.exists(os.path.join(workdir, "shfn-data"))  # refused before starting


def run_with_taken_port(spec, workdir, *args):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([_env("SHFN_BIN"), "run", spec.path,
                            *[a.replace("PORT", str(port)) for a in args]],
                           capture_output=True, timeout=60, cwd=workdir)
    return port, r


def test_a_taken_admin_port_says_how_to_get_another(make_spec, workdir):
    spec = make_spec(text=UPPER, topics=["in", "out"])
    broker = (["--url", _env("PULSAR_URL"), "--token", os.environ.get("PULSAR_TOKEN", "")]
              if standalone() else ["--listen", "127.0.0.1:0", "--data-dir", "data"])
    port, r = run_with_taken_port(spec, workdir, "--admin", "127.0.0.1:PORT", *broker)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"cannot serve the admin API on 127.0.0.1:{port}" in err, err
    assert "--admin 127.0.0.1:0" in err and "--admin off" in err, err


def test_a_taken_broker_port_says_how_to_get_another(make_spec, workdir):
    if standalone():
        pytest.skip("with --url there is no embedded broker to listen")
    spec = make_spec(text=UPPER, topics=["in", "out"])
    port, r = run_with_taken_port(spec, workdir, "--listen", "127.0.0.1:PORT", "--admin", "off",
                                  "--data-dir", "data")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"cannot start the embedded broker on 127.0.0.1:{port}" in err, err
    assert "--listen 127.0.0.1:0" in err and "--url" in err, err
