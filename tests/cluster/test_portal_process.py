"""`kubehooks portal --dev` as a process: kubeconfig, SQLite in its data dir, dev header, probes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.cluster.apiserver import LocalCluster
from tests.cluster.artefacts import ROOT, CrdInstall
from tests.cluster.kube import Kube
from tests.servers import free_port

pytestmark = pytest.mark.cluster

KILL_NAMESPACE = "portal-kill"
DEV = {"X-Debug-Username": "dev"}


def write_config(cluster: LocalCluster, tmp_path: Path) -> tuple[Path, Path, int]:
    port = free_port()
    config = tmp_path / "portal.yaml"
    data = tmp_path / "data"
    config.write_text(
        yaml.safe_dump(
            {
                "port": port,
                "dataDir": str(data),
                "kubeconfig": cluster.kubeconfig,
                "tenancy": {"users": {"dev": ["default", KILL_NAMESPACE]}},
            }
        )
    )
    return config, data, port


def start_portal(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start `kubehooks portal --dev` and wait for /readyz."""
    command = [sys.executable, "-m", "hooks", "portal", "--config", str(config), "--dev"]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"the portal exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                return process
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            stop(process, signal.SIGKILL)
            pytest.fail(f"the portal did not become ready:\n{log.read_text()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM) -> None:
    """SIGTERM the portal (gunicorn's arbiter stops its worker), or SIGKILL all its processes
    at once as a container's kill does (its own session: the worker too, no clean exit)."""
    if process.poll() is None:
        if how == signal.SIGKILL:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, how)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def portal_process(
    cluster: LocalCluster, crds: dict[str, CrdInstall], tmp_path: Path
) -> Iterator[tuple[str, Path, Path]]:
    config, data, port = write_config(cluster, tmp_path)
    log = tmp_path / "portal.log"
    process = start_portal(config, port, log)
    try:
        yield f"http://127.0.0.1:{port}", data, log
    finally:
        stop(process)


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


def new_aijob(namespace: str, name: str) -> dict[str, Any]:
    """Return a small AIJob to create."""
    return {
        "apiVersion": "kubehooks.dev/v1alpha1",
        "kind": "AIJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": "trainer:1", "workers": 1},
    }


def _aijob(name: str) -> dict[str, Any]:
    return new_aijob(KILL_NAMESPACE, name)


def _phase(kube: Kube, name: str, phase: str, seconds_ago: int) -> None:
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    obj = kube.get(aijobs, KILL_NAMESPACE, name)
    when = (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj["status"] = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": phase, "lastTransitionTime": when}
        ],
    }
    kube.update(obj, sub="status")


def _records(url: str) -> dict[str, tuple[list[tuple[str, str | None]], bool]]:
    """Return name -> (timeline, deleted) of every recorded AIJob of the namespace."""
    items = requests.get(
        f"{url}/api/v1/history/aijobs?namespace={KILL_NAMESPACE}&limit=500", headers=DEV, timeout=5
    ).json()["items"]
    out = {}
    for item in items:
        one = requests.get(f"{url}/api/v1/history/aijobs/{item['uid']}", headers=DEV, timeout=5)
        timeline = [(entry["event"], entry["phase"]) for entry in one.json()["timeline"]]
        out[item["name"]] = (timeline, item["deleted"] is not None)
    return out


def _wait(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_killed_mid_watch_nothing_duplicated_or_missing_after_restart(
    cluster: LocalCluster, crds: dict[str, CrdInstall], kube: Kube, tmp_path: Path
) -> None:
    kube.ensure_namespace(KILL_NAMESPACE)
    config, _, port = write_config(cluster, tmp_path)
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "portal.log"
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    process = start_portal(config, port, log)
    try:
        for index in range(6):
            kube.create(_aijob(f"job-{index}"))
        for index in range(6):
            _phase(kube, f"job-{index}", "Running", 300)
        _wait(lambda: len(_records(url)) == 6, "six records")
        stop(process, signal.SIGKILL)  # killed mid-watch, no clean shutdown

        for index in range(3):
            _phase(kube, f"job-{index}", "Succeeded", 100)
        kube.delete(aijobs, KILL_NAMESPACE, "job-4")
        kube.create(_aijob("job-new"))

        process = start_portal(config, port, log)
        expected_names = {f"job-{i}" for i in range(6)} | {"job-new"}

        def converged() -> bool:
            found = _records(url)
            return (
                set(found) == expected_names
                and found["job-4"][1]
                and all(("changed", "Succeeded") in found[f"job-{i}"][0] for i in range(3))
            )

        _wait(converged, "the changes made while the portal was down")
        found = _records(url)
        for name, (timeline, _) in found.items():
            assert len(timeline) == len(set(timeline)), f"{name}: duplicated {timeline}"
        assert found["job-0"][0] == [
            ("created", None),
            ("changed", "Running"),
            ("changed", "Succeeded"),
        ]
        assert found["job-4"][0][-1][0] == "deleted"
        assert found["job-5"] == ([("created", None), ("changed", "Running")], False)
    finally:
        stop(process)
        for obj in kube.list(aijobs, KILL_NAMESPACE):
            kube.delete(aijobs, KILL_NAMESPACE, obj["metadata"]["name"])


def test_sigterm_flushes_what_the_recorder_holds(
    cluster: LocalCluster, crds: dict[str, CrdInstall], kube: Kube, tmp_path: Path
) -> None:
    """The history is write-locked while events arrive, so the recorder holds them; SIGTERM
    comes, the lock goes, and the worker writes them all on its way out."""
    import sqlite3

    from hooks.portal.history.store import HistoryStore

    kube.ensure_namespace(KILL_NAMESPACE)
    config, data, port = write_config(cluster, tmp_path)
    url = f"http://127.0.0.1:{port}"
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    process = start_portal(config, port, tmp_path / "portal.log")
    try:
        kube.create(_aijob("held-0"))
        _wait(lambda: "held-0" in _records(url), "the first record")
        lock = sqlite3.connect(data / "history.sqlite3", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # the writer now waits on its 30 s busy timeout
        for index in range(1, 6):
            kube.create(_aijob(f"held-{index}"))
            _phase(kube, f"held-{index}", "Running", 60)
        time.sleep(1.5)  # the watch delivers them into the recorder's buffer
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        lock.execute("ROLLBACK")
        lock.close()
        assert process.wait(timeout=30) == 0
        log = (tmp_path / "portal.log").read_text()
        assert "everything it held is written" in log, log
        store = HistoryStore.open(f"sqlite:///{data / 'history.sqlite3'}")
        try:
            rows = {row.name: row for row in store.live_rows("aijobs")}
        finally:
            store.engine.dispose()
        assert {f"held-{index}" for index in range(6)} <= set(rows)
        assert all(rows[f"held-{index}"].phase == "Running" for index in range(1, 6))
    finally:
        stop(process)
        for obj in kube.list(aijobs, KILL_NAMESPACE):
            kube.delete(aijobs, KILL_NAMESPACE, obj["metadata"]["name"])
