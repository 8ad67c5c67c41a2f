"""The log line's time: UTC with its zone, whatever the machine's local time."""

from __future__ import annotations

import json

from hooks.logs import JsonFormatter


def test_log_time_is_utc_with_a_zone() -> None:
    line = json.loads(JsonFormatter().line(0.5, "INFO", "x", "m"))
    assert line["time"] == "1970-01-01T00:00:00Z"
