"""The CloudEvents conformance tool (github.com/cloudevents/conformance, built by
tests/cloudevents/setup.sh) against shfn run: `cloudevents invoke` sends the tool's own event
files (binary and structured mode, text, JSON and XML data, extensions) to the HTTP ingress of a
Broker, a Trigger delivers them to `cloudevents listen` as a `uri` subscriber, and `cloudevents
diff` finds every event of the minimum file among those received, exactly. On the embedded
broker and on Apache Pulsar standalone.

The tool's v1.yaml events are checked by hand: its listener shows binary-mode extensions under
Go's canonical header names (Comexampleextension1) and without percent-decoding their values,
which the HTTP binding requires senders to encode (a '"' is %22), and it compares JSON data as
text, where structured mode carries it as a JSON value, so `diff` cannot match them."""
import os
import re
import subprocess

import pytest

from conftest import wait_for

CONFORMANCE = os.path.join(os.environ.get("SHFN_CACHE", os.path.expanduser("~/.cache/shfn")),
                           "cloudevents-conformance")
TOOL = os.path.join(CONFORMANCE, "cloudevents")


def event_files():
    """The tool's CloudEvents 1.0 files: one event in binary and in structured mode with
    extensions, and six minimal ones."""
    root = os.path.join(CONFORMANCE, "yaml")
    return [os.path.join(root, "v1.yaml"), os.path.join(root, "v1.0", "v1_minimum.yaml")]


def expected(minimum, out):
    """What must arrive of the minimum file: its events, without the mode they were sent in
    (a subscriber gets binary mode from shfn)."""
    text = re.sub(r"^Mode: .*\n", "", open(minimum).read(), flags=re.M)
    with open(out, "w") as f:
        f.write(text)


@pytest.fixture
def listener(workdir):
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"no conformance tool at {TOOL}: run tests/cloudevents/setup.sh")
    got = open(os.path.join(workdir, "got.yaml"), "w")
    err_path = os.path.join(workdir, "listen.err")
    err = open(err_path, "w")
    proc = subprocess.Popen([TOOL, "listen", "-P", "0"], stdout=got, stderr=err)

    def port():
        match = re.search(r"listening on :(\d+)", open(err_path).read())
        return match and match.group(1)

    url = "http://127.0.0.1:" + wait_for(port, what="the conformance listener")
    yield url, got.name
    proc.terminate()
    proc.wait(timeout=10)
    got.close()
    err.close()


def test_the_conformance_tools_events_pass_through_a_broker(make_spec, runtimes, listener,
                                                            workdir):
    url, got = listener
    text = ("kind: Broker\nmetadata: {name: conformance}\n---\nkind: Trigger\n"
            f"metadata: {{name: to-listener}}\nspec:\n  broker: conformance\n"
            f"  subscriber: {{uri: '{url}/'}}\n")
    spec = make_spec(text=text, topics=["conformance"])
    rt = runtimes(spec, "--ingress", "127.0.0.1:0")
    ingress = rt._ready("shfn ingress ready on ")
    files = event_files()
    want = os.path.join(workdir, "want.yaml")
    expected(files[1], want)
    sent = subprocess.run([TOOL, "invoke", f"{ingress}/default/{spec.topic('conformance')}",
                           "-f", ",".join(files)], capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stdout + sent.stderr  # every event answered 2xx
    wait_for(lambda: open(got).read().count("ContextAttributes") >= 8,
             what="8 events at the listener")
    diff = subprocess.run([TOOL, "diff", want, got, "--match", "id", "--ignore-additions"],
                          capture_output=True, text=True, timeout=60)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    received = open(got).read()
    assert received.count("id: 4321-4321-4321") == 2  # v1.yaml's, in binary and structured mode
    assert received.count("Comexampleextension1: value") == 2
    assert received.count("Comexampleextension2: '{%22othervalue%22:%205}'") == 2
