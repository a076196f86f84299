"""Brokers and Triggers end to end, with the CloudEvents Python SDK on both sides: it sends events
to `shfn run`'s HTTP ingress in binary and structured mode, and a sink server built on it receives
what the Triggers deliver. On the embedded broker and on Apache Pulsar standalone.

Covered: Knative's getting-started tutorial (examples/broker), the ingress's answers, filters
(attributes, and CESQL), replies going back into the broker and the TTL that stops a reply loop,
a failing subscriber's dead letter with the knativeerror* extensions, and no event answered 202
lost when shfn run is killed with SIGKILL while events flow."""
import base64
import http.server
import json
import os
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
import uuid

import pytest
from cloudevents.v1.conversion import to_binary, to_structured
from cloudevents.v1.http import CloudEvent, from_http

from conftest import wait_for
from tokens import hs256_token, new_secret

INGRESS = ("--ingress", "127.0.0.1:0")


class Sink:
    """An HTTP server that reads every request with the SDK's from_http, by path; https with a
    certificate (cert and key files) when given one."""

    def __init__(self, certificate=None):
        self.events = {}  # path -> [CloudEvent]
        self.lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = from_http(dict(self.headers), body)
                with sink.lock:
                    sink.events.setdefault(self.path, []).append(event)
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if certificate:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(*certificate)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path):
        with self.lock:
            return list(self.events.get(path, []))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


def post(url, headers, body):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def send(rt, path, event, structured=False):
    headers, body = (to_structured if structured else to_binary)(event)
    return post(rt.ingress + path, headers, body)


def start(runtimes, spec, *args):
    rt = runtimes(spec, *INGRESS, *args)
    rt.ingress = rt._ready("shfn ingress ready on ")
    return rt


def settled(rt, trigger_name, received):
    """Trigger `trigger_name`'s filter has taken `received` events and its subscriber all that the
    filter passed on: what the trigger delivers is all it will deliver of them."""
    passed = rt.instance(trigger_name + "-filter")
    done = rt.instance(trigger_name + "-subscriber")
    return (passed["processedSuccessfully"] == received
            and done["processedSuccessfully"] == passed["published"])


def displayed_ids(rt):
    with rt.changed:
        lines = [line for line in rt.lines if line is not None]
    return [line.split(": ", 1)[1] for line in lines if line.startswith("  id: ")]


def test_knatives_getting_started_tutorial(make_spec, runtimes):
    spec = make_spec("broker", topics=["default"])
    rt = start(runtimes, spec)
    path = "/event-example/" + spec.topic("default")
    greeting = CloudEvent({"id": "say-hello", "type": "greeting", "source": "not-sendoff"},
                          {"msg": "Hello Knative!"})
    goodbye = CloudEvent({"id": "say-goodbye", "type": "not-greeting", "source": "sendoff"},
                         {"msg": "Goodbye Knative!"})
    both = CloudEvent({"id": "say-hello-goodbye", "type": "greeting", "source": "sendoff"},
                      {"msg": "Hello Knative! Goodbye Knative!"})
    assert send(rt, path, greeting)[0] == 202
    assert send(rt, path, goodbye)[0] == 202
    assert send(rt, path, both, structured=True)[0] == 202
    # Each trigger displays what its filter passes: the third event passes both.
    wait_for(lambda: len(displayed_ids(rt)) >= 4, what="four displayed events")
    # A fifth, wrongly routed, would be displayed by the time both triggers are done.
    wait_for(lambda: settled(rt, "hello-display", 3) and settled(rt, "goodbye-display", 3),
             what="both triggers done with the three events")
    assert sorted(displayed_ids(rt)) == ["say-goodbye", "say-hello", "say-hello-goodbye",
                                         "say-hello-goodbye"]
    with rt.changed:
        text = "\n".join(line for line in rt.lines if line is not None)
    assert '"msg": "Hello Knative!"' in text
    assert "knativebrokerttl" not in text  # the broker's own extension is not delivered


def test_ingress_answers(make_spec, runtimes):
    spec = make_spec(text="kind: Broker\nmetadata: {name: events}\n", topics=["events"])
    rt = start(runtimes, spec)
    path = "/default/" + spec.topic("events")
    status, body = post(rt.ingress + path, {"ce-specversion": "1.0", "ce-id": "1",
                                            "ce-type": "t"}, b"x")
    assert status == 400 and "source" in json.loads(body)["reason"]
    status, body = post(rt.ingress + path, {"content-type": "text/plain"}, b"just text")
    assert status == 400 and "not a CloudEvent" in json.loads(body)["reason"]
    assert post(rt.ingress + "/default/nothing-here", {}, b"")[0] == 404
    assert post(rt.ingress + "/other/" + spec.topic("events"), {}, b"")[0] == 404
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rt.ingress + path, timeout=10)
    assert refused.value.code == 405 and refused.value.headers["Allow"] == "POST, OPTIONS"
    event = CloudEvent({"type": "t", "source": "/s"}, {"a": 1})
    assert send(rt, path, event) == (202, "")


def test_the_ingress_asks_for_a_token_when_the_admin_port_does(make_spec, runtimes, workdir):
    key_file, token = new_secret(workdir, "producer")
    spec = make_spec(text="kind: Broker\nmetadata: {name: guarded}\n", topics=["guarded"])
    rt = start(runtimes, spec, "--token-secret-file", key_file)
    url = rt.ingress + "/default/" + spec.topic("guarded")
    headers, body = to_binary(CloudEvent({"type": "t", "source": "/s"}, "x"))
    status, reason = post(url, headers, body)
    assert status == 401 and "token" in json.loads(reason)["reason"]
    forged = hs256_token(b"another key", "producer")
    assert post(url, dict(headers, Authorization="Bearer " + forged), body)[0] == 401
    assert post(url, dict(headers, Authorization="Bearer " + token), body)[0] == 202


def trigger(name, broker, subscriber, filters="", delivery=""):
    return (f"---\nkind: Trigger\nmetadata: {{name: {name}}}\nspec:\n  broker: {broker}\n"
            f"  subscriber: {subscriber}\n{filters}{delivery}")


def test_filters_route_to_sdk_sinks(make_spec, runtimes, sink):
    text = ("kind: Broker\nmetadata: {name: shop}\n"
            + trigger("big-orders", "shop", f"{{uri: '{sink.url}/big'}}",
                      "  filters:\n    - cesql: \"type = 'order' AND INT(amount) > 100\"\n")
            + trigger("orders", "shop", f"{{uri: '{sink.url}/orders'}}",
                      "  filter: {attributes: {type: order}}\n")
            + trigger("everything", "shop", f"{{uri: '{sink.url}/all'}}"))
    spec = make_spec(text=text, topics=["shop"])
    rt = start(runtimes, spec)
    path = "/default/" + spec.topic("shop")
    sent = [CloudEvent({"id": "o1", "type": "order", "source": "/shop", "amount": "250"},
                       {"item": "desk"}),
            CloudEvent({"id": "o2", "type": "order", "source": "/shop", "amount": "20"},
                       {"item": "pen"}),
            CloudEvent({"id": "r1", "type": "refund", "source": "/shop"}, {"item": "lamp"})]
    for i, event in enumerate(sent):
        assert send(rt, path, event, structured=i % 2 == 1)[0] == 202
    wait_for(lambda: len(sink.at("/all")) == 3 and len(sink.at("/orders")) == 2
             and len(sink.at("/big")) == 1, what="every trigger's deliveries")
    wait_for(lambda: all(settled(rt, t, 3) for t in ("big-orders", "orders", "everything")),
             what="every trigger done with the three events")
    assert sorted(e["id"] for e in sink.at("/all")) == ["o1", "o2", "r1"]
    assert sorted(e["id"] for e in sink.at("/orders")) == ["o1", "o2"]
    [big] = sink.at("/big")
    assert (big["id"], big["source"], big["amount"], big.data) == (
        "o1", "/shop", "250", {"item": "desk"})
    assert "knativebrokerttl" not in big.get_attributes()


def test_replies_go_back_into_the_broker_until_the_ttl(make_spec, runtimes, sink):
    # `cat` replies with the event it got: type ping again, so the reply comes back to the same
    # trigger, forever but for Knative's TTL. The ingress gives the event 255; each reply one
    # less; the one that would carry 0 is dropped: 255 pings reach the broker in all.
    text = ("kind: Broker\nmetadata: {name: pings}\n"
            + trigger("echo", "pings", "{command: cat}", "  filter: {attributes: {type: ping}}\n")
            + trigger("count", "pings", f"{{uri: '{sink.url}/count'}}",
                      "  filter: {attributes: {type: ping}}\n"))
    spec = make_spec(text=text, topics=["pings"])
    rt = start(runtimes, spec)
    event = CloudEvent({"id": "p", "type": "ping", "source": "/loop"}, "ping")
    assert send(rt, "/default/" + spec.topic("pings"), event)[0] == 202
    wait_for(lambda: len(sink.at("/count")) >= 255, timeout=120, what="255 pings")
    wait_for(lambda: "reply dropped: its knativebrokerttl would reach 0" in rt.stderr(),
             what="the dropped reply's warning")
    wait_for(lambda: settled(rt, "echo", 255) and settled(rt, "count", 255),
             what="both triggers done with the 255 pings")
    assert len(sink.at("/count")) == 255


def test_a_process_subscriber_does_not_see_the_ttl(make_spec, runtimes, sink):
    answer = ("echo \"ttl=${SHFN_CE_KNATIVEBROKERTTL-unset}\"; "
              "echo ce.type=answer >> \"$SHFN_OUTPUT_METADATA\"")
    text = ("kind: Broker\nmetadata: {name: hops}\n"
            + trigger("ask", "hops", f"{{command: '{answer}'}}",
                      "  filter: {attributes: {type: question}}\n")
            + trigger("answers", "hops", f"{{uri: '{sink.url}/answers'}}",
                      "  filter: {attributes: {type: answer}}\n"))
    spec = make_spec(text=text, topics=["hops"])
    rt = start(runtimes, spec)
    question = CloudEvent({"id": "q1", "type": "question", "source": "/test"}, "?")
    assert send(rt, "/default/" + spec.topic("hops"), question)[0] == 202
    wait_for(lambda: len(sink.at("/answers")) == 1, what="the answer")
    [got] = sink.at("/answers")
    assert got.data == b"ttl=unset\n"
    assert "knativebrokerttl" not in got.get_attributes()


def test_a_failing_subscriber_goes_to_the_dead_letter_sink(make_spec, runtimes, sink):
    delivery = ("  delivery:\n    retry: 1\n    backoffDelay: PT0.05S\n"
                f"    deadLetterSink: {{uri: '{sink.url}/dead'}}\n")
    text = ("kind: Broker\nmetadata: {name: work}\n"
            + trigger("fails", "work", "{command: 'echo cannot do it >&2; exit 3'}", "", delivery)
            + trigger("works", "work", f"{{uri: '{sink.url}/ok'}}"))
    spec = make_spec(text=text, topics=["work"])
    rt = start(runtimes, spec)
    event = CloudEvent({"id": "job-1", "type": "job", "source": "/jobs"}, {"n": 1})
    assert send(rt, "/default/" + spec.topic("work"), event)[0] == 202
    [dead] = wait_for(lambda: sink.at("/dead"), what="the dead letter")
    assert (dead["id"], dead.data) == ("job-1", {"n": 1})
    assert dead["knativeerrordest"] == "shfn:fails-subscriber"
    assert dead["knativeerrorcode"] == "3"
    assert b"cannot do it" in base64.b64decode(dead["knativeerrordata"])
    assert [e["id"] for e in wait_for(lambda: sink.at("/ok"), what="the other trigger")] == [
        "job-1"]  # the failing trigger held back no other


def test_no_event_answered_202_is_lost_when_killed(make_spec, runtimes, sink):
    text = ("kind: Broker\nmetadata: {name: durable}\n"
            + trigger("keep", "durable", f"{{uri: '{sink.url}/kept'}}"))
    spec = make_spec(text=text, topics=["durable"])
    rt = start(runtimes, spec)
    path = "/default/" + spec.topic("durable")
    accepted, stop = [], threading.Event()

    def sender():
        n = 0
        while not stop.is_set():
            n += 1
            event = CloudEvent({"id": f"e{n}", "type": "t", "source": "/kill"}, str(n))
            try:
                if send(rt, path, event)[0] == 202:
                    accepted.append(f"e{n}")
            except OSError:
                pass  # the process is gone: not accepted

    thread = threading.Thread(target=sender)
    thread.start()
    wait_for(lambda: len(accepted) >= 200, what="200 accepted events")
    rt.kill()
    stop.set()
    thread.join()
    # A new shfn run on the same data directory (or the same standalone) delivers what was
    # stored.
    start(runtimes, spec)
    wait_for(lambda: set(accepted) <= {e["id"] for e in sink.at("/kept")}, timeout=60,
             what=f"all {len(accepted)} accepted events delivered")


def test_a_channels_subscriptions_each_get_every_event(make_spec, runtimes, sink):
    text = f"""apiVersion: messaging.knative.dev/v1
kind: Channel
metadata: {{name: orders}}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {{name: audit}}
spec:
  channel: {{apiVersion: messaging.knative.dev/v1, kind: Channel, name: orders}}
  subscriber: {{uri: '{sink.url}/audit'}}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {{name: shout}}
spec:
  channel: {{apiVersion: messaging.knative.dev/v1, kind: Channel, name: orders}}
  subscriber: {{command: "tr a-z A-Z"}}
  reply: {{uri: '{sink.url}/loud'}}
"""
    spec = make_spec(text=text, topics=["orders"])
    rt = start(runtimes, spec)
    for n in ("one", "two"):
        event = CloudEvent({"id": n, "type": "order", "source": "/shop"}, f"order {n}")
        assert send(rt, "/default/" + spec.topic("orders"), event)[0] == 202
    wait_for(lambda: len(sink.at("/audit")) == 2 and len(sink.at("/loud")) == 2,
             what="both subscriptions' deliveries")
    assert sorted(e.data for e in sink.at("/audit")) == ["order one", "order two"]
    assert sorted(e.data for e in sink.at("/loud")) == ["ORDER ONE", "ORDER TWO"]


def make_server_certificate(directory):
    """A CA of its own and a certificate it signs for 127.0.0.1, made with openssl."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return (os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"),
            open(os.path.join(directory, "ca.pem")).read())


def test_https_subscribers_trust_their_ca_certs_and_nothing_else(make_spec, runtimes, sink,
                                                                 tmp_path):
    cert, key, ca = make_server_certificate(str(tmp_path))
    secure = Sink((cert, key))
    try:
        pem = "".join("      " + line + "\n" for line in ca.strip().splitlines())
        text = ("kind: Broker\nmetadata: {name: tls}\n"
                + trigger("trusted", "tls", f"\n    uri: '{secure.url}/trusted'\n"
                          f"    CACerts: |\n{pem}")
                + trigger("untrusted", "tls", f"{{uri: '{secure.url}/untrusted'}}", "",
                          "  delivery:\n    retry: 0\n"
                          f"    deadLetterSink: {{uri: '{sink.url}/dead'}}\n"))
        spec = make_spec(text=text, topics=["tls"])
        rt = start(runtimes, spec)
        event = CloudEvent({"id": "secret", "type": "t", "source": "/tls"}, {"n": 1})
        assert send(rt, "/default/" + spec.topic("tls"), event)[0] == 202
        [got] = wait_for(lambda: secure.at("/trusted"), what="the https delivery")
        assert (got["id"], got.data) == ("secret", {"n": 1})
        # The system's CAs do not know the test CA: the handshake fails, and nothing is retried.
        [dead] = wait_for(lambda: sink.at("/dead"), what="the dead letter")
        assert dead["knativeerrordest"] == f"{secure.url}/untrusted"
        assert "certificate verify failed" in rt.stderr()
        assert secure.at("/untrusted") == []
    finally:
        secure.close()
