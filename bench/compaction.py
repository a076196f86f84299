"""Topic compaction on `shfn broker` and on Apache Pulsar standalone, side by side: a topic of
N keyed messages (K distinct keys, batched by the official Python client) is compacted through
the admin API, then a reader with `is_read_compacted` reads the view. Prints, per broker and
run, the time from the compaction request to SUCCESS, the broker's own duration
(lastCompactionDurationTimeInMills), and the compacted read; then medians and ratios. Asserts
only that the view holds each key's last value, once.

    python bench/compaction.py [--messages 200000] [--keys 1000] [--runs 3]

Env: SHFN_BIN (default build/src/cli/shfn); PULSAR_URL, PULSAR_HTTP, PULSAR_TOKEN for the
standalone (scripts/pulsar-standalone.sh start writes them); without them only shfn runs."""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pulsar


def request(broker, method, path):
    headers = {"Authorization": "Bearer " + broker["token"]} if broker["token"] else {}
    r = urllib.request.Request(broker["http"] + path, method=method, headers=headers)
    with urllib.request.urlopen(r, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body else None


def start_shfn(data):
    binary = os.environ.get("SHFN_BIN", "build/src/cli/shfn")
    proc = subprocess.Popen([binary, "broker", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                             "--data-dir", data], stdout=subprocess.PIPE, text=True)
    urls = {}
    while len(urls) < 2:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("shfn broker exited before it was ready")
        for prefix, key in (("shfn broker ready on pulsar://", "url"),
                            ("shfn admin ready on http://", "http")):
            if line.startswith(prefix):
                urls[key] = line.split()[-1]
    return proc, {"url": urls["url"], "http": urls["http"], "token": ""}


def one_run(broker, messages, keys):
    auth = pulsar.AuthenticationToken(broker["token"]) if broker["token"] else None
    client = pulsar.Client(broker["url"], authentication=auth)
    topic = f"compaction-bench-{uuid.uuid4().hex[:8]}"
    producer = client.create_producer(topic, batching_enabled=True, batching_max_messages=1000,
                                      batching_max_publish_delay_ms=5, block_if_queue_full=True)
    for i in range(messages):
        producer.send_async(f"{i}".encode(), None, partition_key=f"k{i % keys}")
    producer.flush()
    path = f"/admin/v2/persistent/public/default/{topic}"
    started = time.monotonic()
    request(broker, "PUT", path + "/compaction")
    while request(broker, "GET", path + "/compaction")["status"] == "RUNNING":
        time.sleep(0.01)
    compacted = time.monotonic() - started
    reported = request(broker, "GET", path + "/stats")["compaction"]
    started = time.monotonic()
    reader = client.create_reader(topic, pulsar.MessageId.earliest, is_read_compacted=True)
    view = {}
    while reader.has_message_available():
        m = reader.read_next(timeout_millis=60000)
        if m.partition_key():
            assert m.partition_key() not in view, "a key twice in the compacted view"
            view[m.partition_key()] = int(m.data())
    read = time.monotonic() - started
    client.close()
    assert view == {f"k{k}": messages - keys + k for k in range(keys)}, "not each key's last value"
    return {"compact_s": compacted, "broker_ms": reported["lastCompactionDurationTimeInMills"],
            "read_s": read}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    brokers = {}
    with tempfile.TemporaryDirectory(prefix="shfn-compaction-bench-") as data:
        proc, brokers["shfn"] = start_shfn(data)
        if os.environ.get("PULSAR_URL"):
            brokers["standalone"] = {"url": os.environ["PULSAR_URL"],
                                     "http": os.environ["PULSAR_HTTP"].rstrip("/"),
                                     "token": os.environ.get("PULSAR_TOKEN", "")}
        try:
            figures = {name: [] for name in brokers}
            for run in range(args.runs):  # interleaved, so both see the same machine
                for name, broker in brokers.items():
                    f = one_run(broker, args.messages, args.keys)
                    figures[name].append(f)
                    print(f"run {run + 1} {name:>10}: compaction {f['compact_s']:6.2f} s "
                          f"(broker {f['broker_ms']} ms), compacted read {f['read_s']:6.2f} s",
                          flush=True)
        finally:
            proc.terminate()
            proc.wait()
    print(f"\n{args.messages} messages, {args.keys} keys, medians of {args.runs} runs, "
          f"{os.cpu_count()} cores")
    medians = {name: {key: statistics.median(f[key] for f in runs) for key in runs[0]}
               for name, runs in figures.items()}
    for name, m in medians.items():
        print(f"{name:>10}: compaction {m['compact_s']:6.2f} s, compacted read {m['read_s']:6.2f} s")
    if "standalone" in medians:
        ours, theirs = medians["shfn"], medians["standalone"]
        print(f"     ratio: compaction {theirs['compact_s'] / ours['compact_s']:.1f}x faster, "
              f"compacted read {theirs['read_s'] / ours['read_s']:.1f}x faster on shfn")


if __name__ == "__main__":
    main()
