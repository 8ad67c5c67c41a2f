"""`kubehooks serve` says when it started (what it serves, where, how) and when it stopped."""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers import serve


def _lines(text: str, message: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == message:
            found.append(entry)
    return found


def test_one_start_line_and_one_stop_line(tmp_path: Path) -> None:
    with serve(tmp_path, config="enabled: [foo, aijob]\nlogLevel: warning\n") as server:
        (start,) = _lines(server.logs(), "kubehooks serving")
        assert start["address"] == server.url
        assert start["controllers"] == ["foo", "aijob"]
        assert start["tls"] is False and start["auth"] is False
        assert str(start["config"]).endswith(".yaml")
        assert "warning" not in start, "127.0.0.1 is not open to the network"
        assert "Booting worker" not in server.logs(), "logLevel warning is honoured by gunicorn"
        assert server.stop() == 0
    assert _lines(server.logs(), "kubehooks stopped")
    assert str(_lines(server.logs(), "kubehooks stopped")[0]["time"]).endswith("Z")
