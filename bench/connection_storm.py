"""A connection storm against `shfn broker`: 1,000 raw connections, each sending CONNECT, held
for a moment, then closed, three times; prints the broker's RSS at each step. Figures only.

    python bench/connection_storm.py [BINARY] [connections]"""
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time


def connect_frame():
    # BaseCommand{type: CONNECT, connect: {client_version: "storm", protocol_version: 21}}
    version = b"storm"
    connect = b"\x0a" + bytes([len(version)]) + version + b"\x20\x15"
    command = b"\x08\x02" + b"\x12" + bytes([len(connect)]) + connect
    return struct.pack(">II", len(command) + 4, len(command)) + command


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/src/cli/shfn"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    data = tempfile.mkdtemp(prefix="shfn-storm-")

    def enough_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (count * 2 + 64, count * 2 + 64))

    enough_descriptors()
    broker = subprocess.Popen([binary, "broker", "--listen", "127.0.0.1:0", "--data-dir", data,
                               "--admin", "off"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, preexec_fn=enough_descriptors)
    try:
        url = broker.stdout.readline().decode().split(" on ", 1)[1].strip()
        host, port = url.removeprefix("pulsar://").rsplit(":", 1)

        def rss_mb():
            with open(f"/proc/{broker.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS"):
                        return int(line.split()[1]) / 1024

        print(f"idle: {rss_mb():.1f} MB")
        frame = connect_frame()
        for storm in range(3):
            held = []
            for _ in range(count):
                s = socket.create_connection((host, int(port)))
                s.sendall(frame)
                held.append(s)
            for s in held:
                s.recv(100)  # CONNECTED: the broker has the connection
            print(f"storm {storm + 1}: {count} connected: {rss_mb():.1f} MB")
            for s in held:
                s.close()
            time.sleep(2)
            print(f"storm {storm + 1}: closed: {rss_mb():.1f} MB")
    finally:
        broker.terminate()
        broker.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
