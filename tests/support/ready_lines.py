"""A child process's stdout read in the background, for the lines that say it is ready
("shfn broker ready on URL", "shfn admin ready on URL", "shfn functions ready"). Shared by the
function and chaos suites, which put tests/support on sys.path."""
import threading
import time

import pytest


class ReadyLines:
    """Reads `stream` (a binary pipe) line by line on a thread of its own; `wait_for(prefix)`
    returns what follows the first line starting with `prefix`, failing the test (with
    `describe()`, e.g. the tail of the child's log) if the child exits first or `timeout`
    passes."""

    def __init__(self, stream, describe, who="shfn run"):
        self.lines = []  # None last, once the stream ends
        self.changed = threading.Condition()
        self._describe = describe
        self._who = who
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for raw in stream:
            with self.changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)
            self.changed.notify_all()

    def wait_for(self, prefix, timeout=60):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if line is None:
                        pytest.fail(f"{self._who} exited before '{prefix}':\n{self._describe()}")
                    if line.startswith(prefix):
                        return line[len(prefix):].strip()
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no '{prefix}' from {self._who} within {timeout}s:\n"
                                f"{self._describe()}")
                self.changed.wait(left)
