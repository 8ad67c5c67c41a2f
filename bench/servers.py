"""The three HTTP servers of the benchmark, as subprocesses on 127.0.0.1, and their memory.

- `kubehooks`: `python -m hooks serve` with no config, i.e. exactly `kubehooks serve` as
  deployed (gunicorn with `hooks.serve.gunicorn_options`, every controller enabled).
- `floor`: a raw WSGI app under the same gunicorn options (`bench.floor`).
- `stdlib`: the `http.server` hook in the style of Metacontroller's examples (`bench.stdlib_hook`).

Each runs in its own session (process group), so stopping it stops its workers too; `stop` is
called for every server that was started, whatever happens.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import ROOT
from hooks.serve import gunicorn_options

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
GUNICORN_WORKERS = int(gunicorn_options(LOOPBACK, 0, None)["workers"])
"""How many workers `kubehooks serve` and the floor run with the default options."""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A started server: its process (the gunicorn master, or the single stdlib process)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    path: str
    probe: str
    """A GET that tells the server is up without calling a hook (any HTTP answer will do)."""
    workers: int
    """Worker processes to wait for (gunicorn boots them one after the other); 0 for none."""
    tls: ssl.SSLContext | None = None
    """How to reach it over HTTPS (trusting its self-signed certificate); None for plain HTTP."""

    @property
    def url(self) -> str:
        """Return the URL the load generator posts to."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}{self.path}"

    def post(self, body: bytes, timeout: float = 10) -> tuple[int, bytes]:
        """POST `body` once and return the status and the answer."""
        return self._call("POST", self.path, body, timeout)

    def get_probe(self, timeout: float = 5) -> int:
        """GET the probe path once and return the status."""
        return self._call("GET", self.probe, None, timeout)[0]

    def _call(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        connection = (
            http.client.HTTPSConnection(LOOPBACK, self.port, timeout=timeout, context=self.tls)
            if self.tls is not None
            else http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        )
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        """Return the processes that answer requests: gunicorn's workers and their compute
        children, or the server itself."""
        children = child_pids(self.process.pid)
        compute = [child for worker in children for child in child_pids(worker)]  # hooks.compute
        return children + compute or [self.process.pid]

    def stop(self) -> None:
        """Stop the server and everything it started: SIGTERM, then SIGKILL after 15 s."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def child_pids(pid: int) -> list[int]:
    """Return the pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the ppid follows its closing one.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS of a process, and its PSS and private memory (smaps_rollup), in KiB."""
    out: dict[str, int] = {}
    wanted = {"VmRSS:": "rss"}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in wanted:
            out[wanted[parts[0]]] = int(parts[1])
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return out
    private = 0
    for line in rollup:
        parts = line.split()
        if parts and parts[0] == "Pss:":
            out["pss"] = int(parts[1])
        elif parts and parts[0] in ("Private_Clean:", "Private_Dirty:"):
            private += int(parts[1])
    out["private"] = private
    return out


def _environment() -> dict[str, str]:
    """Return this process's environment without KUBEHOOKS_* settings: the server's defaults."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KUBEHOOKS_", "PROMETHEUS_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start(
    name: str, command: list[str], path: str, probe: str, folder: Path, workers: int
) -> Server:
    """Start a server process in its own session, its output going to a log file."""
    port = free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_environment(),
            start_new_session=True,
        )
    return Server(name, process, port, log, path, probe, workers)


def wait_ready(servers: list[Server]) -> None:
    """Wait until every server answers its probe (kubehooks: /readyz says ready)."""
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(servers)
    while waiting:
        server = waiting[0]
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n"
                + server.log.read_text(errors="replace")[-3000:]
            )
        try:
            status = server.get_probe()
            booted = len(child_pids(server.process.pid)) >= server.workers
            if booted and (status < 500 or server.probe != "/readyz"):
                waiting.pop(0)
                continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer within {START_TIMEOUT:.0f}s")
        time.sleep(0.1)


GTHREAD_THREADS = 8
"""Threads per worker of the gthread comparison (`python -m bench --threaded`)."""


def start_kubehooks(
    controller: str,
    folder: Path,
    *,
    threads: int | None = None,
    tls: Path | None = None,
    config: str = "",
) -> Server:
    """Start `kubehooks serve` as deployed: default settings, default gunicorn options.

    `threads` adds `--threads N`, `tls` serves HTTPS with that certificate (see `self_signed`),
    both for comparison only; `config` is YAML for settings a scenario needs (`limits`).
    """
    command = [sys.executable, "-m", "hooks", "serve", "--host", LOOPBACK]
    name = "kubehooks"
    if tls is not None:
        key = tls.with_suffix(".key")
        config += f"tls: {{certFile: '{tls}', keyFile: '{key}'}}\n"
        name += "-tls"
    if config:
        config_file = folder / f"{name}.yaml"
        config_file.write_text(config)
        command += ["--config", str(config_file)]
    if threads:
        command += ["--threads", str(threads)]
        name += "-gthread"
    server = start(name, command, f"/{controller}/sync", "/readyz", folder, GUNICORN_WORKERS)
    if tls is not None:
        server.tls = ssl.create_default_context(cafile=str(tls))
    return server


def self_signed(folder: Path) -> Path | None:
    """Write an RSA-2048 certificate for 127.0.0.1 (what cert-manager issues by default).

    Returns the certificate's path (the key sits beside it, `.key`), or None without openssl.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={LOOPBACK}"]
        + ["-addext", f"subjectAltName=IP:{LOOPBACK}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert


def start_floor(
    controller: str, answer: bytes, folder: Path, *, threads: int | None = None
) -> Server:
    """Start the raw WSGI floor under the same gunicorn options, answering `answer`."""
    answer_file = folder / "floor-answer.json"
    answer_file.write_bytes(answer)
    command = [sys.executable, "-m", "bench.floor", "--answer", str(answer_file)]
    name = "floor"
    if threads:
        command += ["--threads", str(threads)]
        name += "-gthread"
    return start(name, command, f"/{controller}/sync", "/", folder, GUNICORN_WORKERS)


def start_stdlib(controller: str, folder: Path) -> Server:
    """Start the Metacontroller-examples-style `http.server` hook."""
    command = [sys.executable, "-m", "bench.stdlib_hook"]
    return start("stdlib", command, f"/{controller}/sync", "/", folder, 0)
