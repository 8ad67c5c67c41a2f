"""Printing the benchmark's figures as plain-text tables."""

from __future__ import annotations

from collections.abc import Sequence

from bench.httpbench import CONNECTIONS, HttpFigures
from bench.inprocess import ControllerFigures, Scaling
from bench.resilience import Resilience, percentile
from bench.targets import Target


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Return rows under a header, the first `left` columns left-aligned, the others right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            str(cell).ljust(width) if i < left else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def kb(size: int) -> str:
    """Return a byte count in KB (or MB) with one decimal."""
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} KB"


def controllers_table(figures: list[ControllerFigures]) -> str:
    """Return the in-process table: one typical sync call per controller."""
    rows = [
        [
            item.controller,
            kb(item.request_bytes),
            kb(item.response_bytes),
            f"{item.loads_us:.1f}",
            f"{item.core_us:.1f}",
            f"{item.core_vs_loads:.1f}x",
            f"{item.wsgi_us:.1f}",
            f"{item.sync_us:.1f}",
            "ok" if item.matches_golden else "DIFFERS",
        ]
        for item in figures
    ]
    header = [
        "controller",
        "request",
        "answer",
        "loads us",
        "hook call us",
        "vs loads",
        "via WSGI us",
        "sync() us",
        "golden",
    ]
    return table(header, rows)


def scaling_table(scaling: Scaling) -> str:
    """Return the scaling table and its per-Pod summary."""
    rows = [
        [
            str(p.pods),
            kb(p.request_bytes),
            f"{p.loads_us / 1000:.2f}",
            f"{p.parse_us / 1000:.2f}",
            f"{p.validate_us / 1000:.2f}",
            f"{p.sync_us / 1000:.2f}",
            f"{p.serialise_us / 1000:.2f}",
            f"{p.answered_us / 1000:.2f}",
            f"{p.freed_us / 1000:.2f}",
            f"{p.total_us / 1000:.2f}",
            f"{p.total_us / p.pods:.1f}",
        ]
        for p in scaling.points
    ]
    header = [
        "pods",
        "request",
        "loads ms (gc on)",
        "parse+free ms",
        "validate ms",
        "run_sync ms",
        "dumps ms",
        "answered ms",
        "then freed ms",
        "total ms",
        "us/pod",
    ]
    segments = ", ".join(f"{s:.1f}" for s in scaling.slopes(lambda p: p.total_us))
    logic = ", ".join(f"{s:.2f}" for s in scaling.slopes(lambda p: p.hook_logic_us))
    summary = (
        f"per extra Pod: {scaling.per_extra_pod(lambda p: p.total_us):.1f} us in all "
        f"(segments {segments}), of which hook logic (validate + run_sync) "
        f"{scaling.per_extra_pod(lambda p: p.hook_logic_us):.2f} us (segments {logic}); "
        + ("the whole call linear" if scaling.linear else "the whole call NOT linear")
        + (", hook logic linear" if scaling.hook_logic_linear else ", hook logic NOT linear")
        + "\nhook logic per extra observed Pod when the parent asks for one Pod (observing alone): "
        f"{scaling.per_extra_pod(lambda p: p.observed_only_us):.2f} us"
    )
    return table(header, rows) + "\n" + summary


def http_table(http: HttpFigures) -> str:
    """Return the HTTP table: each server at each concurrency, with ratios."""
    rows = []
    for connections in CONNECTIONS:
        for name, figures in http.servers.items():
            if connections not in figures.runs:
                continue
            # Over TLS, the plain-HTTP floor: what HTTPS costs shows in the ratio.
            base = "floor-gthread" if name.endswith("-gthread") else "floor"
            floor = http.ratio(name, base, connections)
            rows.append(
                [
                    name,
                    str(connections),
                    f"{figures.median(connections, lambda r: r.rps):.0f}",
                    f"{figures.median(connections, lambda r: r.p50_ms):.2f}",
                    f"{figures.median(connections, lambda r: r.p99_ms):.2f}",
                    str(figures.errors(connections)),
                    f"{floor:.0%}",
                ]
            )
    header = ["server", "conns", "req/s", "p50 ms", "p99 ms", "errors", "of its floor"]
    memory = table(
        ["server", "workers", "RSS idle MiB", "RSS after load MiB", "PSS after load MiB"],
        [
            [
                name,
                str(len(figures.memory_idle)),
                f"{figures.worst_rss_mib(False):.1f}",
                f"{figures.worst_rss_mib(True):.1f}",
                f"{max(m.get('pss', 0) for m in figures.memory_loaded) / 1024:.1f}",
            ]
            for name, figures in http.servers.items()
        ],
    )
    return table(header, rows) + "\n\n" + memory


def resilience_table(figures: Resilience) -> str:
    """Return the slow-client and burst figures."""
    slow, burst = figures.slow, figures.burst
    slow_rows = [
        [
            str(slow.connections),
            f"{slow.hold_seconds:g}",
            f"{slow.answered}/{slow.probes}",
            f"{percentile(slow.latencies_ms, 0.5):.2f}",
            f"{slow.p99_ms:.2f}",
            f"{max(slow.latencies_ms, default=0.0):.2f}",
            str(slow.closed_by_server),
        ]
    ]
    slow_table = table(
        ["trickling conns", "held s", "probes answered", "p50 ms", "p99 ms", "max ms", "closed"],
        slow_rows,
        left=0,
    )
    levels = ", ".join(f"{level}: {rps:.1f}/s" for level, rps in burst.throughput.items())
    burst_rows = [
        [
            f"{burst.clients} x {burst.seconds:g}s",
            str(burst.ok),
            str(burst.refused),
            str(burst.failed),
            f"{burst.goodput:.1f}/s",
            f"{burst.best_throughput:.1f}/s",
            f"{percentile(burst.ok_ms, 0.5):.0f}",
            f"{burst.ok_p99_ms:.0f}",
            f"{burst.unloaded_p99_ms:.0f}",
        ]
    ]
    burst_table = table(
        ["burst", "200", "429", "failed", "goodput", "best", "200 p50", "200 p99", "unloaded p99"],
        burst_rows,
        left=1,
    )
    return (
        slow_table
        + "\n\n"
        + burst_table
        + f"\nthroughput by concurrent callers (the yardstick): {levels}; latencies in ms"
    )


def targets_table(targets: list[Target]) -> str:
    """Return one line per target: met or MISSED, what it asks and what was measured."""
    if not targets:
        return "(no part measured in this run has a target)"
    rows = [["met" if t.met else "MISSED", t.name, t.wanted, t.measured] for t in targets]
    return table(["", "target", "asks", "measured"], rows, left=4)
