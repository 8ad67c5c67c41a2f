"""Structured JSON logs: one line per hook call, fields a log pipeline can index.

A hook call's line carries the controller and hook, the parent's namespace, name, uid and
generation, the HTTP status, a `result` (OK, NotModified, a spec error's reason such as
InvalidSpec or PolicyViolation, or the HTTP error's name), the duration, the number of
children answered and the request id (the caller's X-Request-Id when sane, else a fresh one).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

HOOK_LOGGER = "kubehooks.hook"
_HOOK_LOG = logging.getLogger(HOOK_LOGGER)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line, with any `fields` it carries."""

    _second = -1
    _time = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # formatted once a second, not once a line
            self._time = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = second
        entry: dict[str, Any] = {
            "time": self._time,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str) -> None:
    """Send kubehooks' logs to stderr as JSON lines at the configured level (idempotent).

    A record then skips what our lines never print (the caller's source line, found by walking
    the stack, and thread and process names): a third of the cost of a hook call's line. These
    switches are the ones the logging documentation's "Optimization" section names.
    """
    logging._srcfile = None  # noqa: SLF001 - the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger("kubehooks")
    root.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.propagate = False


def log_hook_call(
    *,
    controller: str | None,
    hook: str | None,
    parent: Any,
    status: int,
    seconds: float,
    request_id: str | None,
    children: int | None,
    result: str | None = None,
) -> None:
    """Log one hook call with the parent's identity, its duration and its result."""
    meta = (parent.get("metadata") or {}) if isinstance(parent, dict) else {}
    fields = {
        "controller": controller,
        "hook": hook,
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "generation": meta.get("generation"),
        "status": status,
        "result": result,
        "durationMs": round(seconds * 1000, 3),
        "requestId": request_id,
        "children": children,
    }
    level = logging.INFO if status < 500 else logging.ERROR
    _HOOK_LOG.log(level, "hook call", extra={"fields": fields})
