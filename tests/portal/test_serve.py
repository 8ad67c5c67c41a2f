"""`kubehooks portal` as served in production: gunicorn with the hook server's worker.

A real process on loopback, its kubeconfig naming an API server that is not there (the facade
and the recorder are the cluster tests' business): slow clients, TLS, the in-flight bound.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from hooks.edge import InFlight
from hooks.portal.config import PortalSettings
from hooks.portal.serve import Admission, portal_options
from hooks.settings import Limits
from tests.servers import LOOPBACK, ROOT, free_port, make_pki

DEAD_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    "current-context": "gone",
}


@contextmanager
def portal(
    tmp_path: Path, extra: dict[str, Any], scheme: str = "http", **ready: Any
) -> Iterator[str]:
    """Run `kubehooks portal --dev` with `extra` settings; yield its base URL once /healthz
    answers; SIGTERM it (all of its processes are killed at the end anyway)."""
    port = free_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(DEAD_KUBECONFIG))
    config = tmp_path / "portal.yaml"
    settings = {"port": port, "dataDir": str(tmp_path / "data"), "kubeconfig": str(kubeconfig)}
    config.write_text(yaml.safe_dump({**settings, **extra}))
    log = tmp_path / "portal.log"
    command = [sys.executable, "-m", "hooks", "portal", "--config", str(config), "--dev"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"{scheme}://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(f"{url}/healthz", timeout=1, **ready).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_slow_clients_do_not_hold_the_threads(tmp_path: Path) -> None:
    """40 connections trickling their headers (10 times the threads): a normal call is still
    answered, and the tricklers get 408 at the header deadline. --dev binds loopback whatever
    the file's host."""
    limits = {"headerTimeoutSeconds": 3}
    with portal(tmp_path, {"threads": 4, "limits": limits, "host": "0.0.0.0"}) as url:
        log = (tmp_path / "portal.log").read_text()
        assert f'"address":"http://127.0.0.1:{url.rsplit(":", 1)[1]}"' in log, log
        port = int(url.rsplit(":", 1)[1])
        slow = []
        for _ in range(40):
            conn = socket.create_connection((LOOPBACK, port), timeout=10)
            conn.sendall(b"GET /api/openapi.json HTTP/1.1\r\nHost: portal\r\n")
            slow.append(conn)
        try:
            for index in range(4):
                time.sleep(0.3)
                for conn in slow:
                    conn.sendall(f"X-Trickle-{index}: yes\r\n".encode())
                answer = requests.get(f"{url}/api/openapi.json", timeout=5)
                assert answer.status_code == 200 and answer.json()["openapi"] == "3.1.0"
                assert requests.get(f"{url}/healthz", timeout=5).json() == {"ok": True}
            timed_out = slow[0].recv(4096)
            assert timed_out.startswith(b"HTTP/1.1 408"), timed_out
        finally:
            for conn in slow:
                conn.close()


def test_the_portal_serves_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    tls = {"certFile": str(pki.server_cert), "keyFile": str(pki.server_key)}
    verify: dict[str, Any] = {"verify": str(pki.ca)}
    with portal(tmp_path, {"tls": tls}, scheme="https", **verify) as url:
        answer = requests.get(f"{url}/api/openapi.json", timeout=5, **verify)
        assert answer.status_code == 200 and answer.json()["openapi"] == "3.1.0"
        with pytest.raises(requests.ConnectionError):
            requests.get(url.replace("https:", "http:") + "/healthz", timeout=5)
        history = requests.get(
            f"{url}/api/v1/history/aijobs", headers={"X-Debug-Username": "dev"}, timeout=5, **verify
        )
        assert history.status_code == 200


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.url_scheme"].encode()]


def _call(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = app({"PATH_INFO": path, "wsgi.url_scheme": "http"}, start_response)
    data = b"".join(body)
    getattr(body, "close", lambda: None)()
    return seen["status"], seen["headers"], data


def test_admission_answers_429_past_the_bound_but_never_to_the_probes() -> None:
    in_flight = InFlight(1)
    admission = Admission(_app, in_flight, Limits(retry_after_seconds=3))
    assert _call(admission, "/api/v1/history/aijobs")[0] == "200 OK"
    assert in_flight.count == 0, "the slot is given back once the answer is sent"
    assert in_flight.enter()  # another request holds the only slot
    status, headers, body = _call(admission, "/api/v1/history/aijobs")
    assert status.startswith("429") and headers["Retry-After"] == "3" and b"limit of 1" in body
    assert _call(admission, "/readyz")[0] == "200 OK"
    in_flight.leave()
    assert _call(admission, "/api/openapi.json")[0] == "200 OK"


def test_gunicorn_options_one_worker_tls_and_trusted_proxies(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    settings = PortalSettings.model_validate(
        {
            "threads": 8,
            "trustedProxies": ["10.0.0.7"],
            "tls": {"certFile": str(pki.server_cert), "keyFile": str(pki.server_key)},
            "limits": {"headerTimeoutSeconds": 2},
        }
    )
    options = portal_options(settings, "0.0.0.0", None, None, InFlight(7))
    assert options["workers"] == 1 and options["threads"] == 8
    assert options["certfile"] == str(pki.server_cert)
    assert options["forwarded_allow_ips"] == "10.0.0.7"
    assert options["worker_class"].header_seconds == 2
    plain = portal_options(PortalSettings(), "127.0.0.1", None, None, InFlight(7))
    assert plain["forwarded_allow_ips"] == "" and "certfile" not in plain


def test_x_forwarded_proto_is_believed_from_trusted_proxies_only() -> None:
    """`request.is_secure` (wsgi.url_scheme) behind a TLS-terminating proxy: gunicorn parses
    the request with the portal's `forwarded_allow_ips`, the `trustedProxies`."""
    from gunicorn.config import Config
    from gunicorn.http.message import Request
    from gunicorn.http.unreader import IterUnreader

    settings = PortalSettings.model_validate({"trustedProxies": ["10.0.0.7"]})
    options = portal_options(settings, "0.0.0.0", None, None, InFlight(7))
    config = Config()
    config.set("forwarded_allow_ips", options["forwarded_allow_ips"])

    def scheme(peer: str) -> str:
        raw = b"GET / HTTP/1.1\r\nHost: portal\r\nX-Forwarded-Proto: https\r\n\r\n"
        return str(Request(config, IterUnreader([raw]), (peer, 40000), 1).scheme)

    assert scheme("10.0.0.7") == "https"
    assert scheme("10.0.0.8") == "http"
    assert scheme("127.0.0.1") == "http", "not even loopback, unless trusted"
