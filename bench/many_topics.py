"""Many topics on one `shfn broker`: N topics with one small message each, written by the
official Python client under the usual soft descriptor limit (1,024), then a sample read back.
Prints, as it goes and at the end, the broker's open descriptors, its RSS and peak RSS, and the
data directory's disk use; asserts only that every message read back is the one written.

    python bench/many_topics.py [--topics 100000] [--threads 8] [--sample 1000]

Env: SHFN_BIN (default build/src/cli/shfn). Run through bench/run-many-topics.sh."""
import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pulsar


def broker_figures(pid, data):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    used = subprocess.run(["du", "-sk", data], capture_output=True, text=True).stdout.split()[0]
    return {"fds": fds, "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
            "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024, "disk_mb": int(used) / 1024}


def report(label, started, done, figures):
    elapsed = time.monotonic() - started
    print(f"{label:>10}: {done:>7} topics in {elapsed:7.1f}s ({done / max(elapsed, 1e-9):6.0f}/s)"
          f"  fds {figures['fds']:>5}  rss {figures['rss_mb']:6.1f} MB"
          f"  peak {figures['peak_rss_mb']:6.1f} MB  disk {figures['disk_mb']:8.1f} MB", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", type=int, default=100000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--sample", type=int, default=1000)
    args = parser.parse_args()
    binary = os.environ.get("SHFN_BIN", "build/src/cli/shfn")
    work = tempfile.mkdtemp(prefix="shfn-many-topics-")
    data = os.path.join(work, "data")

    def usual_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    broker = subprocess.Popen([binary, "broker", "--listen", "127.0.0.1:0", "--data-dir", data,
                               "--admin", "off"], stdout=subprocess.PIPE,
                              stderr=open(os.path.join(work, "broker.log"), "w"),
                              preexec_fn=usual_limit)
    try:
        url = broker.stdout.readline().decode().split(" on ", 1)[1].strip()
        print(f"shfn broker {url}, RLIMIT_NOFILE 1024, {os.cpu_count()} cores", flush=True)
        client = pulsar.Client(url, operation_timeout_seconds=60, io_threads=2)
        started = time.monotonic()
        next_topic = iter(range(args.topics))
        lock = threading.Lock()
        done = [0]
        errors = []

        def writer():
            while True:
                with lock:
                    i = next(next_topic, None)
                if i is None or errors:
                    return
                try:
                    producer = client.create_producer(f"t-{i}", batching_enabled=False)
                    producer.send(f"message of t-{i}".encode())
                    producer.close()
                except Exception as e:  # reported below: the run stops
                    errors.append(f"t-{i}: {e!r}")
                    return
                with lock:
                    done[0] += 1

        threads = [threading.Thread(target=writer) for _ in range(args.threads)]
        for t in threads:
            t.start()
        step = max(args.topics // 10, 1)
        shown = 0
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            if done[0] >= shown + step:  # about every tenth of the run
                shown = done[0] // step * step
                report("written", started, done[0], broker_figures(broker.pid, data))
        for t in threads:
            t.join()
        if errors:
            print("FAILED:", *errors[:5], sep="\n  ")
            sys.exit(1)
        report("written", started, done[0], broker_figures(broker.pid, data))

        read_started = time.monotonic()
        sample = random.Random(1).sample(range(args.topics), min(args.sample, args.topics))
        for i in sample:
            reader = client.create_reader(f"t-{i}", pulsar.MessageId.earliest)
            got = reader.read_next(timeout_millis=30000).data()
            assert got == f"message of t-{i}".encode(), (i, got)
            reader.close()
        report("read back", read_started, len(sample), broker_figures(broker.pid, data))
        client.close()
        time.sleep(1)
        report("idle", started, done[0], broker_figures(broker.pid, data))
    finally:
        broker.terminate()
        broker.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
