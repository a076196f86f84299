"""Helpers for the image tests: the shfn binary under test and running commands with their
output kept for failure messages."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shfn_bin():
    value = os.environ.get("SHFN_BIN", "")
    if not value:
        pytest.fail("SHFN_BIN is not set: run the suite through ctest or scripts/test.sh")
    return value


def run(args, timeout=120, check=True, **kwargs):
    """Runs argv (never a shell); with check, fails the test with the command's output."""
    r = subprocess.run(args, capture_output=True, timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {r.returncode}:\n"
                    f"{r.stdout.decode(errors='replace')}\n{r.stderr.decode(errors='replace')}")
    return r


# A run whose tests were skipped (and none failed) exits 77, which ctest reports as skipped
# (SKIP_RETURN_CODE), so a machine without container tools never shows a pass.
_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _skipped:
        session.exitstatus = 77
