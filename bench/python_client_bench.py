"""The same measurements as client_bench.cc, with the official Python client (C++ core).

usage: python_client_bench.py URL [messages] [payload_bytes] [rate]"""
import os
import sys
import threading
import time
import uuid

import pulsar


def main():
    url = sys.argv[1]
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    token = os.environ.get("PULSAR_TOKEN")
    client = pulsar.Client(url, authentication=pulsar.AuthenticationToken(token) if token else None)
    topic = f"bench-py-{uuid.uuid4().hex[:8]}"
    consumer = client.subscribe(topic, "bench", initial_position=pulsar.InitialPosition.Earliest,
                                receiver_queue_size=1000)
    producer = client.create_producer(topic, batching_enabled=True, max_pending_messages=10000,
                                      block_if_queue_full=True, batching_max_publish_delay_ms=1)
    payload = b"x" * size
    failed = [0]

    def done(res, _msg_id):
        if res != pulsar.Result.Ok:
            failed[0] += 1

    t0 = time.perf_counter()
    for _ in range(messages):
        producer.send_async(payload, done)
    producer.flush()
    produce_s = time.perf_counter() - t0
    print(f"python-client produce: {messages} msgs x {size} B in {produce_s:.2f} s = "
          f"{messages / produce_s:.0f} msg/s ({messages * size / produce_s / 1e6:.1f} MB/s), {failed[0]} failed")

    t0 = time.perf_counter()
    received = 0
    while received < messages:
        msg = consumer.receive(timeout_millis=10000)
        consumer.acknowledge(msg)
        received += 1
    consume_s = time.perf_counter() - t0
    print(f"python-client consume: {received} msgs in {consume_s:.2f} s = {received / consume_s:.0f} msg/s")

    lat_producer = client.create_producer(topic + "-latency", batching_enabled=False)
    latencies = []
    lock = threading.Lock()
    count = min(messages, rate * 10)
    interval = 1.0 / rate
    next_at = time.perf_counter()
    for _ in range(count):
        next_at += interval
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent_at = time.perf_counter()

        def receipt(res, _msg_id, sent_at=sent_at):
            if res == pulsar.Result.Ok:
                with lock:
                    latencies.append((time.perf_counter() - sent_at) * 1000)
        lat_producer.send_async(payload, receipt)
    lat_producer.flush()
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(f"python-client latency @ {rate} msg/s: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(latencies)} samples)")
    client.close()


if __name__ == "__main__":
    main()
