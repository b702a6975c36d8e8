"""Helpers for tests that run `iub` in a subprocess."""

from __future__ import annotations

import queue
import subprocess
import threading
import time


class LineReader:
    """A process's stderr read line by line in a thread (so its pipe never fills)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        stream = process.stderr

        def pump() -> None:
            for line in stream:
                self.lines.put(line)
            self.lines.put(None)  # end of the stream

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, needle: str, *, timeout: float) -> str:
        """The next line holding `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the process ended ({self.process.poll()}) without a line with {needle!r}")
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r} within {timeout} s")
