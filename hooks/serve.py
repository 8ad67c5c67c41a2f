"""Running the app under gunicorn, with the project's production defaults.

One worker process per core, each running `hooks.worker.BufferingWorker`: gthread's event loop
and thread pool, except that the loop reads every request whole (headers, then body, under the
`limits.headerTimeoutSeconds` and `limits.bodyTimeoutSeconds` deadlines, 408 past them) before
a thread takes it. gunicorn's sync and gthread workers read a request in the thread that then
computes it, so 4 connections trickling their headers stopped a sync server and 16 a gthread
one (issue 13); here a slow client costs a buffer, never a thread, and 200 of them leave normal
calls answered in milliseconds (docs/production.md, "Limits and back-pressure", for the numbers).

Hook calls are CPU-bound and the interpreter lock lets a process compute one at a time, so a
worker's calls compute in turn (`InFlight.take_turns`), in the order they were admitted, the
large ones in a child process (`hooks.compute`) so that the worker's event loop keeps the lock.
The threads (`--threads`, default 64) hold the calls waiting for their turn: a worker holds at
most its share of `limits.maxInFlight` (and one thread less than it has); the next call gets
429 and Retry-After, decided and sent by the event loop as soon as its headers are in, before
its body is read (`InFlight.reserve`, `HookPath.refusal`). While calls are refused, a large
call is admitted only if its turn is near, the 429's Retry-After is spread over the work
refused (`InFlight.retry_after`), and a busy worker leaves new connections to an idle one
(`hooks.peers`). Connections are kept alive, over
HTTPS too (no handshake per call: Metacontroller's Go client does not resume TLS sessions). No
access log (the app logs one structured line per call).

The options shared with `kubehooks portal` (the worker class and its deadlines, TLS from the
settings' files, mutual TLS when a client CA is named, JSON logs) are `hooks.serving`'s. Here:
the gunicorn hooks that tell the metrics collector a worker died and flip /readyz when a
worker is told to stop, and graceful shutdown: on SIGTERM a worker keeps accepting until it
holds no connection, so the calls already queued on the listening socket are answered
(`Connection: close`) rather than reset when it closes, then exits (after `graceful_timeout` at
the latest).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import Any

from flask import Flask

from hooks import metrics
from hooks.edge import InFlight, Readiness, in_flight_limit
from hooks.registry import enabled_names
from hooks.server import HookPath, create_app
from hooks.serving import DEFAULT_THREADS as DEFAULT_THREADS
from hooks.serving import GunicornApplication as GunicornApplication
from hooks.serving import JsonGunicornLogger as JsonGunicornLogger
from hooks.serving import announce
from hooks.serving import buffering_worker as buffering_worker
from hooks.serving import gunicorn_options as serving_options
from hooks.settings import Settings
from hooks.worker import BufferingWorker


def _extension(worker: Any, name: str) -> object:
    """Return one of the objects create_app keeps in the worker's app (None if it has none)."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        return app.extensions.get("kubehooks", {}).get(name)
    return None


def _readiness(worker: Any) -> Readiness | None:
    state = _extension(worker, "readiness")
    return state if isinstance(state, Readiness) else None


def _child_exit(server: Any, worker: Any) -> None:
    """Let the multi-process metrics collector drop a dead worker's live gauges."""
    metrics.mark_worker_dead(worker.pid)


def _worker_stopping(worker: Any) -> None:
    """Report not ready from a worker told to stop (SIGINT, SIGQUIT, or a timeout's SIGABRT)."""
    readiness = _readiness(worker)
    if readiness is not None:
        readiness.stopping()


def _post_worker_init(worker: Any) -> None:
    """Compute the worker's calls in turn (`InFlight.take_turns`), the large ones in a child
    process (`hooks.compute`), and let its event loop refuse the excess; on SIGTERM report not
    ready, then stop."""
    in_flight = _extension(worker, "in_flight")
    if isinstance(in_flight, InFlight):
        in_flight.take_turns()
        if isinstance(worker, BufferingWorker):
            worker.in_flight = in_flight
            refusal = _extension(worker, "refusal")
            worker.refusal = refusal if callable(refusal) else None
    hook_path = _extension(worker, "hook_path")
    if isinstance(worker, BufferingWorker) and isinstance(hook_path, HookPath):
        hook_path.start_compute_child()
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        _worker_stopping(worker)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


SERVER_HOOKS: dict[str, Callable[..., Any]] = {
    "child_exit": _child_exit,
    "post_worker_init": _post_worker_init,
    "worker_int": _worker_stopping,
    "worker_abort": _worker_stopping,
}
"""The hook server's gunicorn hooks: metrics of dead workers, readiness, calls in turn."""

gunicorn_options = partial(serving_options, hooks=SERVER_HOOKS)
"""The gunicorn settings of `kubehooks serve` and the benchmark: `hooks.serving`'s, and the
hook server's gunicorn hooks."""


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int | None,
    threads: int | None = None,
) -> None:
    """Serve until SIGTERM; gunicorn finishes in-flight requests before exiting."""
    options = gunicorn_options(
        host, port, workers, threads=threads, tls=settings.tls, limits=settings.limits
    )
    share = in_flight_limit(settings.limits, options["workers"], options["threads"])
    limits = settings.limits.model_copy(update={"max_in_flight": share})
    served = settings.model_copy(update={"limits": limits})
    options["loglevel"] = settings.log_level.lower()
    start = start_fields(settings, options)
    options["when_ready"] = lambda server: announce("kubehooks serving", start)
    options["on_exit"] = lambda server: announce("kubehooks stopped", {"address": start["address"]})
    GunicornApplication(lambda: create_app(served), options).run()


def start_fields(settings: Settings, options: dict[str, Any]) -> dict[str, Any]:
    """Say what a started server serves, and warn when it is open to the network unprotected."""
    host = str(options["bind"]).rsplit(":", 1)[0]
    scheme = "https" if settings.tls.enabled else "http"
    fields: dict[str, Any] = {
        "address": f"{scheme}://{options['bind']}",
        "workers": options["workers"],
        "threads": options["threads"],
        "tls": settings.tls.enabled,
        "auth": settings.auth.bearer_token_file is not None
        or settings.auth.basic_auth_password_file is not None
        or bool(
            os.environ.get("KUBEHOOKS_BEARER_TOKEN")
            or os.environ.get("KUBEHOOKS_BASIC_AUTH_PASSWORD")
        ),
        "controllers": enabled_names(settings),
        "config": os.environ.get("KUBEHOOKS_CONFIG") or None,
    }
    if host not in {"127.0.0.1", "localhost", "::1", "[::1]"} and not fields["auth"]:
        fields["warning"] = f"listening on {host} without authentication: any client may call"
    return fields


def _has_credentials(settings: Settings) -> bool:
    files = (settings.auth.bearer_token_file, settings.auth.basic_auth_password_file)
    variables = ("KUBEHOOKS_BEARER_TOKEN", "KUBEHOOKS_BASIC_AUTH_PASSWORD")
    return any(files) or any(os.environ.get(name) for name in variables)
