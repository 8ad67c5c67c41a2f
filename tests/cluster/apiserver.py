"""A throwaway etcd + kube-apiserver on loopback, for tests.

    from tests.cluster.apiserver import LocalCluster, install_binaries

    with LocalCluster(install_binaries()) as cluster:
        requests.get(cluster.url + "/api", headers=cluster.headers, verify=cluster.ca_file)

Only the standard library is used. The service-account signing key is made with the
``openssl`` command (``openssl genrsa``); the serving certificate is the self-signed one that
kube-apiserver writes into ``--cert-dir``.

There is no kube-controller-manager and no scheduler: nothing reconciles built-in objects
(no ReplicaSets from Deployments, no garbage collection, no default ServiceAccount in new
namespaces, deleted namespaces stay Terminating). The ServiceAccount admission plugin is
disabled so Pods can be created without a ServiceAccount object.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
INSTALL_SH = HERE / "install.sh"

__all__ = ["LocalCluster", "ClusterStartError", "install_binaries"]


class ClusterStartError(RuntimeError):
    """etcd or kube-apiserver did not come up; the message carries their log tails."""


def install_binaries(timeout: float | None = None, env: dict[str, str] | None = None) -> Path:
    """Run install.sh (a no-op once built) and return the bin dir it prints last.

    A cold build takes about 7 minutes on 2 cores; pass ``timeout`` to bound it, and ``env``
    to run it with another environment (e.g. a PATH that finds ``go``).
    """
    proc = subprocess.run(
        ["bash", str(INSTALL_SH)],
        stdout=subprocess.PIPE,
        stderr=None,  # build progress goes straight to our stderr
        text=True,
        timeout=timeout,
        check=True,
        env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("install.sh printed no bin dir")
    return Path(lines[-1].strip())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """preexec_fn: have Linux SIGKILL the child when the Python process goes away.

    Best effort (Linux only); LocalCluster.stop() and the context manager are the
    normal way to end the processes.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text[-lines:])


class LocalCluster:
    """etcd and kube-apiserver on 127.0.0.1 with a bearer token in system:masters.

    Attributes once started:
      url        https://127.0.0.1:<port>
      token      bearer token of user "kubehooks-admin" (group system:masters)
      headers    {"Authorization": "Bearer <token>"}
      ca_file    PEM file to verify the apiserver's self-signed certificate
      kubeconfig path of a kubeconfig file for this cluster (for kubectl / client libraries)
      etcd_url   http://127.0.0.1:<port>
      tmpdir     the temp dir (logs: etcd.log, kube-apiserver.log)
    """

    def __init__(
        self,
        bin_dir: str | os.PathLike[str],
        *,
        startup_timeout: float = 120.0,
        extra_apiserver_args: list[str] | tuple[str, ...] = (),
        keep_tmpdir: bool | None = None,
    ) -> None:
        self.bin_dir = Path(bin_dir)
        self.startup_timeout = startup_timeout
        self.extra_apiserver_args = list(extra_apiserver_args)
        if keep_tmpdir is None:
            keep_tmpdir = os.environ.get("KUBEHOOKS_KEEP_CLUSTER_DIR", "") not in ("", "0")
        self.keep_tmpdir = keep_tmpdir
        self.etcd_bin = self.bin_dir / "etcd"
        self.apiserver_bin = self.bin_dir / "kube-apiserver"
        for b in (self.etcd_bin, self.apiserver_bin):
            if not os.access(b, os.X_OK):
                raise FileNotFoundError(f"{b} is missing; run tests/cluster/install.sh")
        self.tmpdir: Path | None = None
        self.url = ""
        self.token = ""
        self.etcd_url = ""
        self.ca_file = ""
        self.kubeconfig = ""
        self.etcd_proc: subprocess.Popen[bytes] | None = None
        self.apiserver_proc: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}
        self._logs: list[IO[bytes]] = []

    # -- public API -----------------------------------------------------------------------

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def etcd_log(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "etcd.log"

    @property
    def apiserver_log(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "kube-apiserver.log"

    def start(self) -> LocalCluster:
        if self.tmpdir is not None:
            raise RuntimeError("already started")
        t0 = time.monotonic()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="kubehooks-cluster-"))
        atexit.register(self.stop)  # in case a test run forgets, or dies with an exception
        try:
            self._prepare_files()
            self._start_etcd()
            self._wait_etcd()
            self.timings["etcd_ready"] = time.monotonic() - t0
            self._start_apiserver()
            self._wait_readyz()
            self.timings["apiserver_ready"] = time.monotonic() - t0
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill kube-apiserver, then etcd (by PID), and remove the temp dir. Idempotent."""
        atexit.unregister(self.stop)
        for proc in (self.apiserver_proc, self.etcd_proc):
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self.apiserver_proc = None
        self.etcd_proc = None
        for f in self._logs:
            try:
                f.close()
            except OSError:
                pass
        self._logs = []
        if self.tmpdir is not None:
            if self.keep_tmpdir:
                print(f"LocalCluster: kept {self.tmpdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def logs(self, lines: int = 60) -> str:
        if self.tmpdir is None:
            return "<cluster not running>"
        return (
            f"--- etcd.log (last {lines} lines) ---\n{_tail(self.etcd_log, lines)}\n"
            f"--- kube-apiserver.log (last {lines} lines) ---\n{_tail(self.apiserver_log, lines)}"
        )

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        assert self.tmpdir is not None
        (self.tmpdir / "certs").mkdir()
        self.sa_key = self.tmpdir / "sa.key"
        # openssl genrsa writes a PKCS#8 (or PKCS#1 on old OpenSSL) RSA private key; the
        # apiserver reads both, and derives the public key from the private key file.
        subprocess.run(
            ["openssl", "genrsa", "-out", str(self.sa_key), "2048"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.token = os.urandom(16).hex()
        self.token_file = self.tmpdir / "tokens.csv"
        self.token_file.write_text(
            f'{self.token},kubehooks-admin,kubehooks-admin-uid,"system:masters"\n'
        )
        os.chmod(self.token_file, 0o600)

    def _popen(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        f = open(log, "wb")
        self._logs.append(f)
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=f,
            stderr=subprocess.STDOUT,
            cwd=str(self.tmpdir),
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def _start_etcd(self) -> None:
        assert self.tmpdir is not None
        client, peer = _free_port(), _free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        self.etcd_proc = self._popen(
            [
                str(self.etcd_bin),
                "--name=kubehooks",
                f"--data-dir={self.tmpdir / 'etcd-data'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=kubehooks={peer_url}",
                "--initial-cluster-state=new",
                # throwaway data: skip fsync, which makes every write much faster
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            self.etcd_log,
        )

    def _check_alive(self, what: str) -> None:
        for name, proc in (("etcd", self.etcd_proc), ("kube-apiserver", self.apiserver_proc)):
            if proc is not None and proc.poll() is not None:
                raise ClusterStartError(
                    f"{name} exited with code {proc.returncode} while waiting for {what}\n"
                    + self.logs()
                )

    def _deadline_passed(self, start: float) -> bool:
        return time.monotonic() - start > self.startup_timeout

    def _wait_etcd(self) -> None:
        start = time.monotonic()
        last = ""
        while True:
            self._check_alive("etcd /health")
            try:
                with urllib.request.urlopen(self.etcd_url + "/health", timeout=2) as resp:
                    body = json.loads(resp.read() or b"{}")
                    if str(body.get("health")).lower() == "true":
                        return
                    last = repr(body)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = repr(exc)
            if self._deadline_passed(start):
                raise ClusterStartError(
                    f"etcd not healthy after {self.startup_timeout:.0f}s (last: {last})\n"
                    + self.logs()
                )
            time.sleep(0.1)

    def stop_apiserver(self) -> None:
        """Kill kube-apiserver alone (SIGKILL: an outage, not a shutdown); etcd keeps the data."""
        proc = self.apiserver_proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def restart_apiserver(self) -> None:
        """Start kube-apiserver again on the same port, etcd and certificate; wait for /readyz."""
        self.stop_apiserver()
        self._start_apiserver(port=int(self.url.rsplit(":", 1)[1]))
        self._wait_readyz()

    def _start_apiserver(self, port: int | None = None) -> None:
        assert self.tmpdir is not None
        port = port or _free_port()
        self.url = f"https://127.0.0.1:{port}"
        cert_dir = self.tmpdir / "certs"
        self.apiserver_proc = self._popen(
            [
                str(self.apiserver_bin),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # the "kubernetes" Service endpoints may not be loopback: do not maintain them
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                f"--cert-dir={cert_dir}",
                f"--etcd-servers={self.etcd_url}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={self.sa_key}",
                f"--service-account-signing-key-file={self.sa_key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                f"--token-auth-file={self.token_file}",
                "--authorization-mode=RBAC",
                # no kube-controller-manager: nothing would create the default ServiceAccount
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=true",
                "--profiling=false",
                *self.extra_apiserver_args,
            ],
            self.apiserver_log,
        )
        # kube-apiserver writes apiserver.crt (leaf followed by its self-signed CA) here.
        self.ca_file = str(cert_dir / "apiserver.crt")

    def _wait_readyz(self) -> None:
        # The certificate appears on disk only after start-up begins; polling loopback
        # without verification is fine, clients should use ca_file.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        start = time.monotonic()
        last = ""
        while True:
            self._check_alive("kube-apiserver /readyz")
            req = urllib.request.Request(self.url + "/readyz", headers=self.headers)
            try:
                with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[-500:].decode(errors='replace')}"
                exc.close()
            except (urllib.error.URLError, OSError) as exc:
                last = repr(exc)
            if self._deadline_passed(start):
                raise ClusterStartError(
                    f"kube-apiserver /readyz not 200 after {self.startup_timeout:.0f}s "
                    f"(last: {last})\n{self.logs()}"
                )
            time.sleep(0.25)

    def _write_kubeconfig(self) -> None:
        assert self.tmpdir is not None
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": self.url, "certificate-authority": self.ca_file},
                }
            ],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
            "current-context": "local",
        }
        path = self.tmpdir / "kubeconfig"
        path.write_text(json.dumps(cfg, indent=2))  # JSON is valid YAML
        os.chmod(path, 0o600)
        self.kubeconfig = str(path)
