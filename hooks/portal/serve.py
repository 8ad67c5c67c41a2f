"""Serving the portal: gunicorn in-process with the hook server's hardened worker.

The same `hooks.worker.BufferingWorker` as `kubehooks serve`, from the same options
(`hooks.serving.gunicorn_options`; nothing of the hook server is imported):
the event loop reads every request whole under `limits.headerTimeoutSeconds` and
`limits.bodyTimeoutSeconds` (408 past them) before a thread takes it, so a client trickling
its headers costs a buffer, never a thread; TLS (mutual TLS too) from `tls:`, TLS 1.2 at
least; on SIGTERM the worker finishes what it accepted, then exits. Requests are bounded:
at most `threads - 1` (and `limits.maxInFlight`) are held at once, the next one gets 429 with
Retry-After (`Admission`); the probes are never refused.

One worker process, `threads` threads. The recorder (the watches that write the history) must
run exactly once, so it cannot run in several workers; it runs in the one worker, started by
gunicorn's `post_worker_init` and stopped by its `worker_exit`, rather than in the arbiter:

- the arbiter forks the worker, and forking a process that runs threads (watches holding
  sockets and locks) is unsafe; the arbiter keeps to supervising;
- /readyz and the API answer from the worker, and the recorder's state (`cluster_ok`, the
  buffer) is in that process's memory, not behind a pipe;
- if the worker dies, the arbiter forks a new one whose recorder resumes from the stored
  watermark, as after any restart (replays are no-ops).

The app is built in the arbiter (`preload_app`: a bad config or token file stops the start
before any fork), so the worker first drops the database connections it inherited
(`engine.dispose(close=False)`, SQLAlchemy's rule after a fork). On SIGTERM the worker stops
accepting once idle, then `worker_exit` stops the recorder, whose writer flushes what it holds
(unless the database is down: then it is replayed from the watermark at the next start).

`wsgi.url_scheme` (werkzeug's `request.is_secure`) is `https` when the portal serves TLS, and
behind a proxy in `trustedProxies` when it sends `X-Forwarded-Proto: https` (gunicorn's
`forwarded_allow_ips`); other clients cannot claim it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from werkzeug.wsgi import ClosingIterator

from hooks.inflight import InFlight, in_flight_limit
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore
from hooks.portal.recorder import Recorder
from hooks.serving import GunicornApplication, announce, gunicorn_options
from hooks.settings import Limits

log = logging.getLogger("kubehooks.portal")

PROBES = frozenset({"/healthz", "/readyz"})
"""Paths answered even when every slot is taken: the kubelet's probes must not see 429."""
STOP_SECONDS = 10.0
"""How long the worker waits for the recorder to flush on its way out (gunicorn's
`graceful_timeout`, 25 s, is the bound on the whole stop)."""

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Admission:
    """WSGI middleware: hold at most `in_flight.limit` requests, answer the next 429.

    A POST's slot is decided by the worker as soon as its headers are in (`hooks.worker`);
    the others take theirs here. The slot is given back when the answer has been sent.
    """

    def __init__(self, app: Wsgi, in_flight: InFlight, limits: Limits) -> None:
        self.app = app
        self.in_flight = in_flight
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") in PROBES:
            return self.app(environ, start_response)
        if not self.in_flight.enter():
            body = orjson.dumps(
                {
                    "error": f"the portal holds its limit of {self.in_flight.limit} requests",
                    "status": 429,
                }
            )
            start_response(
                "429 Too Many Requests",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Retry-After", self._retry_after()),
                ],
            )
            return [body]
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self.in_flight.leave()
            raise
        return ClosingIterator(answer, [self.in_flight.leave])

    def _retry_after(self) -> str:
        limits = self.limits
        return str(
            self.in_flight.retry_after(limits.retry_after_seconds, limits.retry_after_max_seconds)
        )


def portal_options(
    settings: PortalSettings,
    host: str,
    recorder: Recorder | None,
    store: HistoryStore | None,
    in_flight: InFlight,
) -> dict[str, Any]:
    """Return gunicorn's settings for the portal: the shared ones (`hooks.serving`), one
    worker, the recorder started in it and stopped (flushed) when it exits."""

    def post_worker_init(worker: Any) -> None:
        if store is not None:
            store.engine.dispose(close=False)  # the arbiter's connections are not ours
        worker.in_flight = in_flight
        if recorder is not None:
            recorder.run()

    def worker_exit(server: Any, worker: Any) -> None:
        if recorder is None:
            return
        recorder.stop(STOP_SECONDS)
        held = len(recorder.buffer)
        if held:
            log.warning("recorder stopped holding %d events (replayed at the next start)", held)
        else:
            log.info("recorder stopped: everything it held is written")

    options = gunicorn_options(
        host,
        settings.port,
        1,
        threads=settings.threads,
        tls=settings.tls,
        limits=settings.limits,
        hooks={"post_worker_init": post_worker_init, "worker_exit": worker_exit},
    )
    # X-Forwarded-Proto is believed from the proxies trusted with the user's name, no other
    options["forwarded_allow_ips"] = ",".join(settings.trusted_proxies)
    return options


def serve_portal(
    settings: PortalSettings,
    app: Wsgi,
    *,
    host: str,
    recorder: Recorder | None,
    store: HistoryStore | None,
) -> None:
    """Serve until SIGTERM (or SIGINT): one worker, the recorder in it, TLS if configured."""
    in_flight = InFlight(in_flight_limit(settings.limits, 1, settings.threads))
    options = portal_options(settings, host, recorder, store, in_flight)
    scheme = "https" if settings.tls.enabled else "http"
    fields = {
        "address": f"{scheme}://{options['bind']}",
        "threads": options["threads"],
        "maxInFlight": in_flight.limit,
        "tls": settings.tls.enabled,
    }
    options["when_ready"] = lambda server: announce("kubehooks portal serving", fields)
    options["on_exit"] = lambda server: announce(
        "kubehooks portal stopped", {"address": fields["address"]}
    )
    wrapped = Admission(app, in_flight, settings.limits)
    GunicornApplication(lambda: wrapped, options).run()
