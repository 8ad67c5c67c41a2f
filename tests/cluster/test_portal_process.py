"""`kubehooks portal --dev` as a process: kubeconfig, SQLite in its data dir, dev header, probes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.cluster.apiserver import LocalCluster
from tests.cluster.artefacts import ROOT, CrdInstall
from tests.servers import free_port

pytestmark = pytest.mark.cluster


@pytest.fixture
def portal_process(
    cluster: LocalCluster, crds: dict[str, CrdInstall], tmp_path: Path
) -> Iterator[tuple[str, Path, Path]]:
    port = free_port()
    config = tmp_path / "portal.yaml"
    data = tmp_path / "data"
    config.write_text(
        yaml.safe_dump(
            {
                "port": port,
                "dataDir": str(data),
                "kubeconfig": cluster.kubeconfig,
                "tenancy": {"users": {"dev": ["default"]}},
            }
        )
    )
    log = tmp_path / "portal.log"
    command = [sys.executable, "-m", "hooks", "portal", "--config", str(config), "--dev"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"the portal exited with {process.returncode}:\n{log.read_text()}")
            try:
                if requests.get(f"{url}/readyz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the portal did not become ready:\n{log.read_text()}")
            time.sleep(0.2)
        yield url, data, log
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_the_portal_process_serves_with_no_database_set_up(
    portal_process: tuple[str, Path, Path],
) -> None:
    url, data, log = portal_process
    assert (data / "history.sqlite3").exists()
    assert "X-Debug-Username" in log.read_text()
    headers = {"X-Debug-Username": "dev"}
    listed = requests.get(f"{url}/api/v1/namespaces/default/aijobs", headers=headers, timeout=5)
    assert listed.status_code == 200 and listed.json() == {"items": [], "continue": None}
    history = requests.get(f"{url}/api/v1/history/aijobs", headers=headers, timeout=5)
    assert history.status_code == 200
    assert requests.get(f"{url}/api/v1/history/aijobs", timeout=5).status_code == 401
    assert requests.get(f"{url}/api/openapi.json", timeout=5).json()["openapi"] == "3.1.0"
