"""The image end to end: `shfn image build` of examples/reverse to an archive, `podman load`,
the container run against `shfn broker` on the host, messages through both functions, the user,
PID 1, a clean stop.

Podman here: vfs storage under the test's temp dir (nothing shared with the machine's own
storage), runc, host network, and --ulimit given explicitly (the default limits podman asks for
may be above what this machine allows). Where buildah or podman is missing or cannot run a
container, the test is skipped with the reason (ctest reports it as skipped, not passed)."""
import os
import resource
import shutil
import subprocess
import time

import pulsar
import pytest

from conftest import ROOT, run, shfn_bin

TAG = "shfn-test/reverse:ci"
LOADED = "localhost/" + TAG
SPEC = os.path.join(ROOT, "examples", "reverse", "reverse.yaml")


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def ulimit_flags():
    """nofile and nproc at most what this process may have: asking for more fails in runc."""
    flags = []
    for name, limit, wanted in (("nofile", resource.RLIMIT_NOFILE, 65536),
                                ("nproc", resource.RLIMIT_NPROC, 4096)):
        _, hard = resource.getrlimit(limit)
        n = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        flags += ["--ulimit", f"{name}={n}:{n}"]
    return flags


class Podman:
    def __init__(self, base):
        self.argv = ["podman", "--root", os.path.join(base, "podman"),
                     "--runroot", os.path.join(base, "podman-run"),
                     "--storage-driver", "vfs", "--runtime", "runc",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def __call__(self, *args, timeout=300, check=True):
        return run([*self.argv, *args], timeout=timeout, check=check)

    def out(self, *args, **kwargs):
        return self(*args, **kwargs).stdout.decode().strip()


def skip_unless_tools():
    missing = [t for t in ("buildah", "podman", "runc") if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup.sh installs them): "
                    "cannot build or run the image here")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """Builds and loads the image once for the module; yields the podman to run it with."""
    skip_unless_tools()
    base = str(tmp_path_factory.mktemp("image"))
    build_root = [os.path.join(base, "buildah"), os.path.join(base, "buildah-run")]
    probe = run(["buildah", "--root", build_root[0], "--runroot", build_root[1],
                 "--storage-driver", "vfs", "from", "--name", "probe", "scratch"], check=False)
    if probe.returncode != 0:
        pytest.skip("buildah cannot work here: `buildah from scratch` failed:\n"
                    + probe.stderr.decode(errors="replace"))
    run(["buildah", "--root", build_root[0], "--runroot", build_root[1],
         "--storage-driver", "vfs", "rm", "probe"])
    archive = os.path.join(base, "image.tar")
    started = time.monotonic()
    built = run([shfn_bin(), "image", "build", SPEC, "-t", TAG, "-o", archive,
                 "--root", build_root[0], "--runroot", build_root[1]], timeout=1500)
    print(built.stdout.decode(), f"(build: {time.monotonic() - started:.1f} s)")
    assert os.path.getsize(archive) > 0
    # The archive is all podman gets: it has its own storage.
    shutil.rmtree(build_root[0], ignore_errors=True)
    podman = Podman(base)
    podman("load", "-i", archive)
    check = podman("run", "--rm", "--network", "host", *ulimit_flags(), "--entrypoint",
                   "/bin/true", LOADED, check=False)
    if check.returncode != 0:
        pytest.skip("podman cannot run a container here: `podman run --rm --entrypoint "
                    f"/bin/true {LOADED}` failed:\n" + check.stderr.decode(errors="replace"))
    yield podman
    podman("rm", "-a", "-f", "-v", check=False)
    podman("rmi", "-a", "-f", check=False)
    shutil.rmtree(base, ignore_errors=True)


class Broker:
    """`shfn broker` on the host, on a free port of 127.0.0.1."""

    def __init__(self, workdir):
        self.proc = subprocess.Popen(
            [shfn_bin(), "broker", "--listen", "127.0.0.1:0", "--data-dir",
             os.path.join(workdir, "broker-data"), "--admin", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("shfn broker ready on "), line
        self.url = line.split(" on ", 1)[1].strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def test_the_image_describes_its_contract(image):
    config = image.out("image", "inspect", "--format",
                       "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.User}} "
                       "{{.Config.WorkingDir}}", LOADED)
    assert config == ('["/usr/bin/tini","--","/usr/local/bin/shfn","run","/app/reverse.yaml"] '
                      '["--admin","0.0.0.0:8081"] 10001:10001 /app'), config
    labels = image.out("image", "inspect", "--format",
                       '{{index .Labels "dev.shfn.functions"}}', LOADED)
    assert labels == "reverse,reverse-arg"


def test_the_container_reverses_messages_from_a_broker_on_the_host(image, tmp_path):
    broker = Broker(str(tmp_path))
    name = f"shfn-reverse-{os.getpid()}"
    client = None
    try:
        image("run", "-d", "--name", name, "--network", "host", *ulimit_flags(), LOADED,
              "--admin", "127.0.0.1:0", "--url", broker.url)

        def logs():
            r = image("logs", name, check=False)
            return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

        def ready():
            text = logs()
            state = image.out("inspect", "--format", "{{.State.Status}}", name)
            if state not in ("running", "created", "configured"):
                pytest.fail(f"the container is {state} before it was ready:\n{text}")
            return "shfn functions ready" in text
        wait_for(ready, 120, "'shfn functions ready' in the container's logs")

        # The functions run as the image's user, under tini as PID 1.
        assert image.out("exec", name, "id", "-u") == "10001"
        assert image.out("exec", name, "cat", "/proc/1/comm") == "tini"

        client = pulsar.Client(broker.url, operation_timeout_seconds=20)
        outputs = {topic: client.subscribe(topic, "check",
                                           initial_position=pulsar.InitialPosition.Earliest)
                   for topic in ("reverse-out", "reverse-arg-out")}
        # "añb": rev must reverse characters, not bytes (the image's locale is C.UTF-8).
        payloads = ["hello", "shfn in a container", "añb", "-n"] + [f"m{i:03d}" for i in range(20)]
        for topic in ("reverse-in", "reverse-arg-in"):
            producer = client.create_producer(topic)
            for p in payloads:
                producer.send(p.encode())
            producer.close()
        for topic, consumer in outputs.items():
            got = []
            for _ in payloads:
                msg = consumer.receive(timeout_millis=60000)
                got.append(msg.data().decode())
                consumer.acknowledge(msg)
            assert sorted(got) == sorted(p[::-1] for p in payloads), (topic, got)

        # SIGTERM (from podman stop, through tini) drains and exits 0.
        image("stop", "-t", "60", name, timeout=120)
        assert image.out("inspect", "--format", "{{.State.ExitCode}}", name) == "0", logs()
        assert "[reverse/0] stopped" in logs()
    finally:
        if client:
            client.close()
        image("rm", "-f", "-v", name, check=False)
        broker.stop()
