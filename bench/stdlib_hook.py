"""The stdlib hook: `http.server` written the way Metacontroller's Python examples write it.

Those examples (`examples/*/sync.py` in metacontroller/metacontroller) run one
`HTTPServer(...).serve_forever()` with a `BaseHTTPRequestHandler` whose `do_POST` calls
`json.loads` on the body, computes the answer and writes `json.dumps` of it, logging each
request line to stderr (here, the benchmark's log file). To compare servers rather than
controllers, this one computes the same answer as our server through the same pure code path
(the contract's SyncRequest, `run_sync`); only the HTTP server and the JSON library are the
examples' own.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from hooks.contract import SyncRequest
from hooks.registry import bind_enabled
from hooks.runtime import run_sync
from hooks.settings import Settings

CONTROLLERS = bind_enabled(Settings())


def answer(controller: str, observed: dict[str, Any]) -> dict[str, Any]:
    """Compute a sync answer exactly as our server does, minus its HTTP and JSON layers."""
    request = SyncRequest.model_validate(observed)
    return run_sync(CONTROLLERS[controller], request, now=datetime.now(UTC)).to_wire()


class Controller(BaseHTTPRequestHandler):
    """One POST /<controller>/sync per request; HTTP/1.0, as in the examples."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        observed = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        desired = answer(self.path.strip("/").split("/")[0], observed)
        data = json.dumps(desired).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-type", "application/json")
        # The examples send no Content-Length (HTTP/1.0 ends the body by closing); wrk counts
        # each such answer as a read error, so it is sent here to keep the error count honest.
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Serve on 127.0.0.1 until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench.stdlib_hook")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    HTTPServer(("127.0.0.1", args.port), Controller).serve_forever()


if __name__ == "__main__":
    main()
