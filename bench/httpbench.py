"""The HTTP part: kubehooks, the raw-WSGI floor and the stdlib hook, loaded side by side.

The three servers run at once (idle ones cost nothing but memory) and are loaded one at a time,
in interleaved rounds: every round visits each concurrency and, within it, each server (in an
order that rotates), so a noisy neighbour or a slow drift hits all of them alike. Figures are
medians over rounds; ratios are medians of the per-round ratios of servers measured back to
back. Worker memory is read before the first request and after the last.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.loadtest import LoadResult, run_wrk
from bench.servers import (
    GTHREAD_THREADS,
    Server,
    memory_kib,
    self_signed,
    start_floor,
    start_kubehooks,
    start_stdlib,
    wait_ready,
)
from bench.workload import Typical

CONNECTIONS = (1, 5, 32)
RATIOS = (
    ("kubehooks", "floor"),
    ("kubehooks", "stdlib"),
    ("kubehooks-gthread", "floor-gthread"),
    ("kubehooks-gthread", "floor"),
    ("kubehooks-tls", "kubehooks"),
)
SERVERS = ("kubehooks", "floor", "stdlib")
THREADED = ("kubehooks-gthread", "floor-gthread")
"""Optional (`--threaded`): both gunicorn servers again with gthread workers, for comparison."""
OVER_TLS = ("kubehooks-tls",)
"""Optional (`--tls`): kubehooks over HTTPS (kept-alive connections), to compare with HTTP."""


@dataclass(frozen=True)
class HttpBudget:
    """How long the HTTP part loads each server at each concurrency."""

    rounds: int
    seconds: int
    """wrk takes whole seconds."""
    warmup_seconds: int


HTTP_QUICK = HttpBudget(rounds=1, seconds=2, warmup_seconds=1)
HTTP_FULL = HttpBudget(rounds=5, seconds=2, warmup_seconds=2)


@dataclass
class ServerFigures:
    """Everything measured on one server."""

    name: str
    runs: dict[int, list[LoadResult]] = field(default_factory=dict)
    memory_idle: list[dict[str, int]] = field(default_factory=list)
    memory_loaded: list[dict[str, int]] = field(default_factory=list)

    def median(self, connections: int, figure: Callable[[LoadResult], float]) -> float:
        """Return the median of a figure over the rounds at one concurrency."""
        return statistics.median(figure(run) for run in self.runs[connections])

    def errors(self, connections: int) -> int:
        """Return the failed requests of every round at one concurrency."""
        return sum(run.error_count for run in self.runs[connections])

    def worst_rss_mib(self, loaded: bool) -> float:
        """Return the largest worker RSS, idle or after the load, in MiB."""
        samples = self.memory_loaded if loaded else self.memory_idle
        return max(sample["rss"] for sample in samples) / 1024

    def to_json(self) -> dict[str, Any]:
        """Return the figures with camelCase keys, as written to the results file."""
        return {
            "points": [
                {
                    "connections": connections,
                    "rps": round(self.median(connections, lambda r: r.rps), 1),
                    "p50Ms": round(self.median(connections, lambda r: r.p50_ms), 3),
                    "p99Ms": round(self.median(connections, lambda r: r.p99_ms), 3),
                    "errors": self.errors(connections),
                    "rounds": [run.to_json() for run in runs],
                }
                for connections, runs in sorted(self.runs.items())
            ],
            "memoryKiB": {"idle": self.memory_idle, "afterLoad": self.memory_loaded},
            "workerRssMiB": {
                "idle": round(self.worst_rss_mib(False), 1),
                "afterLoad": round(self.worst_rss_mib(True), 1),
            },
        }


@dataclass
class HttpFigures:
    """The HTTP part's results."""

    controller: str
    request_bytes: int
    budget: HttpBudget
    servers: dict[str, ServerFigures]

    def ratio(self, name: str, other: str, connections: int) -> float:
        """Return the median over rounds of `name`'s req/s divided by `other`'s."""
        mine = self.servers[name].runs[connections]
        theirs = self.servers[other].runs[connections]
        return statistics.median(a.rps / b.rps for a, b in zip(mine, theirs, strict=True))

    def to_json(self) -> dict[str, Any]:
        """Return the results with camelCase keys, as written to the results file."""
        return {
            "controller": self.controller,
            "requestBytes": self.request_bytes,
            "rounds": self.budget.rounds,
            "secondsPerRun": self.budget.seconds,
            "servers": {name: figures.to_json() for name, figures in self.servers.items()},
            "ratios": {
                f"{name}/{other}": {
                    str(c): round(self.ratio(name, other, c), 3) for c in CONNECTIONS
                }
                for name, other in RATIOS
                if name in self.servers and other in self.servers
            },
        }


def _memory(server: Server) -> list[dict[str, int]]:
    return [{"pid": pid, **memory_kib(pid)} for pid in server.worker_pids()]


def _check_answer(server: Server, item: Typical) -> None:
    """Make sure a server answers the request correctly before timing it."""
    status, answer = server.post(item.body)
    if status != 200:
        raise RuntimeError(f"{server.name} answered {status}: {answer[:500]!r}")
    children = orjson.loads(answer).get("children")
    if children != item.golden["children"]:
        raise RuntimeError(f"{server.name} answered other children than the golden response")


def measure_http(
    wrk: str,
    item: Typical,
    budget: HttpBudget,
    progress: Callable[[str], None],
    *,
    threaded: bool = False,
    tls: bool = False,
) -> HttpFigures:
    """Start the servers, load them in interleaved rounds, and stop them all."""
    with tempfile.TemporaryDirectory(prefix="kubehooks-bench-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        body_file = folder / "body.json"
        body_file.write_bytes(item.body)
        servers: dict[str, Server] = {}
        certificate = self_signed(folder) if tls else None
        if tls and certificate is None:
            progress("openssl not found: the HTTPS comparison (--tls) is skipped")
        names = (
            SERVERS + (THREADED if threaded else ()) + (OVER_TLS if certificate is not None else ())
        )
        for name in names:
            threads = GTHREAD_THREADS if name.endswith("-gthread") else None
            if name.startswith("kubehooks-tls"):
                server = start_kubehooks(item.controller, folder, tls=certificate)
            elif name.startswith("kubehooks"):
                server = start_kubehooks(item.controller, folder, threads=threads)
            elif name.startswith("floor"):
                answer = orjson.dumps(item.golden)
                server = start_floor(item.controller, answer, folder, threads=threads)
            else:
                server = start_stdlib(item.controller, folder)
            stack.callback(server.stop)
            servers[name] = server
        wait_ready(list(servers.values()))
        figures = {name: ServerFigures(name) for name in servers}
        for name, server in servers.items():
            figures[name].memory_idle = _memory(server)
            _check_answer(server, item)
            run_wrk(wrk, server.url, body_file, 5, budget.warmup_seconds, folder)
        for round_ in range(budget.rounds):
            for connections in CONNECTIONS:
                shift = round_ % len(names)
                order = names[shift:] + names[:shift]
                for name in order:
                    progress(f"round {round_ + 1}/{budget.rounds}: {name}, {connections} conns")
                    result = run_wrk(
                        wrk, servers[name].url, body_file, connections, budget.seconds, folder
                    )
                    figures[name].runs.setdefault(connections, []).append(result)
        for name, server in servers.items():
            figures[name].memory_loaded = _memory(server)
            if server.process.poll() is not None:
                raise RuntimeError(f"{name} died during the load:\n{server.log.read_text()}")
    return HttpFigures(item.controller, len(item.body), budget, figures)
