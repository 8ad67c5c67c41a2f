"""Prometheus metrics of the hook server, correct under several gunicorn worker processes.

`kubehooks serve` points PROMETHEUS_MULTIPROC_DIR at an empty folder before this module is first
imported (prometheus-client chooses its storage at import time): every worker then writes its
samples to memory-mapped files there, and GET /metrics on any worker adds up all of them.
Without the variable (tests, `flask run`) the samples live in this process.

Label values are bounded: a controller or hook name that is not served is recorded as `unknown`,
so requests to made-up URLs cannot grow the series without limit.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# `*_created` timestamps double the series and mean nothing once workers restart.
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN = "unknown"

REQUESTS = Counter(
    "kubehooks_requests",
    "Hook calls answered, by controller, hook and HTTP status code.",
    ["controller", "hook", "code"],
)
LATENCY = Histogram(
    "kubehooks_request_duration_seconds",
    "Time from receiving a hook call to having its answer, by controller and hook.",
    ["controller", "hook"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter(
    "kubehooks_errors",
    "Hook calls answered with an HTTP error, by controller, hook and error name.",
    ["controller", "hook", "error"],
)
SPEC_ERRORS = Counter(
    "kubehooks_spec_errors",
    "Parents whose spec could not be honoured (children kept, Ready=False), by reason.",
    ["controller", "reason"],
)
CHILDREN = Counter(
    "kubehooks_children_emitted",
    "Children returned in sync and finalize answers, by controller.",
    ["controller"],
)


def record_call(
    *,
    controller: str,
    hook: str,
    code: int,
    seconds: float,
    error: str | None,
    children: int | None,
    spec_error: str | None,
) -> None:
    """Record one answered hook call (called after the answer has been sent)."""
    _series(REQUESTS, controller, hook, str(code)).inc()
    _series(LATENCY, controller, hook).observe(seconds)
    if error is not None:
        _series(ERRORS, controller, hook, error).inc()
    if spec_error is not None:
        _series(SPEC_ERRORS, controller, spec_error).inc()
    if children:
        _series(CHILDREN, controller).inc(children)


@cache
def _series(metric: Any, *labels: str) -> Any:
    """Return one labelled series, looked up once: `labels()` checks and locks on every call.

    Bounded like the label values; a series remembers its process, so one looked up before
    gunicorn forks writes to the worker's own file.
    """
    return metric.labels(*labels)


def exposition() -> tuple[bytes, str]:
    """Return the metrics in Prometheus text format, summed over every worker process."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    """Tell the multi-process collector a worker exited (gunicorn's child_exit hook)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
