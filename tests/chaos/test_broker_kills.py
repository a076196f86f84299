"""`shfn broker` killed with SIGKILL again and again while the official Python client produces
numbered messages, and started again on the same data directory. Whatever got a receipt must
read back, once, in the order it was sent; deduplication (producer name + sequence id) must
drop every resend of a message the dead broker had stored but not yet answered.

Two ways a client comes back, both checked:
- the client's own reconnect: it keeps its producer, looks the topic up again (through a
  forwarder with a stable address, since the restarted broker listens on a new port) and
  resends what had no receipt under the same sequence ids; batched and not;
- a new client and producer under the same producer name on the broker's new URL, the
  application resending every message without a receipt under its own sequence id (the
  message number): a re-created producer learns the last stored sequence id from the broker."""
import time

import pytest

from chaoslib import (Broker, Forwarder, Load, kill_points, read_topic, resend, summary, tally,
                      wait_for)

TOPIC = "persistent://public/default/chaos-broker-kill"


def kill_and_restart(broker, load, rng, count, low, high):
    for step in kill_points(rng, count, low, high):
        target = load.receipts() + step
        wait_for(lambda: load.receipts() >= target, timeout=90,
                 what=f"{target} receipts (kill {broker.kills + 1}, {load.receipts()} so far)")
        broker.kill()
        broker.start()
    target = load.receipts() + high  # and it goes on after the last restart
    wait_for(lambda: load.receipts() >= target, timeout=90, what="receipts after the last restart")


def check(scenario, broker, load, started, workdir):
    load.finish()
    payloads = read_topic(broker.url, TOPIC, workdir)
    lost, duplicates, disorder = tally({load.name: load.receipted}, payloads)
    summary(scenario, kills=broker.kills, sent=load.sent, receipted=len(load.receipted),
            read=len(payloads), lost=len(lost), duplicates=len(duplicates),
            resent_already_stored=load.already_stored, deduplicated=load.deduplicated,
            wall=f"{time.monotonic() - started:.1f}s")
    assert not lost, f"{len(lost)} receipted messages missing, e.g. {lost[:5]}"
    assert not duplicates, f"{len(duplicates)} messages stored twice, e.g. {duplicates[:5]}"
    assert not disorder, "messages read back out of the order they were sent in"
    return payloads


@pytest.mark.parametrize("batching", [False, True], ids=["single", "batched"])
def test_broker_kill_9_under_load_client_reconnects(workdir, rng, kills, batching):
    started = time.monotonic()
    broker = Broker(workdir).start()
    forwarder = Forwarder(lambda: ("127.0.0.1", broker.port) if broker.alive() else None)
    load = Load(lambda: forwarder.url, TOPIC, "chaos-producer", workdir, batching=batching)
    try:
        kill_and_restart(broker, load, rng, kills(8), 200, 3000)
        payloads = check(f"broker-kill/reconnect/{'batched' if batching else 'single'}",
                         broker, load, started, workdir)
        # No send timeout: the client holds every message until it is stored, so each one of
        # them has its receipt, and nothing else is on the topic.
        assert not load.failed, f"sends failed: {list(load.failed.items())[:5]}"
        assert len(payloads) == load.sent
    finally:
        load.abort()
        forwarder.close()
        broker.stop()


def test_broker_kill_9_under_load_producer_recreated(workdir, rng, kills):
    started = time.monotonic()
    broker = Broker(workdir).start()
    load = Load(lambda: broker.url, TOPIC, "chaos-producer", workdir, recreate=True,
                generation=lambda: broker.starts)
    try:
        kill_and_restart(broker, load, rng, kills(8), 200, 3000)
        load.finish()
        # Whatever the kills hit, a resend of stored messages after a restart is one: the last
        # hundred again, under their sequence ids, are answered and not stored a second time.
        last = sorted(load.receipted)[-100:]
        assert resend(broker.url, TOPIC, load.name, last, workdir) == len(last)
        payloads = check("broker-kill/recreated", broker, load, started, workdir)
        assert load.recreated == broker.kills
        # Every message was resent until it had a receipt, so all of them are there, once.
        assert len(load.receipted) == load.sent == len(payloads)
    finally:
        load.abort()
        broker.stop()
