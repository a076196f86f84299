"""`shfn run --threads N`: instances spread over N event loops, a Shared function of parallelism
p running as up to N instances with a consumer each, as Pulsar Functions runs p instances."""
import pulsar
import pytest

from test_flows import event_props

SPREAD = """kind: Function
metadata:
  name: wide
spec:
  command: [cat]
  mode: stream
  framing: lines
  parallelism: 3
  inputs: [in]
  output: out
---
kind: Function
metadata:
  name: ordered
spec:
  command: "tr a-z A-Z"
  parallelism: 2
  retainOrdering: true
  inputs: [in2]
  output: out2
---
kind: Sequence
metadata: {name: seq}
spec:
  steps:
    - command: "tr a-z A-Z"
    - command: cat
  reply: {topic: done}
"""


def receive_all(client, topic, count):
    consumer = client.subscribe(topic, "check", initial_position=pulsar.InitialPosition.Earliest)
    got = []
    for _ in range(count):
        m = consumer.receive(timeout_millis=30000)
        got.append(m.data())
        consumer.acknowledge(m)
    with pytest.raises(pulsar.Timeout):
        consumer.receive(timeout_millis=1000)  # and nothing more: no duplicate
    return got


def test_a_shared_function_runs_as_an_instance_per_thread_and_loses_nothing(make_spec, runtimes,
                                                                            clients):
    spec = make_spec(text=SPREAD, topics=["in", "out", "in2", "out2", "seq", "done"])
    rt = runtimes(spec, "--threads", "2")
    c = clients(rt)

    wide = sorted((i["instance"], i["parallelism"]) for i in rt.status()["instances"]
                  if i["function"] == "wide")
    assert wide == [(0, 2), (1, 1)]  # parallelism 3 shared out over two instances
    ordered = [i for i in rt.status()["instances"] if i["function"] == "ordered"]
    assert [(i["instance"], i["parallelism"]) for i in ordered] == [(0, 2)]  # Failover: one

    producer = c.py.create_producer(spec.topic("in"), batching_enabled=True,
                                    batching_max_messages=100,
                                    block_if_queue_full=True)
    inputs = [f"m-{i:04d}".encode() for i in range(3000)]
    for p in inputs:
        producer.send_async(p, None)
    producer.flush()
    ordered_in = c.py.create_producer(spec.topic("in2"))
    for i in range(20):
        ordered_in.send(f"o{i:02d}".encode())
    seq_in = c.py.create_producer(spec.topic("seq"))
    for i in range(10):
        seq_in.send(f"s{i}".encode(), properties=event_props(f"e-{i}"))

    assert sorted(receive_all(c.py, spec.topic("out"), len(inputs))) == inputs
    assert receive_all(c.py, spec.topic("out2"), 20) == [f"O{i:02d}".encode() for i in range(20)]
    assert sorted(receive_all(c.py, spec.topic("done"), 10)) == [f"S{i}".encode()
                                                                 for i in range(10)]
    counts = {i["instance"]: i["processedSuccessfully"] for i in rt.status()["instances"]
              if i["function"] == "wide"}
    assert sum(counts.values()) == len(inputs)
    assert all(n > 0 for n in counts.values()), counts  # both threads took a share
    status, metrics = rt.get("/metrics")
    assert status == 200
    for instance in ("0", "1"):
        assert f'function="wide",instance="{instance}"' in metrics, metrics[:2000]
    assert rt.terminate() == 0
