"""Running the app under gunicorn, with the project's production defaults.

Sync workers, one per core: hook calls are short and CPU-bound, so threads would only contend
for the GIL. No access log (the app logs one structured line per call).
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from hooks.server import create_app
from hooks.settings import Settings


def gunicorn_options(host: str, port: int, workers: int | None) -> dict[str, Any]:
    """Return the gunicorn settings used by `kubehooks serve` and the benchmark alike."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers or max(os.cpu_count() or 1, 1),
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 25,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": True,
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
    }


class HookServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running our Flask app, configured in code rather than from a file."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self._settings)


def serve(settings: Settings, *, host: str, port: int, workers: int | None) -> None:
    """Serve until SIGTERM; gunicorn finishes in-flight requests before exiting."""
    HookServer(settings, gunicorn_options(host, port, workers)).run()
