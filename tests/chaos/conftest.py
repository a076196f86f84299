"""Fixtures for the chaos suite (tests/chaos): SIGKILL of `shfn broker` and `shfn run` under load
from the official Python client, descriptor exhaustion and a full disk, each ending in a count of
what was receipted against what reads back.

`--kills N` sets how many times each kill scenario kills (default: a few, for CI; bench/
chaos-kills.sh passes 50); `--chaos-seed S` replays the random kill points of an earlier run
(every scenario prints its seed)."""
import random
import shutil
import tempfile

import pytest


def pytest_addoption(parser):
    parser.addoption("--kills", type=int, default=0,
                     help="kills per kill scenario (default: the scenario's own, a few)")
    parser.addoption("--chaos-seed", type=int, default=None,
                     help="seed for the random kill points (default: a new one, printed)")


@pytest.fixture
def kills(request):
    """kills(default) -> the number of kills: --kills when given, else the default."""
    return lambda default: request.config.getoption("--kills") or default


@pytest.fixture
def rng(request):
    seed = request.config.getoption("--chaos-seed")
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 31)
    print(f"chaos seed {seed} ({request.node.name})")
    return random.Random(seed)


@pytest.fixture
def workdir(request):
    """A fresh directory per test under /tmp (the broker's data, logs); kept when the test
    failed, so that its logs can be read, and its path printed."""
    path = tempfile.mkdtemp(prefix="shfn-chaos-")
    yield path
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"kept {path} (broker and run logs)")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
