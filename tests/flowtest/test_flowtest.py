"""`shfn test` as a user runs it: the examples' flow tests pass, a failing test file fails with
a readable difference, and a bad test file is refused with its line before anything runs."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "spec.yaml")


def shfn_test(*args, timeout=240):
    binary = os.environ.get("SHFN_BIN", "")
    if not binary:
        pytest.fail("SHFN_BIN is not set: run the suite through ctest or scripts/test.sh")
    return subprocess.run([binary, "test", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def outcome_lines(stdout):
    """{case name: "ok" or "FAIL"} from the runner's one line per case."""
    out = {}
    for line in stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0] in ("ok", "FAIL") and line.startswith("  "):
            out[parts[1].rsplit(" (", 1)[0]] = parts[0]
    return out


def test_the_examples_pass():
    files = ["examples/reverse/reverse.test.yaml", "examples/json-transform/transform.test.yaml",
             "examples/flaky/flaky.test.yaml", "examples/odd-even/odd-even.test.yaml"]
    r = shfn_test(*files)
    assert r.returncode == 0, r.stdout + r.stderr
    cases = outcome_lines(r.stdout)
    assert len(cases) == 12 and set(cases.values()) == {"ok"}, r.stdout
    assert r.stdout.rstrip().endswith("12 passed, 0 failed")
    for f in files:
        assert f + " (spec " in r.stdout


def test_flows_pass():
    r = shfn_test("tests/flowtest/flows.test.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(outcome_lines(r.stdout).values()) == {"ok"}, r.stdout


def test_failures_are_shown_attribute_by_attribute():
    r = shfn_test("tests/flowtest/failing.test.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert outcome_lines(out) == {
        "this one passes": "ok",
        "a wrong payload": "FAIL",
        "an event attribute that differs": "FAIL",
        "a message that never comes": "FAIL",
        "a message delivered twice": "FAIL",
    }, out
    assert out.rstrip().endswith("1 passed, 4 failed")

    def block(name):
        """The lines under a case's outcome line, up to the next case."""
        lines = out.splitlines()
        start = next(i for i, l in enumerate(lines) if l.split(None, 1)[-1].startswith(name))
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("      ")),
                   len(lines))
        return "\n".join(l.strip() for l in lines[start + 1:end])

    wrong = block("a wrong payload")
    assert "persistent://public/default/rev-out: expected 1 message, 1 arrived" in wrong
    assert "failing.test.yaml:12:" in wrong  # where the expected message is written
    assert 'payload:\nexpected: "abc"\ngot:      "cba"' in wrong

    attribute = block("an event attribute that differs")
    assert 'type:\nexpected: "com.example.out"\ngot:      "com.example.in"' in attribute
    assert "data:" not in attribute  # only what differs

    never = block("a message that never comes")
    assert "nothing arrived within 1s" in never
    assert 'expected: payload "cba"' in never

    twice = block("a message delivered twice")
    assert "twice-out: expected 1 message, 2 arrived" in twice
    assert 'unexpected message (arrived #2): payload "once"' in twice


def test_only_runs_the_cases_named():
    r = shfn_test("tests/flowtest/failing.test.yaml", "--only", "passes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert outcome_lines(r.stdout) == {"this one passes": "ok"}
    assert r.stdout.rstrip().endswith("1 passed, 0 failed")

    r = shfn_test("tests/flowtest/failing.test.yaml", "--only", "no such case")
    assert r.returncode == 2
    assert "no test case's name contains" in r.stderr


def test_a_bad_test_file_is_refused_with_its_line(tmp_path):
    bad = write(tmp_path, "bad.test.yaml", f"""spec: {SPEC}
tests:
  - name: a typo
    send: [{{to: reverse, payload: abc}}]
    expect:
      - from: reverse
        payload: [cba]
""")
    r = shfn_test(bad)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f'{bad}:7:9: tests[0].expect[0].payload: unknown field (did you mean "payloads"?)' \
        in r.stderr
    assert "passed" not in r.stdout  # nothing ran


def test_a_name_the_spec_does_not_have_is_refused(tmp_path):
    bad = write(tmp_path, "names.test.yaml", f"""spec: {SPEC}
tests:
  - name: a misspelt function
    send: [{{to: revers, payload: abc}}]
    expect: [{{from: copy-a, payloads: []}}]
""")
    good = os.path.join(HERE, "failing.test.yaml")
    r = shfn_test(good, bad)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f'{bad}:4:17: tests[0].send[0].to: no Function, Parallel, Sequence or cron source ' \
        f'named "revers" in {SPEC} (did you mean "reverse"?)' in r.stderr
    assert r.stdout == ""  # not even the good file ran


def test_a_spec_with_errors_is_refused(tmp_path):
    spec = write(tmp_path, "spec.yaml", "kind: Function\nmetadata: {name: f}\nspec: {inputs: [a]}\n")
    t = write(tmp_path, "t.test.yaml", "spec: spec.yaml\n"
              "tests: [{name: a, expect: [{topic: b, payloads: []}]}]\n")
    r = shfn_test(t)
    assert r.returncode == 2
    assert spec + ":3:7: f.spec" in r.stderr  # the spec's own error, with its line
    assert f"{t}:1:7: spec: the spec {spec} does not load (see above)" in r.stderr


CRON_SPEC = """kind: PingSource
metadata: {name: ping}
spec:
  schedule: "* * * * *"
  data: '{"message": "tick"}'
  sink: {topic: ticks}
"""

CRON_TEST = """spec: cron.yaml
{clock}
tests:
  - name: the source ticks on the test's clock
    settle: 0ms       # it ticks every virtual minute: more will come
    timeout: 5s
    expect:
      - from: ping
        events:
          - type: dev.knative.sources.ping
            source: /apis/v1/namespaces/default/pingsources/ping
            data: {{message: tick}}
"""


def test_cron_sources_run_only_on_a_test_clock(tmp_path):
    write(tmp_path, "cron.yaml", CRON_SPEC)
    # A virtual minute is 0.2s: a tick comes soon after the case subscribes.
    with_clock = write(tmp_path, "clock.test.yaml",
                       CRON_TEST.format(clock='clock: "2026-01-01T00:00:00Z*300"'))
    r = shfn_test(with_clock)
    assert r.returncode == 0, r.stdout + r.stderr

    # Without a clock the sources do not run: no tick can land in a case at random.
    without = write(tmp_path, "plain.test.yaml", CRON_TEST.format(clock=""))
    r = shfn_test(without)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "nothing arrived within 5s" in r.stdout


SLOW_LEAK_SPEC = """kind: Function
metadata: {name: leaky}
spec: {command: "sleep 1.5; cat", inputs: [leak-in], output: leak-out}
"""

SLOW_LEAK_TEST = """spec: leaky.yaml
tests:
  - name: nothing may come out
    send: [{to: leaky, payload: secret}]
    expect: [{from: leaky, payloads: []}]
"""


def test_expecting_nothing_waits_for_a_slow_flow_to_finish(tmp_path):
    """A case that expects nothing is judged once the flow is done with what was sent, not after
    a fixed pause: a function slower than the default settle still fails it."""
    write(tmp_path, "leaky.yaml", SLOW_LEAK_SPEC)
    r = shfn_test(write(tmp_path, "leaky.test.yaml", SLOW_LEAK_TEST))
    assert r.returncode == 1, r.stdout + r.stderr
    assert outcome_lines(r.stdout) == {"nothing may come out": "FAIL"}, r.stdout
    assert "secret" in r.stdout, r.stdout


def test_a_flow_still_busy_at_the_end_of_settle_fails_the_case(tmp_path):
    """When the flow has not finished with what was sent within `settle`, "nothing more comes"
    cannot be judged: the case fails and says so instead of passing."""
    write(tmp_path, "leaky.yaml", SLOW_LEAK_SPEC.replace("sleep 1.5", "sleep 30"))
    r = shfn_test(write(tmp_path, "busy.test.yaml",
                        SLOW_LEAK_TEST.replace("tests:", "settle: 300ms\ntests:")))
    assert r.returncode == 1, r.stdout + r.stderr
    assert outcome_lines(r.stdout) == {"nothing may come out": "FAIL"}, r.stdout
    assert "the flow was still busy 300 ms after the expected messages came" in r.stdout, r.stdout
