"""Session fixtures of the real-cluster tests (marker `cluster`): etcd and kube-apiserver
built and started once per session, the repository's CRDs installed, and a real hook server.

Missing tooling (no Go toolchain to build the binaries, no openssl) FAILS these tests with a
message saying what to install; it never skips them. Deselect them on purpose with
`pytest -m "not cluster"`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cluster.apiserver import ClusterStartError, LocalCluster, install_binaries
from tests.cluster.artefacts import (
    COMPOSITE_CONTROLLER_CRD,
    CONTROLLER_REVISION_CRD,
    GOLDEN_NAMESPACE,
    ROOT,
    CrdInstall,
    composite_controller_files,
    composite_controller_for,
    crd_files,
    documents,
    install_crd,
    served_kind,
)
from tests.cluster.harness import Metacontroller
from tests.cluster.kube import Kube
from tests.servers import free_port

GO_FALLBACK = Path("/usr/local/go/bin")
"""Where the Go toolchain lives on these machines when it is not on PATH."""

TIMINGS: dict[str, float] = {}
"""Seconds spent in each stage of the session, printed in the terminal summary."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("real-cluster stage timings")
    for stage, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{stage:<32} {seconds:7.1f} s")


def _tool_environment() -> dict[str, str]:
    """Return the environment for install.sh, with Go's folder on PATH if it was missing."""
    env = dict(os.environ)
    if shutil.which("go") is None and (GO_FALLBACK / "go").exists():
        env["PATH"] = f"{GO_FALLBACK}{os.pathsep}{env.get('PATH', '')}"
    return env


def _missing_tooling(env: dict[str, str]) -> list[str]:
    missing = []
    for tool, why in (
        ("bash", "runs tests/cluster/install.sh"),
        ("openssl", "makes the service-account key"),
        ("flock", "guards the build cache (util-linux)"),
    ):
        if shutil.which(tool, path=env.get("PATH")) is None:
            missing.append(f"{tool} ({why})")
    return missing


@pytest.fixture(scope="session")
def binaries() -> Path:
    """Build (once per machine, cached) or find etcd and kube-apiserver."""
    env = _tool_environment()
    missing = _missing_tooling(env)
    if missing:
        needed = ", ".join(missing)
        pytest.fail(f'real-cluster tests need {needed}; deselect them with -m "not cluster"')
    started = time.monotonic()
    try:
        bin_dir = install_binaries(env=env)
    except subprocess.CalledProcessError as err:
        has_go = shutil.which("go", path=env.get("PATH")) is not None
        hint = (
            "the build failed; its output is above (captured stderr)"
            if has_go
            else "no Go toolchain was found (neither on PATH nor in /usr/local/go/bin): "
            "install Go >= 1.26 to build kube-apiserver and etcd from Go modules"
        )
        pytest.fail(f"tests/cluster/install.sh exited with {err.returncode}: {hint}", pytrace=False)
    TIMINGS["install.sh (build or cache hit)"] = time.monotonic() - started
    return bin_dir


@pytest.fixture(scope="session")
def cluster(binaries: Path) -> Iterator[LocalCluster]:
    """A throwaway etcd + kube-apiserver on loopback, started once per session."""
    started = time.monotonic()
    try:
        local = LocalCluster(binaries).start()
    except ClusterStartError as err:
        pytest.fail(f"the local cluster did not start: {err}", pytrace=False)
    TIMINGS["cluster start (etcd + apiserver)"] = time.monotonic() - started
    try:
        yield local
    finally:
        stopping = time.monotonic()
        local.stop()
        TIMINGS["cluster stop"] = time.monotonic() - stopping


@pytest.fixture(scope="session")
def kube(cluster: LocalCluster) -> Iterator[Kube]:
    client = Kube(cluster.url, cluster.token, cluster.ca_file)
    client.ensure_namespace(GOLDEN_NAMESPACE)
    yield client
    client.close()


@pytest.fixture(scope="session")
def crds(kube: Kube) -> dict[str, CrdInstall]:
    """Install every CRD of crds/ once; map file name -> how its install went.

    Failures are recorded, not raised, so each CRD's own test reports its own problem.
    """
    started = time.monotonic()
    outcomes = {}
    for path in crd_files():
        for doc in documents(path):
            if doc.get("kind") == "CustomResourceDefinition":
                outcome = install_crd(kube, doc)
                outcomes[path.name] = outcome
                if outcome.established:
                    served_kind(kube, doc)
    TIMINGS["install crds/"] = time.monotonic() - started
    return outcomes


@pytest.fixture(scope="session")
def composite_controller_crd(kube: Kube) -> CrdInstall:
    """Install Metacontroller's CompositeController and ControllerRevision CRDs (our
    fixtures, written from its docs and Go types)."""
    (revisions,) = documents(CONTROLLER_REVISION_CRD)
    outcome = install_crd(kube, revisions)
    assert outcome.established, f"ControllerRevision CRD: {outcome.error or outcome.conditions}"
    served_kind(kube, revisions)
    (crd,) = documents(COMPOSITE_CONTROLLER_CRD)
    outcome = install_crd(kube, crd)
    assert outcome.established, f"CompositeController CRD: {outcome.error or outcome.conditions}"
    served_kind(kube, crd)
    return outcome


HOOK_TOKEN = "harness-token"
"""The token the endpoint-config Secret holds; the default hook server does not check it."""


@pytest.fixture(scope="session")
def endpoint_secrets(kube: Kube) -> dict[str, str]:
    """Create the Secrets that metacontroller/*.yaml's endpointConfigs name, since
    Metacontroller (and so the harness) starts no controller whose Secrets are missing.

    Returns the Authorization header they resolve to.
    """
    names = set()
    for path in composite_controller_files():
        for doc in documents(path):
            for config in (doc.get("spec") or {}).get("endpointConfigs") or []:
                for field in ("authorization", "basicAuth", "clientTLS", "caBundle"):
                    ref = (config.get(field) or {}).get("secretRef")
                    if ref:
                        names.add((ref["namespace"], ref["name"], ref.get("key") or ""))
    for namespace, name, key in sorted(names):
        kube.ensure_namespace(namespace)
        secrets = kube.resource("v1", kind="Secret")
        live = kube.get_or_none(secrets, namespace, name) or {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
        }
        value = HOOK_TOKEN if key == "token" else "-----BEGIN CERTIFICATE-----\n"
        data = dict(live.get("stringData") or {})
        data[key or "ca.crt"] = value
        if "resourceVersion" in live["metadata"]:
            live.setdefault("stringData", {}).update(data)
            kube.update(live)
        else:
            kube.create({**live, "stringData": data})
    return {"Authorization": f"Bearer {HOOK_TOKEN}"}


@pytest.fixture(scope="session")
def hook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run `python -m hooks serve` (gunicorn, real HTTP) on loopback; yield its base URL.

    Default settings: every controller enabled, plain HTTP, no credentials. Stopped by PID.
    """
    port = free_port()
    log = tmp_path_factory.mktemp("hook-server") / "server.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBEHOOKS_")}
    command = [sys.executable, "-m", "hooks", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    session = requests.Session()
    session.trust_env = False
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"the hook server exited with {process.returncode}:\n{log.read_text()}")
            try:
                if session.get(f"{url}/readyz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the hook server did not become ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        session.close()
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def harness_for(
    kube: Kube,
    hook_server: str,
    crds: dict[str, CrdInstall],
    composite_controller_crd: CrdInstall,
    endpoint_secrets: dict[str, str],
) -> Iterator[Any]:
    """Make the TEST HARNESS of a controller (by name) against the real hook server; each one
    made is closed at the end."""
    made: list[Metacontroller] = []

    def make(controller: str) -> Metacontroller:
        harness = Metacontroller(kube, composite_controller_for(kube, controller), hook_server)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
