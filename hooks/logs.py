"""Structured JSON logs: one line per hook call, fields a log pipeline can index.

A hook call's line carries the controller and hook, the parent's namespace, name, uid and
generation, the HTTP status, a `result` (OK, NotModified, a spec error's reason such as
InvalidSpec or PolicyViolation, or the HTTP error's name), the duration, the number of
children answered and the request id (the caller's X-Request-Id when sane, else a fresh one).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

HOOK_LOGGER = "kubehooks.hook"
_HOOK_LOG = logging.getLogger(HOOK_LOGGER)
HOOK_CALL = "hook call"


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line, with any `fields` it carries."""

    _second = -1
    _time = ""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            fields if isinstance(fields, dict) else None,
            exception,
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any] | None = None,
        exception: str | None = None,
    ) -> str:
        """Return the JSON line of one log entry (what `format` makes of a record)."""
        second = int(created)
        if second != self._second:  # formatted once a second, not once a line
            self._time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
            self._second = second
        entry: dict[str, Any] = {
            "time": self._time,
            "level": level,
            "logger": logger,
            "message": message,
        }
        if fields:
            entry.update(fields)
        if exception:
            entry["exception"] = exception
        return orjson.dumps(entry, default=str).decode()


class JsonStreamHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs: JSON lines on a stream (stderr).

    It can also write a hook call's line without a LogRecord (see `log_hook_call`): the same
    line, a third of the cost.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.json = JsonFormatter()
        self.setFormatter(self.json)

    def write_line(self, level: int, logger: str, message: str, fields: dict[str, Any]) -> None:
        """Write one entry as `emit` would write the equivalent record."""
        line = self.json.line(time.time(), logging.getLevelName(level), logger, message, fields)
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
            self.flush()
        finally:
            self.release()


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
        root.addHandler(JsonStreamHandler(sys.stderr))
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
    level = logging.INFO if status < 500 else logging.ERROR
    if not _HOOK_LOG.isEnabledFor(level):
        return
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
    handler = _only_json_handler(level)
    if handler is not None:
        handler.write_line(level, HOOK_LOGGER, HOOK_CALL, fields)
    else:
        _HOOK_LOG.log(level, HOOK_CALL, extra={"fields": fields})


def _only_json_handler(level: int) -> JsonStreamHandler | None:
    """Return the handler a hook call's line reaches when it is the only one and filters nothing.

    That is the production setup (`configure_logging`); then the line is written without a
    LogRecord, which costs most of a line's time. Any other handler or filter (a test's, a
    user's) gets the record through `logging` as usual.
    """
    hook, parent = _HOOK_LOG, _HOOK_LOG.parent
    if hook.handlers or hook.filters or hook.disabled or not hook.propagate or parent is None:
        return None
    if parent.filters or parent.disabled or parent.propagate or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if type(handler) is not JsonStreamHandler or handler.filters or level < handler.level:
        return None
    return handler
