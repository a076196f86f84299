"""Pulsar's functions API on `shfn run`'s admin port (/admin/v3/functions/public/default/...):
list, get, status, stats, create, update, delete, stop, start, restart and trigger, over HTTP,
through Pulsar's own pulsar-admin (pulsar-client-tools from Maven Central, in pulsar-shell) and
through `shfn functions`. What the API creates, and what it stops, outlives a restart."""
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request

from conftest import ROOT, _env, standalone, wait_for
from conftest import admin_call as call
from test_reload import LOADED, assert_all_once, send_steadily
from tokens import hs256_token, new_secret

UPPER = """kind: Function
metadata: {name: upper}
spec:
  command: ["tr", "a-z", "A-Z"]
  inputs: [in]
  output: out
  userConfig: {greeting: hi}
---
kind: Parallel
metadata: {name: fan}
spec:
  ingress: fan-in
  branches:
    - subscriber: {command: cat}
"""

API = "/admin/v3/functions/public/default"


def running(rt):
    return call(rt, "GET", f"{API}/upper/status")[1]["numRunning"]


def test_the_functions_api_lists_shows_and_controls_functions(make_spec, runtimes, clients):
    spec = make_spec(text=UPPER, topics=["in", "out", "fan-in"])
    rt = runtimes(spec)
    c = clients(rt)
    # Flow stages are not Functions.
    assert call(rt, "GET", API) == (200, ["upper"])
    assert call(rt, "GET", "/admin/v3/functions/other/ns") == (200, [])
    status, config = call(rt, "GET", f"{API}/upper")
    assert status == 200
    assert config["inputs"] == [f"persistent://public/default/{spec.topic('in')}"]
    assert config["output"] == f"persistent://public/default/{spec.topic('out')}"
    assert config["userConfig"] == {"greeting": "hi"} and config["command"] == ["tr", "a-z", "A-Z"]

    c.produce(spec.topic("in"), "one")
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 1)] == ["ONE"]
    status = call(rt, "GET", f"{API}/upper/status")[1]
    assert (status["numInstances"], status["numRunning"]) == (1, 1)
    assert status["instances"][0]["status"]["numSuccessfullyProcessed"] == 1
    stats = call(rt, "GET", f"{API}/upper/stats")[1]
    assert stats["receivedTotal"] == 1 and stats["processedSuccessfullyTotal"] == 1
    # The last minute's growth (Pulsar's oneMin), its rates, and the latency quantiles.
    assert stats["oneMin"]["receivedTotal"] == 1
    instance = stats["instances"][0]["metrics"]
    assert instance["oneMin"]["processedSuccessfullyTotal"] == 1
    assert instance["ratesPerSecond"]["received"] > 0 < instance["ratesPerSecond"]["overSeconds"]
    latency = instance["processLatencyMs"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p999"]

    # Stopped, it takes nothing; started again, it takes what waited.
    assert call(rt, "POST", f"{API}/upper/stop")[0] == 204
    wait_for(lambda: running(rt) == 0, what="the function to stop")
    c.produce(spec.topic("in"), "two")
    assert call(rt, "POST", f"{API}/upper/start")[0] == 204
    wait_for(lambda: running(rt) == 1, what="the function to start")
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 2)] == ["ONE", "TWO"]
    assert call(rt, "POST", f"{API}/upper/restart")[0] == 204
    wait_for(lambda: "upper: started (API)" in rt.stderr().split("upper: stopped")[-1],
             what="the restart")

    status, body = call(rt, "GET", f"{API}/nope")
    assert status == 404 and body["reason"] == "Function nope doesn't exist"
    # A trigger takes a form, as pulsar-admin sends it; anything else is refused.
    request = urllib.request.Request(rt.http + f"{API}/upper/trigger", data=b'{"data": "x"}',
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("a JSON trigger was taken")
    except urllib.error.HTTPError as e:
        assert e.code == 415 and "application/json" in json.loads(e.read())["reason"]
    request = urllib.request.Request(rt.http + f"{API}/upper/trigger", data=b"data=abc",
                                     method="POST")  # urllib: x-www-form-urlencoded
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.read() == b"ABC"
    # A Function of a spec file is changed there, not through the API.
    status, body = call(rt, "DELETE", f"{API}/upper")
    assert status == 400 and body["reason"] == f"Function upper is defined in {spec.path}:1: " \
        "change it there and reload (SIGHUP)"
    assert running(rt) == 1


def pulsar_shell(admin_url, commands):
    """Runs pulsar-admin `commands` in one pulsar-shell; [(command, output)]."""
    lib = subprocess.run(["bash", os.path.join(ROOT, "scripts", "setup-pulsar.sh")],
                         capture_output=True, text=True, timeout=1200, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="shfn-functions-api-") as tmp:
        conf = os.path.join(tmp, "client.conf")
        with open(conf, "w") as f:
            f.write(f"webServiceUrl={admin_url}\nbrokerServiceUrl=pulsar://127.0.0.1:1\n")
        script = os.path.join(tmp, "script")
        with open(script, "w") as f:
            f.write("".join(f"admin {c}\n" for c in commands))
        r = subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-cp", os.path.join(lib, "*"),
                            "org.apache.pulsar.shell.PulsarShell", "-c", conf, "-np", "-f", script],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300, cwd=tmp, env=dict(os.environ, HOME=tmp))
    output = re.sub(r"\nGoodbye!\n?$", "\n", r.stdout)  # pulsar-shell's last line
    sections = re.split(r"^\[\d+/\d+\] Executing admin (.*)$", output, flags=re.M)
    got = [(sections[i].strip(), sections[i + 1].strip()) for i in range(1, len(sections) - 1, 2)]
    assert [c for c, _ in got] == commands, r.stdout
    return dict(got)


def test_pulsar_admin_manages_shfn_functions(make_spec, runtimes, clients):
    spec = make_spec(text=UPPER, topics=["in", "out", "fan-in"])
    rt = runtimes(spec)
    clients(rt).produce(spec.topic("in"), "counted")
    wait_for(lambda: call(rt, "GET", f"{API}/upper/stats")[1]["processedSuccessfullyTotal"] == 1,
             what="the message to be processed")
    names = "--tenant public --namespace default --name upper"
    out = pulsar_shell(rt.http, ["functions list --tenant public --namespace default",
                                 f"functions get {names}", f"functions status {names}",
                                 f"functions stats {names}", f"functions stop {names}",
                                 f"functions start {names}", f"functions restart {names}",
                                 "functions get --tenant public --namespace default --name nope"])
    wait_for(lambda: running(rt) == 1, what="the function to run again")
    trigger = f"functions trigger {names} --trigger-value hey"
    assert pulsar_shell(rt.http, [trigger])[trigger] == "HEY"
    assert out["functions list --tenant public --namespace default"] == "upper"
    config = json.loads(out[f"functions get {names}"])
    assert config["name"] == "upper" and config["processingGuarantees"] == "ATLEAST_ONCE"
    status = json.loads(out[f"functions status {names}"])
    assert status["numRunning"] == 1
    assert status["instances"][0]["status"]["numSuccessfullyProcessed"] == 1
    assert json.loads(out[f"functions stats {names}"])["receivedTotal"] == 1
    assert out[f"functions stop {names}"] == "Stopped successfully"
    assert out[f"functions start {names}"] == "Started successfully"
    assert out[f"functions restart {names}"] == "Restarted successfully"
    assert "Function nope doesn't exist" in out[
        "functions get --tenant public --namespace default --name nope"]


LOGGED = """kind: Function
metadata: {name: logged}
spec:
  command: 'read -r x; echo "saw $x" >&2; echo "$x"'
  inputs: [in]
  output: out
  logTopic: log
"""


def shfn_cli(rt, *args, env=None):
    return subprocess.run([_env("SHFN_BIN"), *args, "--admin-url", rt.http], capture_output=True,
                          text=True, timeout=60, env=env)


def test_shfn_functions_is_the_apis_command_line(make_spec, runtimes, clients):
    spec = make_spec(text=LOGGED, topics=["in", "out", "log"])
    rt = runtimes(spec)
    c = clients(rt)
    c.produce(spec.topic("in"), "x1")
    assert [m["payload"] for m in c.consume_json(spec.topic("out"), 1)] == ["x1\n"]

    r = shfn_cli(rt, "functions", "list")
    assert (r.returncode, r.stdout) == (0, "logged\n")
    wait_for(lambda: "processed 1," in shfn_cli(rt, "functions", "status", "logged").stdout,
             what="the status to count the message")
    r = shfn_cli(rt, "functions", "status", "logged")
    assert r.stdout.startswith("logged: 1 of 1 instance(s) running\n  instance 0: running, "
                               "received 1, processed 1, failed 0, backlog "), r.stdout
    assert json.loads(shfn_cli(rt, "functions", "stats", "logged").stdout)["receivedTotal"] == 1
    assert json.loads(shfn_cli(rt, "functions", "get", "logged").stdout)["logTopic"].endswith(
        spec.topic("log"))

    r = shfn_cli(rt, "functions", "stop", "logged")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "0 of 1 instance(s) running" in
             shfn_cli(rt, "functions", "status", "logged").stdout, what="the stop")
    assert shfn_cli(rt, "functions", "start", "logged").returncode == 0
    wait_for(lambda: "1 of 1 instance(s) running" in
             shfn_cli(rt, "functions", "status", "logged").stdout, what="the start")

    # logs: the log topic's lines, each naming its function.
    env = dict(os.environ, SHFN_URL=rt.url, SHFN_TOKEN=rt.token)
    r = shfn_cli(rt, "functions", "logs", "logged", "--quiet-seconds", "1", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(re.match(r"^INFO \[logged/0\] \S+: saw x1$", line) for line in lines), lines
    assert all(line.split(" ")[1] == "[logged/0]" for line in lines), lines

    # trigger: one value in, its output back.
    r = shfn_cli(rt, "functions", "trigger", "logged", "--trigger-value", "poke")
    assert (r.returncode, r.stdout) == (0, "poke\n"), r.stderr
    r = shfn_cli(rt, "functions", "trigger", "logged", "--trigger-value", "x", "--topic", "elsewhere")
    assert r.returncode == 1 and "elsewhere is not an input of Function logged" in r.stderr
    assert shfn_cli(rt, "functions", "trigger", "logged").returncode == 2

    if standalone():  # shfn run --url without --functions-dir: nowhere to keep a new Function
        other = os.path.join(rt.workdir, "other.yaml")
        with open(other, "w") as f:
            f.write(LOGGED.replace("name: logged", "name: other"))
        r = shfn_cli(rt, "functions", "create", "-f", other)
        assert r.returncode == 1 and "501 a Function made through the API is kept in a " \
            "directory, and shfn run --url has none: give it --functions-dir" in r.stderr

    r = shfn_cli(rt, "functions", "status", "nope")
    assert r.returncode == 1
    assert r.stderr.strip() == f"shfn: functions API at {rt.http}: 404 Function nope doesn't exist"


REV = "#!/bin/sh\necho reversing >&2\nrev\n"
UP = "#!/bin/sh\ntr a-z A-Z\n"


def kept_args(workdir):
    """shfn run --url keeps what the API creates only where told; the embedded broker's runs
    keep it in their data directory."""
    return ["--functions-dir", os.path.join(workdir, "kept")] if standalone() else []


def test_pulsar_admin_creates_updates_and_deletes_functions(make_spec, runtimes, workdir):
    spec = make_spec(text=UPPER, topics=["in", "out", "fan-in", "rin", "rout"],
                     scripts={"rev.sh": REV, "up.sh": UP})
    rt = runtimes(spec, *kept_args(workdir))
    rin, rout = spec.topic("rin"), spec.topic("rout")
    rv = "--tenant public --namespace default --name rv"
    rev, up = os.path.join(workdir, "rev.sh"), os.path.join(workdir, "up.sh")
    commands = [f"functions create {rv} --go {rev} --inputs {rin} --output {rout}",
                f"functions trigger {rv} --trigger-value abc",
                f"functions update {rv} --go {up}",
                f"functions trigger {rv} --trigger-value xyz",
                f"functions create {rv} --go {rev} --inputs {rin}",
                f"functions create {rv}2 --py {rev} --classname x --inputs {rin}",
                f"functions delete {rv}",
                "functions list --tenant public --namespace default",
                "functions delete --tenant public --namespace default --name upper"]
    out = pulsar_shell(rt.http, commands)  # answers by command: each said once
    assert out[commands[0]] == "Created successfully"
    assert out[commands[1]] == "cba"
    assert out[commands[2]] == "Updated successfully"
    assert out[commands[3]] == "XYZ"  # the new script, the old settings
    assert "Function rv already exists" in out[commands[4]]
    assert "shfn run runs executables, not Java or Python functions" in out[commands[5]]
    assert out[commands[6]] == "Deleted successfully"
    assert out[commands[7]] == "upper"
    assert "Function upper is defined in" in out[commands[8]]
    assert running(rt) == 1
    log = rt.stderr()
    assert "function rv: created (API)" in log and "function rv: deleted (API)" in log


RV = """kind: Function
metadata: {name: rv}
spec:
  script: ./rev.sh
  inputs: [rin]
  output: rout
  logTopic: rlog
"""


def test_what_the_api_creates_and_stops_outlives_a_restart(make_spec, runtimes, workdir):
    spec = make_spec(text=UPPER, topics=["in", "out", "fan-in", "rin", "rout", "rlog"],
                     scripts={"rev.sh": REV})
    rv_path = os.path.join(workdir, "rv.yaml")
    with open(rv_path, "w") as f:
        f.write(RV.replace("rin", spec.topic("rin")).replace("rout", spec.topic("rout"))
                .replace("rlog", spec.topic("rlog")))
    rt = runtimes(spec, *kept_args(workdir))
    cli = lambda *a: shfn_cli(rt, "functions", *a)  # noqa: E731
    r = cli("create", "-f", rv_path)
    assert (r.returncode, r.stdout) == (0, "rv: created\n"), r.stderr
    assert cli("trigger", "rv", "--trigger-value", "abc").stdout == "cba\n"
    assert cli("create", "-f", rv_path).stderr.strip().endswith("400 Function rv already exists")

    # logs -f prints what comes while it runs, and ends on SIGINT.
    env = dict(os.environ, SHFN_URL=rt.url, SHFN_TOKEN=rt.token)
    follow = subprocess.Popen([_env("SHFN_BIN"), "functions", "logs", "rv", "-f", "--admin-url",
                               rt.http], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    watchdog = threading.Timer(60, follow.kill)  # a line that never comes fails, not hangs
    watchdog.start()

    def next_reversing():
        for line in follow.stdout:
            assert line.startswith("INFO [rv/0] "), line
            if re.match(r"^INFO \[rv/0\] \S+: reversing$", line):
                return True
        return False

    try:
        assert next_reversing()
        assert cli("trigger", "rv", "--trigger-value", "def").stdout == "fed\n"
        assert next_reversing()
        follow.send_signal(signal.SIGINT)
        assert follow.wait(timeout=30) == 0, follow.stderr.read()
    finally:
        watchdog.cancel()
        follow.kill()

    assert cli("stop", "upper").returncode == 0
    wait_for(lambda: running(rt) == 0, what="upper to stop")
    assert rt.terminate() == 0

    # Restarted: rv is back, running; upper stays stopped until started.
    rt = runtimes(spec, *kept_args(workdir))
    assert cli("list").stdout.splitlines() == ["upper", "rv"]
    assert running(rt) == 0
    assert cli("trigger", "rv", "--trigger-value", "xyz").stdout == "zyx\n"
    assert cli("start", "upper").returncode == 0
    wait_for(lambda: running(rt) == 1, what="upper to start")

    # An update from the file: what it leaves out goes back to its default.
    with open(rv_path) as f:
        text = f.read()
    with open(rv_path, "w") as f:
        f.write(text.replace("script: ./rev.sh", "command: [tr, a-z, A-Z]")
                .replace(f"  logTopic: {spec.topic('rlog')}\n", ""))
    r = cli("update", "-f", rv_path)
    assert (r.returncode, r.stdout) == (0, "rv: updated\n"), r.stderr
    assert "logTopic" not in json.loads(cli("get", "rv").stdout)
    assert cli("trigger", "rv", "--trigger-value", "abc").stdout == "ABC\n"
    assert cli("delete", "rv").stdout == "rv: deleted\n"
    assert rt.terminate() == 0

    rt = runtimes(spec, *kept_args(workdir))
    assert cli("list").stdout.splitlines() == ["upper"] and running(rt) == 1


def test_a_token_secret_guards_the_admin_port(make_spec, runtimes, workdir):
    key_file, token = new_secret(workdir, "ops")
    spec = make_spec(text=LOGGED, topics=["in", "out", "log"])
    rt = runtimes(spec, "--token-secret-file", key_file)
    # Probes and scrapers need no token; everything else does.
    assert rt.get("/healthz")[0] == 200 and rt.get("/metrics")[0] == 200
    status, body = rt.get("/status")
    assert (status, json.loads(body)) == (401, {"reason": "Authentication required"})
    assert rt.get(API)[0] == 401
    r = shfn_cli(rt, "functions", "trigger", "logged", "--trigger-value", "x")
    assert r.returncode == 1 and r.stderr.strip().endswith("401 Authentication required")
    forged = hs256_token(b"another key", "ops")
    r = shfn_cli(rt, "functions", "list", env=dict(os.environ, SHFN_TOKEN=forged))
    assert r.returncode == 1 and "401" in r.stderr

    env = dict(os.environ, SHFN_TOKEN=token)
    assert shfn_cli(rt, "functions", "list", env=env).stdout == "logged\n"
    r = shfn_cli(rt, "functions", "trigger", "logged", "--trigger-value", "x", env=env)
    assert (r.returncode, r.stdout) == (0, "x\n"), r.stderr
    if not standalone():  # the embedded broker asks its clients for the same tokens
        produce = [_env("SHFN_BIN"), "produce", spec.topic("in"), "-m", "y", "--url", rt.url]
        r = subprocess.run(produce, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "Authentication" in r.stderr, r.stderr
        r = subprocess.run(produce + ["--token", token], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr


def test_updates_through_the_api_under_load_lose_and_duplicate_nothing(make_spec, runtimes,
                                                                       clients, workdir):
    spec = make_spec(text=UPPER, topics=["in", "out", "fan-in", "lin", "lout"])
    rt = runtimes(spec, *kept_args(workdir))
    c = clients(rt)
    path = os.path.join(workdir, "loaded.yaml")

    def write(round_number):
        with open(path, "w") as f:
            f.write(LOADED.replace("GUARANTEE", "ATLEAST_ONCE")
                    .replace("ROUND_NUMBER", str(round_number))
                    .replace("[in]", f"[{spec.topic('lin')}]")
                    .replace("output: out", f"output: {spec.topic('lout')}"))

    write(0)
    assert shfn_cli(rt, "functions", "create", "-f", path).returncode == 0
    total = 3000
    sending = send_steadily(c, spec.topic("lin"), total)
    # Each update changes its environment: it drains and restarts while messages flow.
    for round_number in (1, 2, 3):
        wait_for(lambda: rt.instance("loaded")["received"] > 0, what="messages flowing")
        write(round_number)
        r = shfn_cli(rt, "functions", "update", "-f", path)
        assert r.returncode == 0, r.stderr
    assert_all_once(c, spec.topic("lout"), total, sending)
    assert rt.stderr().count("reload: loaded changed") == 3
