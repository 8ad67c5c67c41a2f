"""A scripted webhook server on loopback, for testing the harness itself.

The harness tests need answers the real hooks never give (a rolling strategy, a status that
changes shape, a field dropped from one answer to the next). `StubHooks` serves whatever
`answer(path, request)` returns, as JSON, and records every request with its headers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class StubHooks:
    """The running stub: `url` to give the harness, `calls` as (path, headers, body)."""

    url: str
    answer: Answer
    calls: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


@contextmanager
def stub_hooks(answer: Answer) -> Iterator[StubHooks]:
    """Serve `answer` on 127.0.0.1 (a free port) until the block ends."""
    stub = StubHooks(url="", answer=answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            stub.calls.append((self.path, dict(self.headers.items()), body))
            data = json.dumps(stub.answer(self.path, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: the tests print what they need."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
