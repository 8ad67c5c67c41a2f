"""In-process figures: a hook call from request bytes to answer bytes, with no socket.

`core` is the server's own path without HTTP: the body parsed and checked by the functions the
hook path calls (`hooks.server.parse_json`, `parse`, `check_children_count`), `run_sync`, and
orjson serialisation, inside the same collector pause for large bodies. `wsgi` is the whole app
called as a WSGI callable (routing, auth, ETag, metrics, the log line), so `wsgi - core` is what
the HTTP edge costs. `sync` is
the controller's pure function alone, on an already validated request.
"""

from __future__ import annotations

import gc
import io
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from werkzeug.test import EnvironBuilder

from bench.timing import Budget, per_call_split_us, per_call_us
from bench.workload import SCALING_NOW, Typical, podcluster_request
from hooks.contract import Observed, SyncRequest
from hooks.controller import HookRequest, ParentMeta
from hooks.edge import GcPause, Held
from hooks.logs import JsonStreamHandler
from hooks.registry import bind_enabled
from hooks.runtime import BoundController, parse_spec, run_sync
from hooks.server import answer_sync, check_children_count, create_app, parse, parse_json
from hooks.settings import Settings

SCALING_PODS = (1, 10, 100, 1000)
_GC_PAUSE = GcPause()
"""The server's collector pause for large bodies, applied here exactly as the hook path does."""


def silence_hook_logs() -> None:
    """Send the in-process apps' log lines to /dev/null: formatted and written, not printed.

    Installed before any app is made: `configure_logging` then finds a JSON handler in place
    and adds none of its own.
    """
    handler = JsonStreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - for the process
    root = logging.getLogger("kubehooks")
    root.addHandler(handler)
    root.propagate = False


def _bound(controller: str, settings: Settings) -> BoundController:
    return bind_enabled(settings)[controller]


def core_answer(bound: BoundController, raw: bytes, settings: Settings, now: datetime) -> bytes:
    """Answer a sync call from bytes to bytes, the way the hook path does minus HTTP."""
    answer, release = answer_then_release(bound, raw, settings, now)
    release()
    return answer


def answer_then_release(
    bound: BoundController, raw: bytes, settings: Settings, now: datetime
) -> tuple[bytes, Callable[[], None]]:
    """Answer as the hook path does: the parsed request is freed only once the answer is out.

    Returns the answer and what the server does after sending it (free the request, resume
    the collector).
    """
    held = _GC_PAUSE.hold(len(raw))
    try:
        answer = _answer_bytes(bound, raw, settings, now, held)
    except BaseException:
        held.release()
        raise
    return answer, held.release


def _answer_bytes(
    bound: BoundController, raw: bytes, settings: Settings, now: datetime, held: Held
) -> bytes:
    _, response = answer_sync(bound, raw, settings.limits, held, now=now)
    return orjson.dumps(response.to_wire())


def hook_request(
    bound: BoundController, request: SyncRequest, now: datetime
) -> HookRequest[Any, Any]:
    """Build what a controller's sync sees, as run_sync does (spec validated once, here)."""
    return HookRequest(
        parent=ParentMeta.of(request.parent),
        spec=parse_spec(bound.controller.kind.spec, request.parent),
        children=Observed(request.children),
        related=Observed(request.related),
        options=bound.options,
        default_image=bound.config.default_image,
        now=now,
    )


def wsgi_caller(
    settings: Settings, controller: str, hook: str, raw: bytes, now: datetime
) -> Callable[[], bytes]:
    """Return a function posting `raw` to the Flask app in process and returning the body."""
    app = create_app(settings, clock=lambda: now)
    environ = EnvironBuilder(
        path=f"/{controller}/{hook}", method="POST", data=raw, content_type="application/json"
    ).get_environ()
    status: list[str] = []

    def start_response(code: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
        status.append(code)
        return None

    def call() -> bytes:
        status.clear()
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(raw)
        result: Iterable[bytes] = app(env, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not status or not status[0].startswith("200"):
            raise RuntimeError(f"{controller}/{hook} answered {status}: {body[:300]!r}")
        return body

    return call


@dataclass(frozen=True)
class ControllerFigures:
    """One controller's typical request, in microseconds per call."""

    controller: str
    request_bytes: int
    response_bytes: int
    loads_us: float
    core_us: float
    wsgi_us: float
    sync_us: float
    matches_golden: bool

    @property
    def core_vs_loads(self) -> float:
        """Return how many `orjson.loads` of the same body one whole hook call costs."""
        return self.core_us / self.loads_us

    def to_json(self) -> dict[str, Any]:
        """Return the figures with camelCase keys, as written to the results file."""
        return {
            "controller": self.controller,
            "requestBytes": self.request_bytes,
            "responseBytes": self.response_bytes,
            "orjsonLoadsUs": round(self.loads_us, 2),
            "coreUs": round(self.core_us, 2),
            "wsgiUs": round(self.wsgi_us, 2),
            "syncUs": round(self.sync_us, 2),
            "coreVsLoads": round(self.core_vs_loads, 2),
            "matchesGolden": self.matches_golden,
        }


def measure_controller(item: Typical, budget: Budget) -> ControllerFigures:
    """Measure one controller's typical request: yardstick, whole call, WSGI app, sync alone."""
    settings = Settings.model_validate(item.config)
    bound = _bound(item.controller, settings)
    raw = item.body
    answer = core_answer(bound, raw, settings, item.now)
    request = parse(SyncRequest, parse_json(raw, settings.limits))
    prepared = hook_request(bound, request, item.now)
    sync = bound.controller.sync
    call_wsgi = wsgi_caller(settings, item.controller, item.hook, raw, item.now)
    return ControllerFigures(
        controller=item.controller,
        request_bytes=len(raw),
        response_bytes=len(answer),
        loads_us=per_call_us(lambda: orjson.loads(raw), budget),
        core_us=per_call_us(lambda: core_answer(bound, raw, settings, item.now), budget),
        wsgi_us=per_call_us(call_wsgi, budget),
        sync_us=per_call_us(lambda: sync(prepared), budget),
        matches_golden=orjson.loads(answer) == item.golden
        and orjson.loads(call_wsgi()) == item.golden,
    )


@dataclass(frozen=True)
class ScalingPoint:
    """A PodCluster of `pods` observed Pods scaled to `pods`, stage by stage (microseconds)."""

    pods: int
    request_bytes: int
    loads_us: float
    """Plain `orjson.loads`, collector on: the yardstick, and what the pause saves."""
    parse_us: float
    validate_us: float
    sync_us: float
    serialise_us: float
    answered_us: float
    """Bytes in to bytes out, as the server answers: the request is freed after sending."""
    freed_us: float
    """Freeing the parsed request after the answer has been sent (the server's close())."""
    observed_only_us: float
    """Hook logic (validate + run_sync) when the parent asks for one Pod: observing alone."""

    @property
    def total_us(self) -> float:
        """Return the whole CPU cost of a call: answering and freeing."""
        return self.answered_us + self.freed_us

    @property
    def hook_logic_us(self) -> float:
        """Return what the hook's own Python costs: checking the request and run_sync."""
        return self.validate_us + self.sync_us

    def to_json(self) -> dict[str, Any]:
        """Return the figures with camelCase keys, as written to the results file."""
        return {
            "pods": self.pods,
            "requestBytes": self.request_bytes,
            "orjsonLoadsUs": round(self.loads_us, 1),
            "parseUs": round(self.parse_us, 1),
            "validateUs": round(self.validate_us, 1),
            "syncUs": round(self.sync_us, 1),
            "serialiseUs": round(self.serialise_us, 1),
            "hookLogicUs": round(self.hook_logic_us, 1),
            "observedOnlyHookLogicUs": round(self.observed_only_us, 1),
            "answeredUs": round(self.answered_us, 1),
            "freedUs": round(self.freed_us, 1),
            "totalUs": round(self.total_us, 1),
            "totalPerPodUs": round(self.total_us / self.pods, 2),
        }


def measure_scaling_point(pods: int, budget: Budget) -> ScalingPoint:
    """Measure a PodCluster steady state with `pods` observed (and desired) Pods.

    The whole-call figures come first, while no parsed copy of the request is alive: a server
    holds one request at a time, and every live object makes the collector's full passes
    slower, so keeping a second 200,000-object copy around would inflate what is measured.
    """
    settings = Settings()
    bound = _bound("podcluster", settings)
    raw = podcluster_request(pods)
    now = SCALING_NOW
    answer = orjson.loads(core_answer(bound, raw, settings, now))
    if len(answer["children"]) != pods or answer["status"].get("readyReplicas") != pods:
        raise RuntimeError(f"PodCluster of {pods} Pods answered unexpectedly: {answer['status']}")
    del answer
    gc.collect()
    loads_us = per_call_us(lambda: orjson.loads(raw), budget)

    def parse_paused() -> None:
        # The parsed body is dropped inside the pause, as the hook path drops it: a collection
        # resuming while it is alive would walk all of it.
        with _GC_PAUSE.during(len(raw)):
            parse_json(raw, settings.limits)

    parse_us = per_call_us(parse_paused, budget)
    answered_us, freed_us = per_call_split_us(
        lambda: answer_then_release(bound, raw, settings, now)[1], budget
    )

    body = parse_json(raw, settings.limits)
    request = parse(SyncRequest, body)
    response = run_sync(bound, request, now=now)

    def paused(fn: Callable[[], object]) -> Callable[[], None]:
        # The hook path answers a body this large with the collector paused; so do its stages,
        # and what they return is dropped before the collector resumes.
        def call() -> None:
            with _GC_PAUSE.during(len(raw)):
                fn()

        return call

    def validate() -> None:
        checked = parse(SyncRequest, body)
        check_children_count(checked, settings.limits)

    # The same Pods observed by a parent that now asks for one (scaling down): what observing
    # costs per child when almost nothing is built.
    parent = body["parent"]
    one = {**body, "parent": {**parent, "spec": {**parent["spec"], "podReplicas": 1}}}

    def observe_only() -> None:
        checked = parse(SyncRequest, one)
        check_children_count(checked, settings.limits)
        run_sync(bound, checked, now=now)

    return ScalingPoint(
        pods=pods,
        request_bytes=len(raw),
        loads_us=loads_us,
        parse_us=parse_us,
        validate_us=per_call_us(paused(validate), budget),
        sync_us=per_call_us(paused(lambda: run_sync(bound, request, now=now)), budget),
        serialise_us=per_call_us(paused(lambda: orjson.dumps(response.to_wire())), budget),
        answered_us=answered_us,
        freed_us=freed_us,
        observed_only_us=per_call_us(paused(observe_only), budget),
    )


@dataclass(frozen=True)
class Scaling:
    """The scaling series and what it says about linearity."""

    points: list[ScalingPoint]

    def slopes(self, figure: Callable[[ScalingPoint], float]) -> list[float]:
        """Return microseconds per extra Pod between successive points."""
        return [
            (figure(b) - figure(a)) / (b.pods - a.pods)
            for a, b in zip(self.points, self.points[1:], strict=False)
        ]

    def per_extra_pod(self, figure: Callable[[ScalingPoint], float]) -> float:
        """Return microseconds per extra Pod from the smallest to the largest point."""
        first, last = self.points[0], self.points[-1]
        return (figure(last) - figure(first)) / (last.pods - first.pods)

    def linear_in(self, figure: Callable[[ScalingPoint], float]) -> bool:
        """Say whether a figure's cost per extra Pod stays flat as the Pods multiply.

        Linear here means no segment (10 to 100 Pods, 100 to 1000) costs more than 35% more
        per Pod than the segment before it; the 1 to 10 segment only opens the comparison.
        """
        slopes = self.slopes(figure)
        return all(
            later <= earlier * 1.35 for earlier, later in zip(slopes, slopes[1:], strict=False)
        )

    @property
    def linear(self) -> bool:
        """Say whether the whole call (parsing and freeing included) is linear in Pods."""
        return self.linear_in(lambda p: p.total_us)

    @property
    def hook_logic_linear(self) -> bool:
        """Say whether the hook's own logic (validate + run_sync) is linear in Pods."""
        return self.linear_in(lambda p: p.hook_logic_us)

    def to_json(self) -> dict[str, Any]:
        """Return the series with camelCase keys, as written to the results file."""
        return {
            "points": [point.to_json() for point in self.points],
            "totalUsPerExtraPod": round(self.per_extra_pod(lambda p: p.total_us), 2),
            "hookLogicUsPerExtraPod": round(self.per_extra_pod(lambda p: p.hook_logic_us), 2),
            "observedOnlyHookLogicUsPerExtraPod": round(
                self.per_extra_pod(lambda p: p.observed_only_us), 2
            ),
            "segmentTotalUsPerPod": [round(s, 2) for s in self.slopes(lambda p: p.total_us)],
            "segmentHookLogicUsPerPod": [
                round(s, 2) for s in self.slopes(lambda p: p.hook_logic_us)
            ],
            "linear": self.linear,
            "hookLogicLinear": self.hook_logic_linear,
        }


def measure_scaling(budget: Budget, pods: tuple[int, ...] = SCALING_PODS) -> Scaling:
    """Measure every scaling point, one request in memory at a time."""
    return Scaling([measure_scaling_point(count, budget) for count in pods])
