"""The live view (/ui on the admin port, src/ui/live.html) in a real headless browser, Debian's
chromium: it loads with no console error, shows every stage of the odd-even example with numbers
that move while events flow, shows a stage's status and log lines, lists the broker's topics,
and works with token authentication on. A screenshot is kept under the build directory
(build/artifacts/ui-live.png; docs/ui.md says so).

On the embedded broker only: against a cluster the page reads the same /status and /graph, and
the topics' numbers are the cluster's own admin tools' to show."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import _env, standalone, wait_for
from tokens import new_secret

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM, reason="no chromium here (scripts/setup.sh installs it)"),
    pytest.mark.skipif(standalone(), reason="the live view is tested on the embedded broker"),
]
# A virtual minute every half second: the ping source sends two events a second.
FAST_CLOCK = {"SHFN_CLOCK": "2026-11-21T09:00:30Z*120"}


def stages(spec):
    """The odd-even example's stages, named after its flow (renamed for the test)."""
    flow = spec.topic("odd-even")
    return [f"{flow}-branch-0-filter", f"{flow}-branch-0-subscriber", f"{flow}-branch-1-filter",
            f"{flow}-branch-1-subscriber", f"{flow}-reply"]


def chromium(*args):
    """Headless chromium with a profile of its own, so that runs never share one."""
    with tempfile.TemporaryDirectory(prefix="shfn-chromium-") as profile:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


def browse(url, *flags):
    """The page's DOM after it has run for a few seconds of virtual time, and what the browser
    printed on its console."""
    r = chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom",
                 *flags, url)
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    return r.stdout, console


def source_events(dom):
    """{source: events} as the page shows it."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'<g class="node source" data-name="([^"]+)" data-events="(\d+)"', dom)}


def stage_counts(dom):
    """{stage: processed} as the page shows it (each stage box carries its counters)."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'<g class="node stage[^"]*" data-name="([^"]+)" data-received="\d+" '
        r'data-processed="(\d+)"', dom)}


def processed(rt, stage):
    return sum(i["processedSuccessfully"] for i in rt.status()["instances"]
               if i["function"] == stage)


def artifacts_dir():
    # SHFN_BIN is <build>/src/cli/shfn.
    build = os.path.dirname(os.path.dirname(os.path.dirname(_env("SHFN_BIN"))))
    path = os.environ.get("SHFN_ARTIFACTS") or os.path.join(build, "artifacts")
    os.makedirs(path, exist_ok=True)
    return path


def test_the_live_view_shows_the_flow_and_its_numbers_move(make_spec, runtimes):
    spec = make_spec("odd-even", topics=["odd-even", "ping"])
    filter0, reply = stages(spec)[0], stages(spec)[-1]
    rt = runtimes(spec, env=FAST_CLOCK)
    ui = rt.http + "/ui"
    assert rt.get("/")[1] == rt.get("/ui")[1]  # the admin port's address opens it too

    wait_for(lambda: processed(rt, reply) >= 1, 60, "a first answer")
    dom, console = browse(ui)
    assert console == [], console
    assert re.search(r'<div id="errors" hidden="">\s*</div>', dom), "the page reported errors"
    first = stage_counts(dom)
    assert sorted(first) == stages(spec)
    ticks = source_events(dom)[spec.topic("ping")]
    assert ticks >= 1
    assert re.search(rf'data-name="{spec.topic("ping")}"[^>]*>.*?>ticks {ticks}</text>', dom)
    flow = spec.topic("odd-even")
    for topic in [flow, flow + "-branch-0", flow + "-branch-1", flow + "-reply"]:
        assert f'data-name="persistent://public/default/{topic}"' in dom, topic

    # More events go through; the page shows them.
    target = first[reply] + 4
    wait_for(lambda: processed(rt, reply) >= target, 60, "four more answers")
    dom, console = browse(ui + "#select=" + reply)
    assert console == [], console
    later = stage_counts(dom)
    assert later[reply] >= target
    assert later[filter0] > first[filter0]
    # A stage's details: its status and its recent log lines.
    details = dom[dom.index('<aside id="details"'):]
    assert details.startswith('<aside id="details">'), details[:80]  # not hidden
    assert f"<h2>{reply}</h2>" in details
    assert f"INFO [{reply}/0] ready" in details

    shot = os.path.join(artifacts_dir(), "ui-live.png")
    r = chromium("--hide-scrollbars", "--virtual-time-budget=5000", "--window-size=1600,720",
                 f"--screenshot={shot}", ui + "#select=" + filter0)
    assert r.returncode == 0 and os.path.getsize(shot) > 10000, r.stderr

    # `shfn graph` without a spec draws what the running shfn runs: here, the file's picture.
    drawn = [subprocess.run([_env("SHFN_BIN"), "graph", *where, "-f", "mermaid"],
                            capture_output=True, text=True, timeout=60)
             for where in (["--admin-url", rt.http], [spec.path])]
    assert drawn[0].returncode == 0, drawn[0].stderr
    assert drawn[0].stdout == drawn[1].stdout and "flowchart LR" in drawn[0].stdout

    dom, console = browse(ui + "#tab=broker")
    assert console == [], console
    rows = re.findall(r'<tr data-topic="([^"]+)">', dom)
    assert f"persistent://public/default/{spec.topic('odd-even')}" in rows, rows
    assert rt.terminate() == 0


def test_the_live_view_asks_for_a_token_and_uses_it(make_spec, runtimes, workdir):
    key_file, token = new_secret(workdir, "ops")
    spec = make_spec("odd-even", topics=["odd-even", "ping"])
    rt = runtimes(spec, "--token-secret-file", key_file, env=FAST_CLOCK)
    assert rt.get("/ui")[0] == 200 and rt.get("/graph")[0] == 401

    dom, console = browse(rt.http + "/ui")
    assert '<form id="token-form">' in dom  # shown: no longer hidden
    assert "a token is needed" in dom
    assert stage_counts(dom) == {}

    dom, console = browse(rt.http + "/ui#token=" + token)
    assert console == [], console
    assert '<form id="token-form" hidden="">' in dom
    assert sorted(stage_counts(dom)) == stages(spec)
    assert rt.terminate() == 0


def test_shfn_broker_serves_the_live_view_of_its_topics(workdir):
    broker = subprocess.Popen([_env("SHFN_BIN"), "broker", "--listen", "127.0.0.1:0", "--admin",
                               "127.0.0.1:0", "--data-dir", os.path.join(workdir, "data")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        service = broker.stdout.readline().split()[-1]
        admin = broker.stdout.readline().split()[-1]
        assert service.startswith("pulsar://") and admin.startswith("http://"), (service, admin)
        subprocess.run([_env("SHFN_BIN"), "produce", "seen-on-the-page", "-m", "hello", "--url",
                        service], check=True, capture_output=True, timeout=60)
        dom, console = browse(admin + "/ui")
        assert console == [], console
        assert '<section id="flows" hidden="">' in dom  # a broker runs no function
        row = re.search(r'<tr data-topic="persistent://public/default/seen-on-the-page">(.*?)</tr>',
                        dom)
        assert row, dom[dom.index("<tbody"):][:500]
        assert re.findall(r'<td class="n">([^<]*)</td>', row.group(1))[2] != "0"  # stored bytes
    finally:
        broker.terminate()
        broker.wait(timeout=30)

