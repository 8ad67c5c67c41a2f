"""Driving a server with wrk (Debian's package) on loopback, for a bounded time.

wrk POSTs the same body on every connection (a Lua script sets it) and reports, through the
script's `done` hook, the request count, the errors by kind, and latency percentiles from its
histogram. Each run lasts `seconds`; the subprocess is killed if it overstays by 30 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "BENCH-RESULT "
WRK_MISSING = (
    "wrk not found: the HTTP part needs the load generator wrk "
    "(Debian: `apt-get install -y wrk`; scripts/test.sh installs it when run as root). "
    "Skipping the HTTP part."
)

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%s{\"requests\":%d,\"durationUs\":%d,\"bytes\":%d,\"connect\":%d,\"read\":%d," ..
    "\"write\":%d,\"status\":%d,\"timeout\":%d,\"p50Us\":%d,\"p90Us\":%d,\"p99Us\":%d," ..
    "\"maxUs\":%d}\n",
    "BENCH-RESULT ", summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def wrk_path() -> str | None:
    """Return the wrk executable, or None when it is not installed."""
    return shutil.which("wrk")


@dataclass(frozen=True)
class LoadResult:
    """One wrk run against one server at one concurrency."""

    connections: int
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        """Return completed requests per second."""
        return self.requests / self.seconds

    @property
    def error_count(self) -> int:
        """Return failed requests: connection errors, timeouts and non-2xx answers."""
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        """Return the run with camelCase keys, as written to the results file."""
        return {
            "connections": self.connections,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50Ms": round(self.p50_ms, 3),
            "p90Ms": round(self.p90_ms, 3),
            "p99Ms": round(self.p99_ms, 3),
            "maxMs": round(self.max_ms, 3),
            "errors": self.errors,
        }


def run_wrk(
    wrk: str, url: str, body_file: Path, connections: int, seconds: int, folder: Path
) -> LoadResult:
    """Run wrk with one thread (the server needs the other cores) and return its figures."""
    script = folder / "post.lua"
    if not script.exists():
        script.write_text(LUA)
    command = [
        wrk,
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "--script",
        str(script),
        url,
        "--",
        str(body_file),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    data = json.loads(lines[-1][len(MARKER) :])
    return LoadResult(
        connections=connections,
        requests=int(data["requests"]),
        seconds=data["durationUs"] / 1e6,
        errors={key: int(data[key]) for key in ("connect", "read", "write", "status", "timeout")},
        p50_ms=data["p50Us"] / 1000,
        p90_ms=data["p90Us"] / 1000,
        p99_ms=data["p99Us"] / 1000,
        max_ms=data["maxUs"] / 1000,
    )
