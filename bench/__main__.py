"""`python -m bench [--quick]`: measure the hooks, print tables, write the figures as JSON.

Four parts, each side by side with its yardstick in the same run: in process (every
controller's typical sync against `orjson.loads` of the same body), scaling (a PodCluster of
1 to 1000 realistic Pods), HTTP (the deployed server against a raw-WSGI floor and a stdlib
`http.server` hook, under wrk, with worker memory) and resilience (slow clients and a burst
of heavy calls, against the server's own unloaded figures; `bench.resilience`). The JSON goes
to bench/results/<time>.json for comparing commits. No threshold fails the run: the targets
are reported as met or missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from bench.httpbench import HTTP_FULL, HTTP_QUICK, HttpBudget, HttpFigures, measure_http
from bench.inprocess import (
    ControllerFigures,
    Scaling,
    measure_controller,
    measure_scaling,
    silence_hook_logs,
)
from bench.loadtest import WRK_MISSING, wrk_path
from bench.plugins import plugin_figures, plugin_requests, plugins_table
from bench.report import (
    controllers_table,
    http_table,
    resilience_table,
    scaling_table,
    targets_table,
)
from bench.resilience import RESILIENCE_FULL, RESILIENCE_QUICK, Resilience, measure_resilience
from bench.schedules import measure_worst_schedules, worst_schedules_table
from bench.targets import judge
from bench.timing import FULL, QUICK
from bench.workload import HTTP_CONTROLLER, ROOT, typical, typical_requests

PARTS = ("inprocess", "scaling", "http", "resilience")
RESULTS = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="short rounds (the CI smoke test, under a minute)"
    )
    parser.add_argument(
        "--part",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable; default: all)",
    )
    parser.add_argument("--seconds", type=int, help="length of each wrk run (default: 2)")
    parser.add_argument("--rounds", type=int, help="HTTP rounds (default: 1 quick, 5 full)")
    parser.add_argument(
        "--threaded",
        action="store_true",
        help="also load both gunicorn servers with --threads 8 instead of 16, for comparison",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="also load kubehooks over HTTPS (kept-alive connections)",
    )
    parser.add_argument(
        "--controller",
        action="append",
        default=[],
        metavar="NAME",
        help="also measure this plugin (installed name or module:ATTR); repeatable",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    return parser.parse_args(argv)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine(quick: bool) -> dict[str, Any]:
    """Describe the run: when, which commit, which machine."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "quick" if quick else "full",
        "commit": commit + ("-dirty" if dirty and commit else ""),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "loadAverageAtStart": load,
    }


def progress(message: str) -> None:
    """Show what is being measured, on one overwritten stderr line when it is a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K  {message}")
        sys.stderr.flush()


def done_progress() -> None:
    """Clear the progress line."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def section(title: str, body: str) -> None:
    """Print one titled table."""
    print(f"\n== {title}\n{body}", flush=True)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through every `finally`, which stops the servers this run started.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and return the exit status (0 unless something broke)."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args = parse_args(argv)
    parts = set(args.part or PARTS)
    budget = QUICK if args.quick else FULL
    base = HTTP_QUICK if args.quick else HTTP_FULL
    http_budget = HttpBudget(
        rounds=args.rounds or base.rounds,
        seconds=args.seconds or base.seconds,
        warmup_seconds=base.warmup_seconds,
    )
    started = time.monotonic()
    meta = machine(args.quick)
    print(
        f"kubehooks benchmark ({meta['mode']}) {meta['time']}  commit {meta['commit'] or '?'}  "
        f"Python {meta['python']}  {meta['cpus']} CPUs  load average {meta['loadAverageAtStart']}"
    )
    results: dict[str, Any] = {"meta": meta}
    controllers: list[ControllerFigures] | None = None
    scaling: Scaling | None = None
    http: HttpFigures | None = None
    resilience: Resilience | None = None

    if "inprocess" in parts:
        silence_hook_logs()
        controllers = []
        for item in [
            *typical_requests(),
            *(plugin_requests(args.controller) if args.controller else []),
        ]:
            progress(f"in process: {item.controller}")
            controllers.append(measure_controller(item, budget))
        done_progress()
        results["inprocess"] = [item.to_json() for item in controllers]
        section(
            "In process: one typical sync (steady-state golden), bytes in -> bytes out; "
            f"median of {budget.rounds} rounds, us per call",
            controllers_table(controllers),
        )
        progress("in process: the costliest CronScaler specs known")
        worst = measure_worst_schedules(budget)
        done_progress()
        results["worstSchedules"] = [cost.to_json() for cost in worst]
        section(
            "In process: the costliest CronScaler specs known (a whole call), us per call",
            worst_schedules_table(worst),
        )

    if args.controller and controllers is not None:
        progress("plugins: discovery in fresh processes")
        plugins = plugin_figures(args.controller, controllers)
        done_progress()
        results["plugins"] = plugins.to_json()
        section("Plugins (this run)", plugins_table(plugins))

    if "scaling" in parts:
        progress("scaling: PodCluster of 1, 10, 100, 1000 Pods")
        scaling = measure_scaling(budget)
        done_progress()
        results["scaling"] = scaling.to_json()
        section(
            "Scaling: PodCluster steady state, N observed Ready Pods (~6.8 KB each) -> N desired",
            scaling_table(scaling),
        )

    if "http" in parts:
        wrk = wrk_path()
        if wrk is None:
            print(f"\n== HTTP\n{WRK_MISSING}", flush=True)
            results["http"] = {"skipped": WRK_MISSING}
        else:
            item = typical(HTTP_CONTROLLER)
            http = measure_http(
                wrk, item, http_budget, progress, threaded=args.threaded, tls=args.tls
            )
            done_progress()
            results["http"] = http.to_json()
            section(
                f"HTTP: POST /{item.controller}/sync ({len(item.body)} bytes) on 127.0.0.1, "
                f"wrk 1 thread, median of {http_budget.rounds} x {http_budget.seconds:g}s",
                http_table(http),
            )

    if "resilience" in parts:
        item = typical(HTTP_CONTROLLER)
        plan = RESILIENCE_QUICK if args.quick else RESILIENCE_FULL
        resilience = measure_resilience(item.body, item.controller, plan, progress)
        done_progress()
        results["resilience"] = resilience.to_json()
        section(
            f"Resilience (issue 13): POST /{item.controller}/sync every 50 ms under "
            f"{plan.trickling} connections trickling a header line every {plan.trickle_seconds:g}s"
            f"; then {plan.burst_clients} callers of 1000-Pod PodCluster syncs (6.6 MB) at once "
            "with maxInFlight 4, each waiting Retry-After after a 429",
            resilience_table(resilience),
        )

    targets = judge(controllers, scaling, http, resilience)
    results["targets"] = [target.to_json() for target in targets]
    section("Targets (issues 8 and 13; this run)", targets_table(targets))
    results["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"{stamp}.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"\nresults written to {path} ({results['seconds']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
