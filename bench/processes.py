"""Processes the benchmarks start: the service under uvicorn, the bare app, the journal simulator.

Each runs in its own process on a free loopback port with its output discarded (the service
still formats and writes its JSON log lines); `Server.peak_rss_mb()` reads the kernel's
high-water mark of its resident memory (VmHWM), children included when it forks workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_SECRET = "bench-secret-for-the-benchmark-only"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = [int(p) for p in text.split()]
    return found + [g for c in found for g in _children(c)]


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def peak_rss_mb(self) -> float:
        """The largest peak of the process or of one of its children (uvicorn's workers)."""
        pids = [self.process.pid, *_children(self.process.pid)]
        return max(_hwm_kb(pid) for pid in pids) / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its live children so far."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        """SIGTERM, and wait for it to exit (killed after 20 s); nothing when it has exited."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    """The service's settings for a benchmark: test environment (dev tokens), JSON logs, no
    in-process dispatcher (deliveries are the worker's, as in production)."""
    env = dict(os.environ)
    env.update(
        {
            "IUB_ENV": "test",
            "IUB_DATABASE_URL": database_url,
            "IUB_AUTH_DEV_SECRET": BENCH_SECRET,
            "IUB_LOG_FORMAT": "json",
            "IUB_OUTBOX_IN_PROCESS": "false",
            "IUB_STATS_REFRESH_SECONDS": "3600",
        }
    )
    env.update(extra)
    return env


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode} before it was ready")
            try:
                if client.get(url).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready in {timeout:.0f} s")


@dataclass
class Launch:
    """A server to start: `with launch as server` starts it and waits until it answers;
    `started(a, b, ...)` starts several side by side."""

    command: list[str]
    ready_path: str
    port: int
    env: dict[str, str] | None = None

    def begin(self) -> Server:
        process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        return Server(process, f"http://127.0.0.1:{self.port}")

    def wait(self, server: Server) -> None:
        _wait_ready(server.process, server.url + self.ready_path)

    def __enter__(self) -> Server:
        self._server = self.begin()
        try:
            self.wait(self._server)
        except BaseException:
            self._server.stop()
            raise
        return self._server

    def __exit__(self, *_: object) -> None:
        self._server.stop()


@contextlib.contextmanager
def started(*launches: Launch) -> Iterator[tuple[Server, ...]]:
    """Start the servers side by side (their start-ups overlap), wait until each answers; stop them all."""
    servers: list[Server] = []
    try:
        for launch in launches:
            servers.append(launch.begin())
        for launch, server in zip(launches, servers, strict=True):
            launch.wait(server)
        yield tuple(servers)
    finally:
        for server in servers:
            server.stop()


def start(command: list[str], ready_path: str, port: int, env: dict[str, str] | None = None) -> Launch:
    return Launch(command, ready_path, port, env)


def service(database_url: str, *, workers: int = 1, **env: str) -> Launch:
    """`iub serve` (uvicorn, `workers` processes) on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return start(command, "/health/ready", port, service_env(database_url, **env))


def bare(database_url: str) -> Launch:
    port = free_port()
    command = [sys.executable, "-m", "bench.bare", "--port", str(port), "--database-url", database_url]
    return start(command, "/bare/get", port)


def simulator(*faults: str) -> Launch:
    """`iub journal-sim` on a free port; `faults` are its options, e.g. ("--failure-rate", "0.1")."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "journal-sim", "--port", str(port), *faults]
    return start(command, "/_sim/faults", port)
