"""Stream mode with per-key order, ATMOST_ONCE, and script stderr on the log topic."""
import pulsar
import pytest

from conftest import wait_for

STREAM = """kind: Function
metadata:
  name: upper
spec:
  command: ["stdbuf", "-oL", "tr", "a-z", "A-Z"]
  mode: stream
  framing: lines
  parallelism: 2
  retainKeyOrdering: true
  inputs: [in]
  output: out
"""


def test_stream_mode_keeps_per_key_order(make_spec, runtimes, clients):
    spec = make_spec(text=STREAM, topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    producer = c.py.create_producer(spec.topic("in"), batching_enabled=True)
    keys = [f"k{i}" for i in range(5)]
    for seq in range(200):
        key = keys[seq % len(keys)]
        producer.send_async(f"{key}-{seq:03d}".encode(), None, partition_key=key)
    producer.flush()
    by_key = {}
    for _ in range(200):
        m = out.receive(timeout_millis=30000)
        by_key.setdefault(m.partition_key(), []).append(m.data().decode())
        out.acknowledge(m)
    for key in keys:
        expected = [f"{key}-{seq:03d}".upper() for seq in range(200) if seq % 5 == keys.index(key)]
        assert by_key[key] == expected
    upper = rt.instance("upper")
    assert upper["mode"] == "stream" and upper["subscriptionType"] == "Key_Shared"
    assert rt.terminate() == 0


PLAIN_REV = """kind: Function
metadata:
  name: reverse
spec:
  command: ["rev"]
  mode: stream
  framing: lines
  timeoutMs: 60000
  inputs: [in]
  output: out
"""


def test_a_c_filter_answers_a_lone_message_as_it_is_written(make_spec, runtimes, clients):
    # rev buffers its stdout fully on a pipe; shfn makes it line-buffered, so one message comes
    # back at once rather than when the timeout kills the worker (whose retry would then wait
    # just as long again).
    spec = make_spec(text=PLAIN_REV, topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    c.py.create_producer(spec.topic("in")).send(b"stressed")
    m = out.receive(timeout_millis=30000)
    assert m.data() == b"desserts"
    assert rt.instance("reverse")["userExceptions"] == 0
    assert rt.terminate() == 0


HELD_REV = """kind: Function
metadata:
  name: held
spec:
  command: ["rev"]
  env:
    _STDBUF_O: "65536"
  mode: stream
  framing: lines
  timeoutMs: 1500
  inputs: [in]
  output: out
  logTopic: log
"""


def test_a_worker_holding_its_answers_is_named_on_the_log_topic(make_spec, runtimes, clients):
    # rev with its full buffering asked back: it sits on the message, and the log says so.
    spec = make_spec(text=HELD_REV, topics=["in", "out", "log"])
    rt = runtimes(spec)
    c = clients(rt)
    c.py.create_producer(spec.topic("in")).send(b"stressed")
    reader = c.reader(spec.topic("log"))
    while True:
        m = reader.read_next(timeout_millis=20000)
        if b"stdbuf -oL rev" in m.data():
            assert m.properties()["level"] == "WARN"
            assert b"answered nothing" in m.data()
            break
    rt.terminate()


AT_MOST_ONCE = """kind: Function
metadata:
  name: amo
spec:
  command: 'read -r line; echo "checking $line" >&2; if [ "$line" = bad ]; then echo "refusing $line" >&2; exit 4; fi; echo "$line"'
  inputs: [in]
  output: out
  logTopic: log
  deadLetterTopic: dlq
  processingGuarantees: ATMOST_ONCE
"""


def test_at_most_once_never_retries_and_stderr_reaches_the_log_topic(make_spec, runtimes,
                                                                     clients):
    spec = make_spec(text=AT_MOST_ONCE, topics=["in", "out", "log", "dlq"])
    rt = runtimes(spec)
    c = clients(rt)
    c.produce(spec.topic("in"), "good", "bad", "fine")
    assert sorted(m["payload"] for m in c.consume_json(spec.topic("out"), 2)) == ["fine\n",
                                                                                   "good\n"]
    parked = c.consume_json(spec.topic("dlq"), 1)[0]
    assert parked["payload"] == "bad" and parked["properties"]["SHFN_ATTEMPTS"] == "1"
    amo = wait_for(lambda: (lambda s: s if s["deadLettered"] == 1 else None)(rt.instance("amo")),
                   what="the dead letter to be counted")
    assert amo["userExceptions"] == 1 and amo["retried"] == 0

    # What a script says on stderr is logged at WARN when it fails, at INFO when it succeeds;
    # every line names its function, for a raw consume of the topic.
    bad_id = parked["properties"]["ORIGIN_MESSAGE_ID"]
    reader = c.reader(spec.topic("log"))
    said = {}
    while len([line for line in said if "checking" in line or "refusing" in line]) < 4:
        m = reader.read_next(timeout_millis=20000)
        props = m.properties()
        assert props["function"] == "amo" and props["instance"] == "0"
        said[m.data().decode()] = props
    assert said[f"WARN [amo/0] {bad_id}: checking bad"]["level"] == "WARN"
    assert said[f"WARN [amo/0] {bad_id}: refusing bad"]["message_id"] == bad_id
    successes = [line for line in said if line.startswith("INFO [amo/0] ") and "checking" in line]
    assert sorted(line.split(": ", 1)[1] for line in successes) == ["checking fine",
                                                                    "checking good"]


BATCHED = """kind: Function
metadata:
  name: batched
spec:
  command: cat
  inputs: [in]
  output: out
  subscriptionPosition: Earliest
  producerConfig:
    batchingConfig:
      enabled: ENABLED
      batchingMaxPublishDelayMs: 30000
      batchingMaxMessages: 5
"""


def output_entries(client, topic, count):
    """The (ledger, entry) of each of the first `count` messages on `topic`, and their payloads."""
    reader = client.create_reader(topic, pulsar.MessageId.earliest)
    entries, payloads = [], []
    for _ in range(count):
        m = reader.read_next(timeout_millis=30000)
        entries.append((m.message_id().ledger_id(), m.message_id().entry_id()))
        payloads.append(m.data())
    reader.close()
    return entries, payloads


@pytest.mark.parametrize("enabled,distinct_entries", [("true", 2), ("false", 10)])
def test_outputs_are_batched_as_the_producer_config_says(make_spec, runtimes, clients, enabled,
                                                         distinct_entries):
    spec = make_spec(text=BATCHED.replace("ENABLED", enabled), topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    # One input batch: the function sees the ten at once, so more are always waiting until the
    # last; batched, five outputs then fill a batch long before its 30 s delay.
    producer = c.py.create_producer(spec.topic("in"), batching_enabled=True,
                                    batching_max_publish_delay_ms=60000)
    inputs = [f"m-{i}".encode() for i in range(10)]
    for p in inputs:
        producer.send_async(p, None)
    producer.flush()
    entries, payloads = output_entries(c.py, spec.topic("out"), len(inputs))
    assert payloads == inputs
    assert len(set(entries)) == distinct_entries
    assert rt.terminate() == 0


def test_an_output_with_nothing_else_coming_does_not_wait_for_its_batch(make_spec, runtimes,
                                                                        clients):
    spec = make_spec(text=BATCHED.replace("ENABLED", "true"), topics=["in", "out"])
    rt = runtimes(spec)
    c = clients(rt)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    producer = c.py.create_producer(spec.topic("in"))
    for payload in (b"alone", b"alone again"):
        producer.send(payload)
        # Far sooner than the batch's 30 s delay: no script ran and no input waited after it.
        m = out.receive(timeout_millis=10000)
        assert m.data() == payload
        out.acknowledge(m)
    assert rt.terminate() == 0


BURST = """kind: Function
metadata:
  name: burst
spec:
  command: [cat]
  mode: stream
  framing: lines
  parallelism: 2
  inputs: [in]
  output: out
  deadLetterTopic: dlq
  maxMessageRetries: 1
  subscriptionPosition: Earliest
"""


def test_a_burst_runs_in_batches_and_a_message_that_fails_fails_alone(make_spec, runtimes,
                                                                      clients):
    """A backlog goes to the workers in batches; a payload the lines framing cannot carry fails
    on its own, is retried and dead-lettered, and costs its neighbours nothing. Two event loops
    make the function's two workers two instances with a consumer each, on one Shared
    subscription: a failed message of a batch entry is retried where it is, since a negative ack
    would have the broker send the whole entry again, perhaps to the other instance, which would
    run its acknowledged neighbours again."""
    spec = make_spec(text=BURST, topics=["in", "out", "dlq"])
    rt = runtimes(spec, "--threads", "2")
    c = clients(rt)
    producer = c.py.create_producer(spec.topic("in"), batching_enabled=True,
                                    batching_max_messages=100,
                                    block_if_queue_full=True)
    inputs = [f"m-{i:04d}".encode() for i in range(600)]
    bad = {50: b"bad\n50", 300: b"bad\n300", 599: b"bad\n599"}
    for i, payload in bad.items():
        inputs[i] = payload
    for p in inputs:
        producer.send_async(p, None)
    producer.flush()

    good = sorted(p for p in inputs if b"\n" not in p)
    out = c.py.subscribe(spec.topic("out"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    outputs = []
    for _ in good:
        m = out.receive(timeout_millis=30000)
        outputs.append(m.data())
        out.acknowledge(m)
    with pytest.raises(pulsar.Timeout):
        out.receive(timeout_millis=1000)  # nothing more: no duplicate
    assert sorted(outputs) == good

    dlq = c.py.subscribe(spec.topic("dlq"), "check",
                         initial_position=pulsar.InitialPosition.Earliest)
    parked = sorted(dlq.receive(timeout_millis=30000).data() for _ in bad)
    assert parked == sorted(bad.values())
    burst = wait_for(lambda: (lambda s: s if s["deadLettered"] == 3 else None)(rt.instance("burst")),
                     what="the dead letters to be counted")
    assert burst["processedSuccessfully"] == len(good)
    assert burst["userExceptions"] == 6  # each bad one: its attempt and its one retry
    assert burst["workerRestarts"] == 0
    assert rt.terminate() == 0
