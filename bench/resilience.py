"""The resilience part: `kubehooks serve` under slow clients and under a burst (issue 13).

- Slow clients: connections that send a request's headers one line every `trickle_seconds`
  and never finish (a new one replaces each the server closes, so `connections` stay open),
  while a normal hook call is made every 50 ms, one at a time. Target: every probe answered,
  p99 <= 50 ms.
- Burst: PodCluster calls of 1000 Pods (6.6 MB). First their unloaded latency (one at a time)
  and the throughput at 1, 2, 4 and 8 concurrent callers; then `clients` callers at once for
  `seconds` against `limits.maxInFlight: 4`, each waiting `Retry-After` after a 429, as
  Metacontroller does. Targets: goodput (200s per second) >= 80% of the best throughput,
  every 429 carries Retry-After, and the p99 of the admitted calls <= 2x the unloaded p99.

Both use the server's default options (one worker per CPU). The callers are threads of this
process: on a small machine they compete with the server for the CPUs, as they would with
any other tenant. Like Go's net/http (Metacontroller's client), a burst caller reads the answer
while it sends the body, so a 429 answered from the headers alone ends its call at once.
"""

from __future__ import annotations

import http.client
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import LOOPBACK, Server, start_kubehooks, wait_ready
from bench.workload import podcluster_request

BURST_MAX_IN_FLIGHT = 4


@dataclass(frozen=True)
class ResilienceBudget:
    """How hard and how long each scenario pushes."""

    trickling: int
    hold_seconds: float
    trickle_seconds: float
    unloaded_calls: int
    level_seconds: float
    burst_clients: int
    burst_seconds: float
    levels: tuple[int, ...] = (1, 2, 4, 8)
    """Concurrent callers at which the throughput yardstick is measured."""


RESILIENCE_QUICK = ResilienceBudget(
    trickling=50,
    hold_seconds=3,
    trickle_seconds=1,
    unloaded_calls=5,
    level_seconds=1,
    burst_clients=16,
    burst_seconds=2,
    levels=(1, 4),
)
RESILIENCE_FULL = ResilienceBudget(
    trickling=200,
    hold_seconds=30,
    trickle_seconds=3,
    unloaded_calls=30,
    level_seconds=5,
    burst_clients=200,
    burst_seconds=10,
)


def percentile(values: list[float], share: float) -> float:
    """Return the `share` quantile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(int(round(share * len(ordered))) - 1, 0))]


@dataclass
class SlowClients:
    """Probes answered while slow connections were held open."""

    connections: int
    hold_seconds: float
    probes: int
    answered: int
    latencies_ms: list[float]
    closed_by_server: int

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    def to_json(self) -> dict[str, Any]:
        """Return the figures with camelCase keys, as written to the results file."""
        return {
            "connections": self.connections,
            "holdSeconds": self.hold_seconds,
            "probes": self.probes,
            "answered": self.answered,
            "p50Ms": round(percentile(self.latencies_ms, 0.5), 3),
            "p99Ms": round(self.p99_ms, 3),
            "maxMs": round(max(self.latencies_ms, default=0.0), 3),
            "closedByServer": self.closed_by_server,
        }


@dataclass
class Burst:
    """One burst of heavy calls against a small in-flight limit, and its yardsticks."""

    clients: int
    seconds: float
    unloaded_ms: list[float]
    throughput: dict[int, float]
    ok: int
    """200s answered while the burst lasted."""
    refused: int
    refused_without_retry_after: int
    failed: int
    ok_ms: list[float]

    @property
    def best_throughput(self) -> float:
        return max(self.throughput.values(), default=0.0)

    @property
    def goodput(self) -> float:
        return self.ok / self.seconds

    @property
    def unloaded_p99_ms(self) -> float:
        return percentile(self.unloaded_ms, 0.99)

    @property
    def ok_p99_ms(self) -> float:
        return percentile(self.ok_ms, 0.99)

    def to_json(self) -> dict[str, Any]:
        """Return the figures with camelCase keys, as written to the results file."""
        return {
            "clients": self.clients,
            "seconds": self.seconds,
            "maxInFlight": BURST_MAX_IN_FLIGHT,
            "unloadedP50Ms": round(percentile(self.unloaded_ms, 0.5), 2),
            "unloadedP99Ms": round(self.unloaded_p99_ms, 2),
            "throughput": {str(level): round(rps, 2) for level, rps in self.throughput.items()},
            "ok": self.ok,
            "refused": self.refused,
            "refusedWithoutRetryAfter": self.refused_without_retry_after,
            "failed": self.failed,
            "goodput": round(self.goodput, 2),
            "okP50Ms": round(percentile(self.ok_ms, 0.5), 2),
            "okP99Ms": round(self.ok_p99_ms, 2),
        }


@dataclass
class Resilience:
    """The resilience part's results."""

    slow: SlowClients
    burst: Burst

    def to_json(self) -> dict[str, Any]:
        return {"slowClients": self.slow.to_json(), "burst": self.burst.to_json()}


class Trickler:
    """Keeps `count` connections sending headers slowly, reopening those the server closes."""

    def __init__(self, port: int, count: int, every: float) -> None:
        self._port = port
        self._count = count
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.closed_by_server = 0

    def __enter__(self) -> Trickler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _open(self) -> socket.socket:
        sock = socket.create_connection((LOOPBACK, self._port), timeout=5)
        sock.sendall(b"POST /application/sync HTTP/1.1\r\n")
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        socks = [self._open() for _ in range(self._count)]
        line = 0
        while not self._stop.wait(self._every):
            line += 1
            for index, sock in enumerate(socks):
                if _still_waiting(sock):
                    try:
                        sock.send(b"X-Slow-%d: %d\r\n" % (line, line))
                        continue
                    except OSError:
                        pass
                self.closed_by_server += 1
                sock.close()
                socks[index] = self._open()
        for sock in socks:
            sock.close()


def _still_waiting(sock: socket.socket) -> bool:
    """Return whether the server has neither answered (408) nor closed this connection."""
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _timed_post(server: Server, body: bytes, timeout: float) -> tuple[int, float, str | None]:
    """POST once on a new connection, reading the answer while the body is still being sent, as
    Go's net/http (Metacontroller's client) does: a 429 answered from the headers alone is
    taken as soon as it arrives, and the rest of the body is not sent. Return the status,
    milliseconds and Retry-After (status -1: failed)."""
    head = (
        f"POST {server.path} HTTP/1.1\r\nHost: {LOOPBACK}:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    status, retry = -1, None
    try:
        sock = socket.create_connection((LOOPBACK, server.port), timeout=timeout)
    except OSError:
        return status, (time.perf_counter() - started) * 1000, retry
    sender = threading.Thread(target=_send_quietly, args=(sock, head, body), daemon=True)
    sender.start()
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        response.read()
        status, retry = response.status, response.getheader("Retry-After")
    except (OSError, http.client.HTTPException):
        pass
    finally:
        response.close()
        try:
            sock.shutdown(socket.SHUT_RDWR)  # stops a sender the answer made pointless
        except OSError:
            pass
        sender.join(timeout)  # before close: a closed descriptor's number is soon reused
        sock.close()
    return status, (time.perf_counter() - started) * 1000, retry


def _send_quietly(sock: socket.socket, head: bytes, body: bytes) -> None:
    """Send a request; the connection closing under it (the answer came first) is not an error."""
    try:
        sock.sendall(head)
        sock.sendall(body)
    except OSError:
        pass


def measure_slow_clients(
    server: Server, body: bytes, budget: ResilienceBudget, progress: Callable[[str], None]
) -> SlowClients:
    """Probe the server every 50 ms while slow connections are held open."""
    latencies: list[float] = []
    probes = 0
    progress(f"slow clients: {budget.trickling} trickling connections, {budget.hold_seconds:g}s")
    with Trickler(server.port, budget.trickling, budget.trickle_seconds) as trickler:
        time.sleep(min(2.0, budget.hold_seconds / 4))
        deadline = time.monotonic() + budget.hold_seconds
        while time.monotonic() < deadline:
            probes += 1
            status, ms, _ = _timed_post(server, body, timeout=5)
            if status == 200:
                latencies.append(ms)
            time.sleep(0.05)
    return SlowClients(
        budget.trickling,
        budget.hold_seconds,
        probes,
        len(latencies),
        latencies,
        trickler.closed_by_server,
    )


def _wait_retry_after(retry: str | None, deadline: float) -> None:
    """Sleep `Retry-After` seconds (1 if absent), as Metacontroller requeues the parent, but not
    past `deadline`: nothing answered after it counts."""
    time.sleep(min(float(retry or 1), max(deadline - time.monotonic(), 0.0)))


def _throughput(server: Server, body: bytes, callers: int, seconds: float) -> float:
    """Return 200s per second with `callers` calling back to back for `seconds`."""
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def caller(_: int) -> int:
        done = 0
        while time.monotonic() < deadline:
            status, _ms, retry = _timed_post(server, body, timeout=30)
            if status == 200:
                done += 1
            elif status == 429:
                _wait_retry_after(retry, deadline)  # as in the burst, as Metacontroller does
        return done

    with ThreadPoolExecutor(max_workers=callers) as pool:
        done = sum(pool.map(caller, range(callers)))
    return done / (time.monotonic() - started)


def measure_burst(
    server: Server, body: bytes, budget: ResilienceBudget, progress: Callable[[str], None]
) -> Burst:
    """Measure the yardsticks, then the burst."""
    progress("burst: unloaded latency of 1000-Pod calls")
    unloaded = [_timed_post(server, body, timeout=30)[1] for _ in range(budget.unloaded_calls)]
    throughput: dict[int, float] = {}
    for level in budget.levels:
        progress(f"burst: throughput at {level} callers")
        throughput[level] = _throughput(server, body, level, budget.level_seconds)
    progress(f"burst: {budget.burst_clients} callers for {budget.burst_seconds:g}s")
    lock = threading.Lock()
    answers: list[tuple[int, float, str | None]] = []
    late: list[int] = []
    deadline = time.monotonic() + budget.burst_seconds
    start = threading.Barrier(budget.burst_clients)

    def caller(_: int) -> None:
        start.wait()
        while time.monotonic() < deadline:
            answer = _timed_post(server, body, timeout=30)
            with lock:
                answers.append(answer)
                if answer[0] == 200 and time.monotonic() > deadline:
                    late.append(1)  # answered after the burst: not in its goodput
            if answer[0] == 429:
                _wait_retry_after(answer[2], deadline)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(budget.burst_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=budget.burst_seconds + 60)
    ok = [ms for status, ms, _ in answers if status == 200]
    refused = [retry for status, _, retry in answers if status == 429]
    return Burst(
        clients=budget.burst_clients,
        seconds=budget.burst_seconds,
        unloaded_ms=unloaded,
        throughput=throughput,
        ok=len(ok) - len(late),
        refused=len(refused),
        refused_without_retry_after=sum(1 for retry in refused if not retry),
        failed=sum(1 for status, _, _ in answers if status not in (200, 429)),
        ok_ms=ok,
    )


def measure_resilience(
    normal_body: bytes,
    normal_controller: str,
    budget: ResilienceBudget,
    progress: Callable[[str], None],
) -> Resilience:
    """Start kubehooks (twice: default limits, then the burst's), run both scenarios, stop."""
    with tempfile.TemporaryDirectory(prefix="kubehooks-resilience-") as tmp:
        folder = Path(tmp)
        server = start_kubehooks(normal_controller, folder)
        try:
            wait_ready([server])
            slow = measure_slow_clients(server, normal_body, budget, progress)
        finally:
            server.stop()
        config = f"limits: {{maxInFlight: {BURST_MAX_IN_FLIGHT}}}\n"
        server = start_kubehooks("podcluster", folder, config=config)
        try:
            wait_ready([server])
            burst = measure_burst(server, podcluster_request(1000), budget, progress)
        finally:
            server.stop()
    return Resilience(slow, burst)
