"""The floor: a raw WSGI app under the project's gunicorn settings, answering a fixed body.

It reads the whole request body, as any hook must, and answers the Application sync's golden
response: the least any WSGI hook on this server could cost. `python -m bench.floor --port N
--answer FILE` serves it; the benchmark starts and stops it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hooks.serve import GunicornApplication, gunicorn_options

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def floor_app(answer: bytes) -> WsgiApp:
    """Return a WSGI app that reads the request body and answers `answer` as JSON."""
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)
        start_response("200 OK", headers)
        return [answer]

    return app


def main() -> None:
    """Serve the floor app on 127.0.0.1 until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", type=Path, required=True, help="file holding the answer")
    parser.add_argument("--threads", type=int, help="as `kubehooks serve --threads` (default 1)")
    args = parser.parse_args()
    answer = args.answer.read_bytes()
    options = gunicorn_options("127.0.0.1", args.port, None, threads=args.threads)
    GunicornApplication(lambda: floor_app(answer), options).run()


if __name__ == "__main__":
    main()
