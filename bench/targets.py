"""The targets of issue 8, judged on one run's figures (ratios first, absolute figures second).

Nothing here fails a build: the benchmark reports each target as met or missed, with the
measured value, and CI runs it only as a smoke test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.httpbench import HttpFigures
from bench.inprocess import ControllerFigures, Scaling
from bench.resilience import Resilience
from bench.workload import HTTP_CONTROLLER

HTTP_FLOOR_SHARE = 0.55
C5_P50_MS = 1.2
C5_P99_MS = 2.5
C32_P99_MS = 20.0
CORE_US = 100.0
CORE_VS_LOADS = 3.5
HOOK_LOGIC_US_PER_CHILD = 2.0
PODS_1000_MS = 50.0
IDLE_WORKER_MIB = 45.0
SLOW_CLIENTS_P99_MS = 50.0
BURST_GOODPUT_SHARE = 0.8
BURST_P99_FACTOR = 2.0


@dataclass(frozen=True)
class Target:
    """One target: what it asks, what was measured, and whether that meets it."""

    name: str
    wanted: str
    measured: str
    met: bool

    def to_json(self) -> dict[str, Any]:
        """Return the target as written to the results file."""
        return {
            "name": self.name,
            "target": self.wanted,
            "measured": self.measured,
            "met": self.met,
        }


def judge(
    controllers: list[ControllerFigures] | None,
    scaling: Scaling | None,
    http: HttpFigures | None,
    resilience: Resilience | None = None,
) -> list[Target]:
    """Return every target that this run measured."""
    targets: list[Target] = []
    if resilience is not None:
        targets.extend(_resilience_targets(resilience))
    if http is not None:
        targets.extend(_http_targets(http))
    typical = next((c for c in controllers or [] if c.controller == HTTP_CONTROLLER), None)
    if typical is not None:
        targets.append(
            Target(
                f"in-process {HTTP_CONTROLLER} sync, bytes to bytes",
                f"<= {CORE_US:g} us",
                f"{typical.core_us:.1f} us",
                typical.core_us <= CORE_US,
            )
        )
        targets.append(
            Target(
                f"in-process {HTTP_CONTROLLER} sync vs orjson.loads of the same body",
                f"<= {CORE_VS_LOADS:g}x",
                f"{typical.core_vs_loads:.2f}x",
                typical.core_vs_loads <= CORE_VS_LOADS,
            )
        )
    if scaling is not None:
        per_child = scaling.per_extra_pod(lambda p: p.hook_logic_us)
        observing = scaling.per_extra_pod(lambda p: p.observed_only_us)
        targets.append(
            Target(
                "hook logic (validate + run_sync) per extra Pod, observed and built",
                f"<= {HOOK_LOGIC_US_PER_CHILD:g} us",
                f"{per_child:.2f} us",
                per_child <= HOOK_LOGIC_US_PER_CHILD,
            )
        )
        targets.append(
            Target(
                "hook logic per extra Pod only observed (parent asks for one)",
                f"<= {HOOK_LOGIC_US_PER_CHILD:g} us",
                f"{observing:.2f} us",
                observing <= HOOK_LOGIC_US_PER_CHILD,
            )
        )
        targets.append(
            Target(
                "hook logic linear in children (no segment >35% dearer per Pod than the last)",
                "linear",
                "linear" if scaling.hook_logic_linear else "not linear",
                scaling.hook_logic_linear,
            )
        )
        largest = scaling.points[-1]
        if largest.pods == 1000:
            targets.append(
                Target(
                    f"PodCluster of 1000 Pods ({largest.request_bytes / 1e6:.1f} MB) answered"
                    " in process (freeing the request follows the answer)",
                    f"<= {PODS_1000_MS:g} ms",
                    f"{largest.answered_us / 1000:.1f} ms "
                    f"(then {largest.freed_us / 1000:.1f} ms freeing)",
                    largest.answered_us / 1000 <= PODS_1000_MS,
                )
            )
    if http is not None:
        idle = http.servers["kubehooks"].worst_rss_mib(loaded=False)
        targets.append(
            Target(
                "one idle kubehooks worker, RSS",
                f"<= {IDLE_WORKER_MIB:g} MiB",
                f"{idle:.1f} MiB",
                idle <= IDLE_WORKER_MIB,
            )
        )
    return targets


def _http_targets(http: HttpFigures) -> list[Target]:
    ours = http.servers["kubehooks"]
    targets = []
    for connections in sorted(ours.runs):
        share = http.ratio("kubehooks", "floor", connections)
        targets.append(
            Target(
                f"HTTP req/s vs raw-WSGI floor, {connections} conns",
                f">= {HTTP_FLOOR_SHARE:.0%}",
                f"{share:.0%}",
                share >= HTTP_FLOOR_SHARE,
            )
        )
    p50 = ours.median(5, lambda r: r.p50_ms)
    p99 = ours.median(5, lambda r: r.p99_ms)
    targets.append(
        Target("HTTP p50 at 5 conns", f"<= {C5_P50_MS:g} ms", f"{p50:.2f} ms", p50 <= C5_P50_MS)
    )
    targets.append(
        Target("HTTP p99 at 5 conns", f"<= {C5_P99_MS:g} ms", f"{p99:.2f} ms", p99 <= C5_P99_MS)
    )
    p99_32 = ours.median(32, lambda r: r.p99_ms)
    errors = ours.errors(32)
    targets.append(
        Target(
            "HTTP at 32 conns: errors and p99",
            f"0 errors, p99 <= {C32_P99_MS:g} ms",
            f"{errors} errors, p99 {p99_32:.2f} ms",
            errors == 0 and p99_32 <= C32_P99_MS,
        )
    )
    for connections in sorted(ours.runs):
        ahead = http.ratio("kubehooks", "stdlib", connections)
        targets.append(
            Target(
                f"HTTP req/s vs stdlib http.server hook, {connections} conns",
                "> 1x (ahead)",
                f"{ahead:.2f}x",
                ahead > 1,
            )
        )
    return targets


def _resilience_targets(figures: Resilience) -> list[Target]:
    """Issue 13's targets: slow clients stop nothing, and a burst keeps the server working."""
    slow, burst = figures.slow, figures.burst
    share = burst.goodput / burst.best_throughput if burst.best_throughput else 0.0
    factor = burst.ok_p99_ms / burst.unloaded_p99_ms if burst.unloaded_p99_ms else 0.0
    return [
        Target(
            f"a hook call under {slow.connections} trickling connections",
            f"all answered, p99 <= {SLOW_CLIENTS_P99_MS:g} ms",
            f"{slow.answered}/{slow.probes}, p99 {slow.p99_ms:.1f} ms",
            slow.answered == slow.probes > 0 and slow.p99_ms <= SLOW_CLIENTS_P99_MS,
        ),
        Target(
            f"burst of {burst.clients} 1000-Pod callers: goodput vs best throughput",
            f">= {BURST_GOODPUT_SHARE:.0%}",
            f"{share:.0%} ({burst.goodput:.1f} of {burst.best_throughput:.1f}/s)",
            share >= BURST_GOODPUT_SHARE,
        ),
        Target(
            "burst: the excess gets 429 with Retry-After, nothing fails",
            "every 429 has Retry-After, 0 failed",
            f"{burst.refused} x 429 ({burst.refused_without_retry_after} without), "
            f"{burst.failed} failed",
            burst.refused > 0 and burst.refused_without_retry_after == 0 and burst.failed == 0,
        ),
        Target(
            "burst: p99 of the admitted calls vs their unloaded p99",
            f"<= {BURST_P99_FACTOR:g}x",
            f"{factor:.2f}x ({burst.ok_p99_ms:.0f} vs {burst.unloaded_p99_ms:.0f} ms)",
            0 < factor <= BURST_P99_FACTOR,
        ),
    ]
