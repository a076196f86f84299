"""Scripts that misbehave, payloads that are not text, specs that are wrong: each gets a clear
outcome, and the runtime loses nothing and keeps going."""
import os
import signal
import socket
import subprocess

import pulsar
import pytest

from conftest import _env, wait_for

MISBEHAVING = r"""#!/usr/bin/env bash
# What to do is chosen by the message key, so that some cases never read stdin.
case "$SHFN_KEY" in
  cat) exec cat ;;
  ignore-stdin) echo done ;;
  flood) head -c 100000000 /dev/zero ;;
  exit137) exit 137 ;;
  close-stdout) exec 1>&-; echo "stdout closed" >&2; exit 0 ;;
  background) sleep 6543 & echo "$!" > "$PID_FILE"; echo bg ;;
  hang) trap '' TERM; sleep 30 ;;
  garbage) printf '\x00\xff\xfe\x80' ;;
  *) echo "unknown key $SHFN_KEY" >&2; exit 2 ;;
esac
"""

SPEC = """kind: Function
metadata:
  name: misbehaving
spec:
  script: misbehaving.sh
  inputs: [in]
  output: out
  deadLetterTopic: dlq
  maxMessageRetries: 0
  timeoutMs: 1500
  killGraceMs: 300
  maxOutputBytes: 4194304
  env:
    PID_FILE: {pid_file}
"""


def test_misbehaving_scripts_and_binary_payloads(make_spec, runtimes, clients, workdir):
    pid_file = os.path.join(workdir, "background.pid")
    spec = make_spec(text=SPEC.format(pid_file=pid_file), topics=["in", "out", "dlq"],
                     scripts={"misbehaving.sh": MISBEHAVING})
    rt = runtimes(spec)
    c = clients(rt)
    dlq = c.py.subscribe(spec.topic("dlq"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    producer = c.py.create_producer(spec.topic("in"), batching_enabled=False)
    binary = [bytes(range(256)), b"\xff\xfe not utf-8 \x00 with NUL", os.urandom(1 << 20)]
    for payload in binary:
        producer.send(payload, partition_key="cat")
    cases = {"ignore-stdin": os.urandom(2 << 20), "flood": b"x", "exit137": b"x",
             "close-stdout": b"x", "background": b"x", "hang": b"x", "garbage": b"x"}
    for key, payload in cases.items():
        producer.send(payload, partition_key=key)

    outputs = {}
    for _ in range(len(binary) + 3):  # cat x3, ignore-stdin, background, garbage
        m = out.receive(timeout_millis=30000)
        outputs.setdefault(m.partition_key(), []).append(m.data())
        out.acknowledge(m)
    assert outputs["cat"] == binary  # byte-exact, in order (one at a time: parallelism 1)
    assert outputs["ignore-stdin"] == [b"done\n"]
    assert outputs["background"] == [b"bg\n"]
    assert outputs["garbage"] == [b"\x00\xff\xfe\x80"]

    failures = {}
    for _ in range(3):
        m = dlq.receive(timeout_millis=30000)
        failures[m.partition_key()] = m.properties()
    assert failures["flood"]["SHFN_FAILURE"] == "output_too_large"
    assert failures["exit137"]["SHFN_EXIT_CODE"] == "137"
    assert failures["hang"]["SHFN_FAILURE"] == "timeout"

    # The background child that held stdout open was killed with its process group.
    pid = int(open(pid_file).read())
    wait_for(lambda: not _alive(pid), what=f"background child {pid} to die")
    # close-stdout succeeded without output; everything was acked. The dead-letter count
    # rises when the runtime reads the broker's receipt, which may come after the dead-letter
    # consumer above already has the message: wait until the counts are exactly these.
    counts = ("processedSuccessfully", "userExceptions", "deadLettered")
    expected = {"processedSuccessfully": 7, "userExceptions": 3, "deadLettered": 3}
    wait_for(lambda: {k: rt.instance("misbehaving")[k] for k in counts} == expected,
             what=f"the status counts {expected}")
    assert rt.terminate() == 0
    assert "stdout closed" in rt.stderr()  # a script's stderr line, in the runtime's own log


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_spec_errors_name_file_line_and_field(workdir):
    spec = os.path.join(workdir, "bad.yaml")
    with open(spec, "w") as f:
        f.write("kind: Function\nmetadata:\n  name: bad\nspec:\n  script: missing.sh\n"
                "  inputs: [in]\n  timeoutMs: soon\n")
    r = subprocess.run([_env("SHFN_BIN"), "run", spec, "--admin", "off"], capture_output=True,
                       timeout=30, cwd=workdir)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"{spec}:5:" in err and "script" in err and "missing.sh" in err
    assert f"{spec}:7:" in err and "timeoutMs" in err
    assert not os.path.exists(os.path.join(workdir, "shfn-data"))  # failed before starting


def test_non_executable_script_is_refused(workdir):
    script = os.path.join(workdir, "plain.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\ncat\n")
    os.chmod(script, 0o644)
    spec = os.path.join(workdir, "spec.yaml")
    with open(spec, "w") as f:
        f.write("kind: Function\nmetadata:\n  name: plain\nspec:\n  script: plain.sh\n"
                "  inputs: [in]\n")
    r = subprocess.run([_env("SHFN_BIN"), "validate", spec], capture_output=True, timeout=30)
    assert r.returncode == 1
    assert f"{spec}:5:" in r.stderr.decode() and "executable" in r.stderr.decode()


def test_the_mode_is_said_and_embedded_flags_with_a_remote_broker_are_refused(
        workdir, make_spec, runtimes):
    spec = os.path.join(workdir, "cat.yaml")
    with open(spec, "w") as f:
        f.write("kind: Function\nmetadata:\n  name: cat\nspec:\n  command: [cat]\n"
                "  inputs: [in]\n")
    # An exported SHFN_URL turns the embedded broker off; its flags would be ignored: refused.
    env = dict(os.environ, SHFN_URL="pulsar://127.0.0.1:1")
    r = subprocess.run([_env("SHFN_BIN"), "run", spec, "--data-dir", "elsewhere", "--admin", "off"],
                       capture_output=True, timeout=30, cwd=workdir, env=env)
    assert r.returncode == 2, r.stderr.decode()
    assert "--data-dir" in r.stderr.decode() and "SHFN_URL" in r.stderr.decode()
    assert not os.path.exists(os.path.join(workdir, "elsewhere"))
    # Otherwise one line says which broker it uses and why.
    rt = runtimes(make_spec(text=open(spec).read(), topics=("in",)))
    if hasattr(rt, "data_dir"):
        assert "starting the embedded broker" in rt.stderr(), rt.stderr()
    else:
        assert "using the broker at" in rt.stderr() and "(from --url)" in rt.stderr()


def test_sigterm_stops_a_runtime_that_never_reached_its_broker(workdir):
    """With the broker unreachable, start-up keeps retrying; SIGTERM must still end it, log
    shipper and all."""
    spec = os.path.join(workdir, "logged.yaml")
    with open(spec, "w") as f:
        f.write("kind: Function\nmetadata:\n  name: logged\nspec:\n  command: [cat]\n"
                "  inputs: [in]\n  output: out\n  logTopic: logs\n")
    # A port that is bound but not listening: every connection is refused, whoever runs here.
    unreachable = socket.socket()
    unreachable.bind(("127.0.0.1", 0))
    url = f"pulsar://127.0.0.1:{unreachable.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k != "SHFN_URL"}
    proc = subprocess.Popen([_env("SHFN_BIN"), "run", spec, "--url", url, "--admin", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir, env=env)
    try:
        wait_for(lambda: b"retrying" in proc.stderr.read1(), what="a retry line")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        unreachable.close()


ESCAPING = r"""#!/usr/bin/env bash
# A child that leaves the script's process group (and session): the group kill misses it.
setsid sleep 6543 < /dev/null > /dev/null 2>&1 &
child=$!
# Only once it leads a session of its own has it escaped: wait for that.
until [ "$(cut -d' ' -f6 "/proc/$child/stat")" = "$child" ]; do sleep 0.01; done
echo "$child" > "$PID_FILE"
echo escaped
"""


def test_a_process_that_leaves_the_scripts_group_is_killed_when_the_script_ends(
        make_spec, runtimes, clients, workdir):
    pid_file = os.path.join(workdir, "escaped.pid")
    spec = make_spec(text=f"""kind: Function
metadata:
  name: escaping
spec:
  script: escaping.sh
  inputs: [in]
  output: out
  env:
    PID_FILE: {pid_file}
""", topics=["in", "out"], scripts={"escaping.sh": ESCAPING})
    rt = runtimes(spec)
    c = clients(rt)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    c.py.create_producer(spec.topic("in")).send(b"go")
    assert out.receive(timeout_millis=30000).data() == b"escaped\n"
    pid = int(open(pid_file).read())
    wait_for(lambda: not _alive(pid), what=f"escaped process {pid} to be killed")
    assert f"killing process {pid}" in rt.stderr()
    assert rt.terminate() == 0
