"""A `shfn consume` process killed with SIGKILL mid-stream: what it held is not lost.

The broker redelivers whatever the dead consumer had been sent but had not acknowledged, to the
consumers that remain (here the official Python client). `shfn consume` acknowledges a message
only after writing it out, so everything is either in the dead process's output or redelivered.
"""
import signal
import subprocess

import pulsar

COUNT = 3000


def produce_numbered(py_client, topic):
    producer = py_client.create_producer(topic, batching_enabled=True, block_if_queue_full=True)
    failures = []
    for i in range(COUNT):
        producer.send_async(f"{i:0200d}".encode(),  # 200 bytes: a pipe holds ~300 of them
                            lambda res, _id: failures.append(res) if res != pulsar.Result.Ok else None)
    producer.flush()
    producer.close()
    assert not failures
    return {f"{i:0200d}" for i in range(COUNT)}


def start_shfn_consumer(shfn, topic, sub_type):
    return subprocess.Popen([shfn.binary, "consume", topic, "-s", "work", "-t", sub_type,
                             "-p", "earliest", "-n", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=shfn.env)


def kill_after_some_output(proc, lines=10):
    """Reads a few lines (so the consumer is surely receiving), then SIGKILLs it while it is
    blocked on the full pipe, and returns everything it wrote, including what is still piped."""
    seen = [proc.stdout.readline() for _ in range(lines)]
    assert all(seen), proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    return {line.decode() for line in b"".join(seen + [rest]).splitlines()}


def drain(consumer, idle_ms=5000):
    got, redelivered = set(), 0
    while True:
        try:
            msg = consumer.receive(timeout_millis=idle_ms)
        except pulsar.Timeout:
            return got, redelivered
        got.add(msg.data().decode())
        redelivered += msg.redelivery_count() > 0
        consumer.acknowledge(msg)


def test_unacked_messages_of_a_killed_consumer_are_redelivered(py_client, shfn, topic):
    sent = produce_numbered(py_client, topic)
    proc = start_shfn_consumer(shfn, topic, "shared")
    printed = kill_after_some_output(proc)
    consumer = py_client.subscribe(topic, "work", consumer_type=pulsar.ConsumerType.Shared)
    received, _ = drain(consumer)
    consumer.close()
    assert printed | received == sent
    assert len(printed) < COUNT, "the killed consumer cannot have written everything"
    assert received, "the survivor must get what the dead consumer held"


def test_failover_hands_over_when_the_active_consumer_is_killed(py_client, shfn, topic):
    sent = produce_numbered(py_client, topic)
    proc = start_shfn_consumer(shfn, topic, "failover")
    seen = proc.stdout.readline()  # shfn is the first and so the active consumer
    assert seen, proc.stderr.read().decode()
    standby = py_client.subscribe(topic, "work", consumer_type=pulsar.ConsumerType.Failover,
                                  consumer_name="standby")
    printed = kill_after_some_output(proc, lines=1) | {seen.decode().rstrip("\n")}
    received, _ = drain(standby)
    standby.close()
    assert printed | received == sent
    assert received, "the standby must take over"
