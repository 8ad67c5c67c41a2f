"""gunicorn in-process with the project's hardened worker, for `kubehooks serve` (`hooks.serve`)
and `kubehooks portal` (`hooks.portal.serve`) alike.

`hooks.worker.BufferingWorker` reads every request whole under the `limits` deadlines before a
thread takes it (408 past them; a slow client costs a buffer, never a thread), TLS comes from
the `tls` files with TLS 1.2 at least (mutual TLS when a client CA is named), connections are
kept alive, gunicorn's own lines are JSON like the apps' and there is no access log. Each
server adds its own gunicorn hooks (worker start and exit, readiness, metrics) to these options.
Nothing here imports either server.
"""

from __future__ import annotations

import os
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from hooks.logs import JsonFormatter
from hooks.peers import Peers
from hooks.settings import Limits, TlsConfig
from hooks.worker import BufferingWorker

DEFAULT_THREADS = 64
"""Threads per worker process: one computes at a time (`InFlight.take_turns`); the others hold
the calls waiting for their turn, and at least one is free to refuse the excess with 429.
With 16, two workers held 30 calls at most: 32 connections of small calls got 429s."""


def gunicorn_options(
    host: str,
    port: int,
    workers: int | None,
    *,
    threads: int | None = None,
    tls: TlsConfig | None = None,
    limits: Limits | None = None,
    hooks: Mapping[str, Callable[..., Any]] | None = None,
) -> dict[str, Any]:
    """Return the gunicorn settings shared by `kubehooks serve`, `kubehooks portal` and the
    benchmark: the buffering worker under `limits`, TLS from `tls`, JSON logs, no access log,
    and the server's own gunicorn `hooks` (post_worker_init, worker_exit...)."""
    threads = threads or DEFAULT_THREADS
    if threads < 2:
        raise ValueError("--threads must be at least 2 (one computes, one refuses the excess)")
    workers = workers or max(os.cpu_count() or 1, 1)
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": buffering_worker(limits or Limits(), workers),
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 25,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": JsonGunicornLogger,
        "preload_app": True,
        "control_socket_disable": True,
        # gunicorn 25.1+ opens a runtime-management socket (worker counts, reload) by default:
        # nothing here uses it, and it is one more door into a server that runs as a webhook.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
    }
    if tls is not None and tls.enabled:
        options["certfile"] = tls.cert_file
        options["keyfile"] = tls.key_file
        options["ssl_context"] = _ssl_context
        if tls.client_ca_file:
            options["ca_certs"] = tls.client_ca_file
            options["cert_reqs"] = ssl.CERT_REQUIRED
    options.update(hooks or {})
    return options


def buffering_worker(limits: Limits, workers: int = 1) -> type[BufferingWorker]:
    """Return the worker class, reading requests under the deadlines of `limits`; several
    `workers` share their load (`hooks.peers`: twice the slots, for a reload's new workers)."""
    return type(
        "KubehooksWorker",
        (BufferingWorker,),
        {
            "header_seconds": limits.header_timeout_seconds,
            "body_seconds": limits.body_timeout_seconds,
            "max_body_bytes": limits.max_body_bytes,
            "buffer_budget_bytes": 4 * limits.max_body_bytes,
            "peers": Peers(2 * workers) if workers > 1 else None,
        },
    )


def _ssl_context(config: Any, default_factory: Any) -> ssl.SSLContext:
    """Return gunicorn's context with TLS 1.2 as the floor, stated rather than inherited."""
    context: ssl.SSLContext = default_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class JsonGunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own lines (workers booting, timing out, exiting) as JSON, like the app's.

    One format on stderr, so a log pipeline parses every line the container writes.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


class GunicornApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code rather than from a file, serving what `load_app` returns."""

    def __init__(self, load_app: Callable[[], Any], options: dict[str, Any]) -> None:
        self._load_app = load_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load_app()


def announce(message: str, fields: dict[str, Any]) -> None:
    """Write one line to stderr, whatever the log level: a server says when it starts and stops."""
    sys.stderr.write(JsonFormatter().line(time.time(), "INFO", "kubehooks", message, fields) + "\n")
    sys.stderr.flush()
