"""Real `kubehooks serve` processes on loopback, and throwaway TLS certificates, for the tests."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bench.servers import LOOPBACK as LOOPBACK
from bench.servers import free_port as free_port

ROOT = Path(__file__).parent.parent


@dataclass
class Server:
    """A running `kubehooks serve`; `url` is its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve(
    tmp_path: Path,
    *,
    config: str = "",
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    scheme: str = "http",
    ready: Any = None,
) -> Iterator[Server]:
    """Start `python -m hooks serve` on a free loopback port and wait until /healthz answers.

    `ready` is the `requests` keyword arguments (verify, cert) for the readiness poll over TLS.
    The process is always stopped at the end, by SIGKILL if SIGTERM is not enough.
    """
    port = free_port()
    command = [sys.executable, "-m", "hooks", "serve", "--host", LOOPBACK, "--port", str(port)]
    if config:
        config_file = tmp_path / f"config-{port}.yaml"
        config_file.write_text(config)
        command += ["--config", str(config_file)]
    command += list(args)
    log = tmp_path / f"server-{port}.log"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KUBEHOOKS_", "PROMETHEUS_"))
    }
    environment.update(env or {})
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=environment
        )
    server = Server(process, f"{scheme}://{LOOPBACK}:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{server.logs()}")
            try:
                if requests.get(f"{server.url}/readyz", timeout=1, **(ready or {})).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not become ready:\n{server.logs()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass(frozen=True)
class Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_client_cert: Path
    other_client_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path) -> Pki:
    """Write a throwaway CA, a server certificate for 127.0.0.1, and two client certificates."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_cert = _certificate("kubehooks test CA", ca_key, None, ca=True)
    other_ca_key = _key()
    other_ca = _certificate("someone else's CA", other_ca_key, None, ca=True)
    paths = {}
    for label, subject, issuer, server in (
        ("server", "kubehooks", (ca_cert.subject, ca_key), True),
        ("client", "metacontroller", (ca_cert.subject, ca_key), False),
        ("other", "intruder", (other_ca.subject, other_ca_key), False),
    ):
        key = _key()
        cert = _certificate(subject, key, issuer, server=server)
        (folder / f"{label}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(folder / f"{label}.key", key)
        paths[label] = (folder / f"{label}.crt", folder / f"{label}.key")
    (folder / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return Pki(
        ca=folder / "ca.crt",
        server_cert=paths["server"][0],
        server_key=paths["server"][1],
        client_cert=paths["client"][0],
        client_key=paths["client"][1],
        other_client_cert=paths["other"][0],
        other_client_key=paths["other"][1],
    )
