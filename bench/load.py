"""Load generators in a process of their own: `wrk` when installed, else an open-loop Python generator.

- `run_wrk(target, seconds, connections)`: wrk (closed loop, `connections` keep-alive
  connections, one thread) driven by a generated Lua script that cycles through the target's
  paths and bodies and prints its summary as one JSON line.
- `run_python(target, seconds, connections, rate)`: `python -m bench.load` in a child process:
  with `rate` it is *open loop* — requests are due at fixed intervals whatever the server does,
  and each latency is counted from when the request was due, so a stalled server is charged
  for the requests that queued behind it (no coordinated omission); without `rate` it keeps
  every connection busy (closed loop, like wrk). Its connections are opened before the clock
  starts (their TCP set-up is not a request's latency), and its own garbage collector is off
  while it runs (a collection pause of the generator would be charged to the server). With
  `timeline`, every request's due, sent and answered times go to that file (JSON), to see when
  in a run the slow ones were.

Both answer a `LoadResult`: requests per second, p50/p99 latency, and how many answers were not
the expected status (a benchmark of refused requests measures nothing: the caller checks).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Target:
    """What to send. Request i (counted from `start`) goes to `paths[i % P]` with `bodies[i % B]`
    and the bearer token `tokens[(i // B) % T]`: B × T distinct (body, token) pairs before one
    repeats (openings of a person in a unit are refused while one is running: 409)."""

    url: str  # http://127.0.0.1:PORT
    method: str
    paths: list[str]
    bodies: list[str] = field(default_factory=list)  # JSON texts; empty for GET
    tokens: list[str] = field(default_factory=list)  # bearer tokens; empty: none
    start: int = 0

    def at(self, index: int) -> Target:
        """The same target, continuing at request `index` (for the next run)."""
        return Target(self.url, self.method, self.paths, self.bodies, self.tokens, index)


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx/3xx answers and socket errors
    tool: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def _wrk_script(target: Target) -> str:
    headers = {"Content-Type": "application/json"} if target.bodies else {}
    lines = [
        "local paths = {" + ", ".join(_lua_string(p) for p in target.paths) + "}",
        "local bodies = {" + ", ".join(_lua_string(b) for b in target.bodies) + "}",
        "local tokens = {" + ", ".join(_lua_string("Bearer " + t) for t in target.tokens) + "}",
        "local headers = {" + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + "}",
        f"local method = {_lua_string(target.method)}",
        f"local i = {target.start - 1}",
        "request = function()",
        "  i = i + 1",
        "  local body = nil",
        "  local nb = 1",
        "  if #bodies > 0 then body = bodies[(i % #bodies) + 1]; nb = #bodies end",
        '  if #tokens > 0 then headers["Authorization"] = tokens[(math.floor(i / nb) % #tokens) + 1] end',
        "  return wrk.format(method, paths[(i % #paths) + 1], headers, body)",
        "end",
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format("WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, '
        '\\"p99_us\\": %d, \\"status_errors\\": %d, \\"socket_errors\\": %d}\\n", summary.requests, '
        "summary.duration, latency:percentile(50), latency:percentile(99), e.status, "
        "e.connect + e.read + e.write + e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def run_wrk(target: Target, seconds: float, connections: int) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(_wrk_script(target))
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        command += ["-s", script.name, target.url + target.paths[0]]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError("wrk printed no summary: " + completed.stdout[-500:] + completed.stderr[-500:])
    data = json.loads(line.removeprefix("WRKJSON "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        bad=data["status_errors"] + data["socket_errors"],
        tool="wrk",
    )


def run_python(
    target: Target, seconds: float, connections: int, rate: float | None = None, timeline: Path | None = None
) -> LoadResult:
    """The Python generator in its own process (so it never shares a CPU-second with the caller)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as spec:
        json.dump(asdict(target), spec)
    try:
        command = [sys.executable, "-m", "bench.load", spec.name, "--seconds", str(seconds)]
        command += ["--connections", str(connections)] + (["--rate", str(rate)] if rate else [])
        command += ["--timeline", str(timeline)] if timeline else []
        completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    finally:
        Path(spec.name).unlink(missing_ok=True)
    return LoadResult(**json.loads(completed.stdout.strip().splitlines()[-1]))


def run_load(target: Target, seconds: float, connections: int) -> LoadResult:
    """At the server's maximum: wrk where installed, else the Python generator, closed loop."""
    if wrk_available():
        return run_wrk(target, seconds, connections)
    return run_python(target, seconds, connections)


# --- the Python generator (runs in its own process) ----------------------------------------------------------


def _request_bytes(target: Target, index: int, host: str) -> bytes:
    path = target.paths[index % len(target.paths)]
    body = target.bodies[index % len(target.bodies)].encode() if target.bodies else b""
    head = [f"{target.method} {path} HTTP/1.1", f"Host: {host}"]
    if target.tokens:
        token = target.tokens[(index // max(1, len(target.bodies))) % len(target.tokens)]
        head.append(f"Authorization: Bearer {token}")
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


# One request of a timeline: seconds from the start of the run when it was due, sent and answered,
# and the answer's status.
Timed = tuple[float, float, float, int]


async def _generate(
    target: Target, seconds: float, connections: int, rate: float | None, timeline: list[Timed] | None = None
) -> LoadResult:
    host_port = target.url.removeprefix("http://").rstrip("/")
    host, _, port = host_port.partition(":")
    latencies: list[float] = []
    counter = itertools.count(target.start)
    bad = 0
    # Every connection is open before the clock starts: the first requests would otherwise be
    # charged with the TCP set-up of all of them at once.
    streams = await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in range(connections)))
    started = time.perf_counter()
    end = started + seconds
    due: asyncio.Queue[float | None] = asyncio.Queue()  # None: no more requests

    async def schedule() -> None:
        assert rate is not None
        n = 0
        while True:
            at = started + n / rate
            if at >= end:
                break
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait(at)
            n += 1
        for _ in range(connections):
            due.put_nowait(None)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal bad
        try:
            while True:
                if rate is None:
                    at = time.perf_counter()
                    if at >= end:
                        return
                else:
                    next_due = await due.get()
                    if next_due is None:
                        return
                    at = next_due
                sent = time.perf_counter()
                writer.write(_request_bytes(target, next(counter), host_port))
                status = await _read_response(reader)
                answered = time.perf_counter()
                latencies.append(answered - at)
                if timeline is not None:
                    timeline.append((at - started, sent - started, answered - started, status))
                if status >= 400:
                    bad += 1
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection(reader, writer)) for reader, writer in streams]
    if rate is not None:
        await schedule()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return LoadResult(len(latencies), elapsed, pct(0.50), pct(0.99), bad, "python open-loop" if rate else "python")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("spec", type=Path, help="a Target as JSON")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=None, help="requests/s, open loop; default: closed loop")
    parser.add_argument("--timeline", type=Path, default=None, help="write every request's times here (JSON)")
    args = parser.parse_args()
    target = Target(**json.loads(args.spec.read_text(encoding="utf-8")))
    timeline: list[Timed] | None = [] if args.timeline else None
    run = _generate(target, args.seconds, args.connections, args.rate, timeline)
    # No collection while the load runs: a pause here would be counted as the server's latency.
    # What the run leaves (a few thousand requests' garbage) is small, and the process ends after.
    gc.collect()
    gc.disable()
    try:
        import uvloop

        result = uvloop.run(run)
    except ImportError:  # pragma: no cover
        result = asyncio.run(run)
    gc.enable()
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    if args.timeline is not None:
        args.timeline.write_text(json.dumps({"timeline": timeline}), encoding="utf-8")


if __name__ == "__main__":
    main()
