"""`shfn broker` running out of resources under load from the official Python client: file
descriptors (a low RLIMIT_NOFILE, then topics and connections until it has none left) and disk
(a small tmpfs, filled). While out, the broker must not spin, and what it already serves goes on;
once the resource is back it serves new work again, and every receipted message reads back once,
in the order its producer sent it. Nothing here asserts an error text or how long a failing send
takes."""
import os
import socket
import subprocess
import time

import pulsar
import pytest

from chaoslib import (Broker, Load, client_logger, cpu_seconds, payload, read_topic, summary,
                      tally, wait_for)

NOFILE = 64


def test_out_of_descriptors_under_load(workdir):
    started = time.monotonic()
    broker = Broker(workdir, nofile=NOFILE).start()

    def log_lines():
        return len(broker.log().splitlines())

    # A steady load on one topic through the whole scenario, on a connection made beforehand.
    load = Load(lambda: broker.url, "chaos-fds-main", "chaos-main", workdir, rate=200)
    try:
        wait_for(lambda: load.receipts() >= 50, what="the load under way")
        # Some connections to give back later, then topics (each keeps its log open) until the
        # broker has no descriptor left for the next one.
        held = [socket.create_connection(("127.0.0.1", broker.port)) for _ in range(8)]
        client = pulsar.Client(broker.url, operation_timeout_seconds=3,
                               logger=client_logger(workdir))
        topics = {}  # topic -> producer name, for the topics that took their one message
        refused = None
        for i in range(NOFILE):
            topic = f"chaos-fds-{i}"
            try:
                producer = client.create_producer(topic, producer_name=f"t{i}",
                                                  send_timeout_millis=3000)
                producer.send(payload(f"t{i}", 0), sequence_id=0)
                topics[topic] = f"t{i}"
            except Exception:
                refused = topic
                break
        assert refused, f"{NOFILE} topics and the broker never ran out of descriptors"
        # And more connections than it could take: the kernel completes them, the broker cannot
        # accept them.
        held += [socket.create_connection(("127.0.0.1", broker.port)) for _ in range(50)]

        # Out of descriptors now. Watch the broker while the load goes on through its connection:
        # a broker that spins on accept() burns a core and floods its log.
        lines, cpu, wall = log_lines(), cpu_seconds(broker.proc.pid), time.monotonic()
        target = load.receipts() + 300
        wait_for(lambda: load.receipts() >= target, what="the load to go on while out")
        spent, elapsed = cpu_seconds(broker.proc.pid) - cpu, time.monotonic() - wall
        logged = log_lines() - lines

        for s in held:
            s.close()
        client.close()
        # Serving again: a new connection, the topic that was refused, a new topic.
        again = pulsar.Client(broker.url, operation_timeout_seconds=30,
                              logger=client_logger(workdir))
        for n, topic in enumerate([refused, "chaos-fds-after"]):
            producer = again.create_producer(topic, producer_name=f"after{n}")
            producer.send(payload(f"after{n}", 0), sequence_id=0)
            topics[topic] = f"after{n}"
        again.close()
        target = load.receipts() + 50
        wait_for(lambda: load.receipts() >= target, what="the load after the release")
        load.finish()

        main = read_topic(broker.url, "chaos-fds-main", workdir)
        lost, duplicates, disorder = tally({load.name: load.receipted}, main)
        for topic, name in topics.items():
            got = read_topic(broker.url, topic, workdir)
            lost += [(topic, 0)] if got.count(payload(name, 0)) == 0 else []
            duplicates += [(topic, 0)] if got.count(payload(name, 0)) > 1 else []
        summary("descriptors", nofile=NOFILE, topics=len(topics), receipted=len(load.receipted),
                read=len(main), lost=len(lost), duplicates=len(duplicates),
                cpu_while_out=f"{spent:.2f}s/{elapsed:.1f}s", log_lines_while_out=logged,
                wall=f"{time.monotonic() - started:.1f}s")
        # A spinning broker uses a core for as long as it is out; this one serves 200 sends a
        # second, a few percent of one. The bound is a fraction of the time watched, not a time.
        assert spent < 0.5 * elapsed, f"{spent:.2f} s of CPU in {elapsed:.1f} s out of descriptors"
        assert logged <= 10, broker.log()[-3000:]
        assert broker.alive(), broker.log()[-3000:]
        assert not lost, f"receipted messages missing: {lost[:5]}"
        assert not duplicates, f"messages stored twice: {duplicates[:5]}"
        assert not disorder
        assert len(load.receipted) == load.sent, f"sends failed: {list(load.failed.items())[:5]}"
    finally:
        load.abort()
        broker.stop()


# ------------------------------------------------------------------------------ disk full

@pytest.fixture
def small_disk(workdir):
    """mount(size) -> a directory on a tmpfs of that size (root only), unmounted at the end."""
    mounted = []

    def mount(size):
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        path = os.path.join(workdir, "disk")
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", path], check=False)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def accepted(client, topic, name, message):
    """Whether a producer could be made and the message stored; False while the disk is full."""
    try:
        client.create_producer(topic, producer_name=name).send(message)
        return True
    except pulsar.ProducerBlockedQuotaExceededException:
        return False


def fill_then_free(workdir, disk, filler_bytes, recovery_timeout):
    """Two producers fill the disk; the filler file written beforehand is deleted; the broker
    must take writes again (both producers' receipts grow, a new topic takes a message). Then a
    kill -9 and a restart on the same disk: every receipted message reads back once, in order
    per producer, before and after."""
    started = time.monotonic()
    filler, spare = os.path.join(disk, "filler"), os.path.join(disk, "spare")
    for path, size in ((filler, filler_bytes), (spare, 256 << 10)):
        with open(path, "wb") as f:
            f.write(b"\0" * size)
    broker = Broker(workdir, data_dir=os.path.join(disk, "data")).start()
    loads = [Load(lambda: broker.url, "chaos-full", f"chaos-p{i}", workdir, pad=1000,
                  window=100) for i in range(2)]
    try:
        # Full: less space left than a log may write ahead at once (1 MiB) with a record, and
        # the broker said something about it (what, and how a send fails, is not asserted).
        start_lines = len(broker.log().splitlines())
        wait_for(lambda: free_bytes(disk) < (1 << 20) + (64 << 10)
                 and len(broker.log().splitlines()) > start_lines, what="the disk to fill")
        os.remove(filler)
        counts = [load.receipts() for load in loads]
        wait_for(lambda: all(load.receipts() >= c + 50 for load, c in zip(loads, counts)),
                 timeout=recovery_timeout, what="writes accepted again after space was freed")
        for load in loads:
            load.finish()  # they would fill the disk again
        # Room for a new topic too: its log's zeros written ahead must not have taken it all.
        os.remove(spare)
        client = pulsar.Client(broker.url, operation_timeout_seconds=30,
                               logger=client_logger(workdir))
        wait_for(lambda: accepted(client, "chaos-after-full", "after", payload("after", 0)),
                 timeout=recovery_timeout, what="a new topic to take a message")
        client.close()
        receipted = {load.name: load.receipted for load in loads}
        receipted["after"] = {0}
        before = read_topic(broker.url, "chaos-full", workdir)
        before += read_topic(broker.url, "chaos-after-full", workdir)
        broker.kill()
        broker.start()
        after = read_topic(broker.url, "chaos-full", workdir)
        after += read_topic(broker.url, "chaos-after-full", workdir)
        counted, figures = {}, {}
        for when, payloads in (("before the kill", before), ("after the kill", after)):
            counted[when] = lost, duplicates, _ = tally(receipted, payloads)
            prefix = "after_kill_" if when == "after the kill" else ""
            figures.update({prefix + "read": len(payloads), prefix + "lost": len(lost),
                            prefix + "duplicates": len(duplicates)})
        summary("disk-full", receipted=sum(map(len, receipted.values())), **figures,
                wall=f"{time.monotonic() - started:.1f}s")
        for when, (lost, duplicates, disorder) in counted.items():
            assert not lost, f"receipted messages missing {when}: {lost[:5]}"
            assert not duplicates, f"messages stored twice {when}: {duplicates[:5]}"
            assert not disorder, f"a producer's messages out of order {when}: {disorder}"
        assert after == before
    finally:
        for load in loads:
            load.abort()
        broker.stop()


def test_disk_full_under_load_then_space_freed(workdir, small_disk):
    # 2 MiB freed: more than the most a log writes ahead at once (1 MiB).
    fill_then_free(workdir, small_disk("4m"), 2 << 20, recovery_timeout=60)


# Less freed than a log's write-ahead chunk (1 MiB): a log that could not write its chunk ahead
# used to keep the zeros it wrote, so the freed space went to zeros and writes never resumed.
def test_disk_full_then_less_than_a_write_ahead_chunk_freed(workdir, small_disk):
    fill_then_free(workdir, small_disk("2m"), 512 << 10, recovery_timeout=10)
