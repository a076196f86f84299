"""Functions and CloudEvents, end to end: a script sees an event's attributes as SHFN_CE_*; an
event in gives the same event out with the script's output as data and the input topic in its
history; the script sets attributes through its metadata file; a plain message stays plain."""
import json

import pulsar

EVENTS = """kind: Function
metadata:
  name: tag
spec:
  script: tag.sh
  inputs: [in]
  output: out
"""

# Echoes what it saw of the event, and sets the output's type when asked to.
TAG = """#!/bin/bash
set -euo pipefail
data=$(cat)
if [ "$data" = "retype" ]; then echo "ce.type=com.example.retyped" >> "$SHFN_OUTPUT_METADATA"; fi
printf '%s|%s|%s|%s' "${SHFN_CE_TYPE-}" "${SHFN_CE_SOURCE-}" "${SHFN_CE_SUBJECT-none}" "$data"
"""


def test_events_through_a_function(make_spec, runtimes, clients):
    spec = make_spec(text=EVENTS, topics=["in", "out"], scripts={"tag.sh": TAG})
    rt = runtimes(spec)
    c = clients(rt)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    p = c.py.create_producer(spec.topic("in"))
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    p.send(b"hi", properties={"ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "/orders",
                              "ce_type": "com.example.order", "ce_subject": "o-7",
                              "content-type": "text/plain", "ce_traceparent": trace})
    structured = {"specversion": "1.0", "id": "s-1", "source": "/s", "type": "com.example.s",
                  "datacontenttype": "text/plain", "data": "there"}
    p.send(json.dumps(structured).encode(),
           properties={"content-type": "application/cloudevents+json"})
    p.send(b"plain")
    p.send(b"retype")

    got = {}
    for _ in range(4):
        m = out.receive(timeout_millis=30000)
        out.acknowledge(m)
        got[m.data().decode().split("|")[-1] if not m.data().startswith(b"{")
            else json.loads(m.data())["data"].split("|")[-1]] = m

    # Binary in, binary out: the same event, new data, the input topic in the history.
    m = got["hi"]
    props = m.properties()
    assert m.data() == b"com.example.order|/orders|o-7|hi"
    assert props["ce_id"] == "e-1" and props["ce_type"] == "com.example.order"
    assert props["ce_traceparent"] == trace
    assert props["content-type"] == "text/plain"
    assert props["ce_shfnhistory"] == "persistent://public/default/" + spec.topic("in")

    # Structured in, structured out; the script reads the event's data, not the JSON around it.
    m = got["there"]
    assert m.properties()["content-type"] == "application/cloudevents+json"
    event = json.loads(m.data())
    assert event["id"] == "s-1" and event["data"] == "com.example.s|/s|none|there"

    # A plain message: the script sees a synthesized event, and the output stays plain.
    m = got["plain"]
    source = "persistent://public/default/" + spec.topic("in")
    assert m.data() == ("dev.shfn.message|%s|none|plain" % source).encode()
    assert not any(k.startswith("ce_") for k in m.properties())

    # ... unless the script sets an attribute: then it is an event, synthesized from the input.
    m = got["retype"]
    props = m.properties()
    assert props["ce_type"] == "com.example.retyped"
    assert props["ce_source"] == source
    assert props["ce_specversion"] == "1.0" and props["ce_id"]
