"""The portal's faults against real servers: PostgreSQL stopped mid-stream, kube-apiserver
killed mid-watch.

- The database goes down (pg_ctl's immediate stop): the facade still lists from the cluster,
  the history answers 503 with Retry-After, the recorder holds what happens in its (small,
  bounded) buffer, its watch pausing when the buffer is full; the server comes back on the
  same data directory and port, and every transition is recorded exactly once.
- The API server goes down (SIGKILL; a private etcd + kube-apiserver, so the session's shared
  one is left alone): /readyz says false, the watch retries with doubling waits; kube-apiserver
  restarts on the same etcd and port, the recorder resumes from where it was and records what
  follows, nothing duplicated.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from hooks.api.aijob import AIJOB
from hooks.portal.app import build_portal, create_portal
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore
from hooks.portal.recorder import Recorder
from tests.cluster.apiserver import LocalCluster
from tests.cluster.artefacts import CRDS, CrdInstall, documents, install_crd, served_kind
from tests.cluster.kube import Kube
from tests.cluster.test_portal import real_cluster, wait_for
from tests.cluster.test_portal_process import new_aijob
from tests.portal.postgres import PostgresServer, start_postgres

pytestmark = pytest.mark.cluster

FAULTS = "portal-faults"
ALICE = {"Authorization": "Bearer alice-token"}


def portal_settings(tmp_path: Path) -> PortalSettings:
    tokens = tmp_path / "token.csv"
    tokens.write_text('alice-token,alice,1001,"team"\n')
    return PortalSettings.model_validate(
        {"tokenFile": str(tokens), "tenancy": {"users": {"alice": [FAULTS]}}}
    )


def start(
    cluster: LocalCluster, store: HistoryStore, tmp_path: Path, *, buffer_size: int = 10_000
) -> tuple[FlaskClient, Recorder]:
    real = real_cluster(cluster)
    portal = build_portal(portal_settings(tmp_path), real, store, dev=False)
    recorder = Recorder([AIJOB], real, store, buffer_size=buffer_size)
    recorder.run()
    return create_portal(portal).test_client(), recorder


def set_phase(kube: Kube, name: str, phase: str) -> None:
    obj = kube.get(kube.resource("kubehooks.dev/v1alpha1", kind="AIJob"), FAULTS, name)
    obj["status"] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "reason": phase}],
    }
    kube.update(obj, sub="status")


def timelines(client: FlaskClient) -> dict[str, list[tuple[str, str | None]]]:
    """Return name -> [(event, phase), ...] of every recorded AIJob of the namespace."""
    answer = client.get(f"/api/v1/history/aijobs?namespace={FAULTS}&limit=500", headers=ALICE)
    assert answer.status_code == 200, answer.json
    out = {}
    for item in answer.json["items"]:
        found = client.get(f"/api/v1/history/aijobs/{item['uid']}", headers=ALICE).json
        out[item["name"]] = [(entry["event"], entry["phase"]) for entry in found["timeline"]]
    return out


def clean(kube: Kube) -> None:
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    for obj in kube.list(aijobs, FAULTS):
        kube.delete(aijobs, FAULTS, obj["metadata"]["name"])


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: stopping it mid-stream disturbs no other test."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.postgres
def test_postgres_down_facade_serves_history_503_recording_catches_up(
    cluster: LocalCluster,
    crds: dict[str, CrdInstall],
    kube: Kube,
    private_postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    assert crds["aijob.yaml"].established
    kube.ensure_namespace(FAULTS)
    store = HistoryStore.open(private_postgres.create_database("faults"))
    client, recorder = start(cluster, store, tmp_path, buffer_size=4)
    try:
        for name in ("a", "b", "c"):
            kube.create(new_aijob(FAULTS, name))
        wait_for(lambda: set(timelines(client)) == {"a", "b", "c"}, "three records")

        private_postgres.halt()
        history = client.get("/api/v1/history/aijobs", headers=ALICE)
        assert history.status_code == 503 and history.headers["Retry-After"]
        listed = client.get(f"/api/v1/namespaces/{FAULTS}/aijobs", headers=ALICE)
        assert listed.status_code == 200
        assert sorted(item["name"] for item in listed.json["items"]) == ["a", "b", "c"]
        ready = client.get("/readyz").json
        assert ready["ready"] and not ready["history"]

        for name in ("a", "b", "c"):  # 8 events while down, twice what the buffer holds
            set_phase(kube, name, "Running")
        set_phase(kube, "a", "Succeeded")
        kube.create(new_aijob(FAULTS, "d"))
        set_phase(kube, "d", "Running")
        kube.delete(kube.resource("kubehooks.dev/v1alpha1", kind="AIJob"), FAULTS, "b")
        wait_for(lambda: len(recorder.buffer) == 4, "a full buffer (the watch pauses)")
        assert not recorder.history_ok
        time.sleep(1)
        assert len(recorder.buffer) == 4, "bounded: the watch waits, nothing is dropped"

        private_postgres.resume()
        expected = {
            "a": [("created", None), ("changed", "Running"), ("changed", "Succeeded")],
            "b": [("created", None), ("changed", "Running"), ("deleted", "Running")],
            "c": [("created", None), ("changed", "Running")],
            "d": [("created", None), ("changed", "Running")],
        }
        wait_for(lambda: timelines(client) == expected, "every transition, once", timeout=60)
        assert client.get("/readyz").json["history"]
    finally:
        recorder.stop()
        store.engine.dispose()
        clean(kube)


@pytest.fixture
def private_cluster(binaries: Path) -> Iterator[tuple[LocalCluster, Kube]]:
    """etcd and kube-apiserver of this test's own, with the AIJob CRD: killing its API server
    disturbs no other test."""
    local = LocalCluster(binaries).start()
    kube = Kube(local.url, local.token, local.ca_file)
    try:
        (crd,) = [d for d in documents(CRDS / "aijob.yaml") if d["kind"].endswith("Definition")]
        assert install_crd(kube, crd).established
        served_kind(kube, crd)
        kube.ensure_namespace(FAULTS)
        yield local, kube
    finally:
        kube.close()
        local.stop_apiserver()  # SIGKILL: a SIGTERM'd kube-apiserver drains for 10 s
        local.stop()


def test_api_server_down_readyz_false_backoff_then_resumes(
    private_cluster: tuple[LocalCluster, Kube],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    local, kube = private_cluster
    store = HistoryStore.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    client, recorder = start(local, store, tmp_path)
    try:
        kube.create(new_aijob(FAULTS, "before"))
        set_phase(kube, "before", "Running")
        wait_for(
            lambda: timelines(client).get("before") == [("created", None), ("changed", "Running")],
            "the record made before the outage",
        )
        assert client.get("/readyz").status_code == 200

        caplog.set_level(logging.WARNING, logger="kubehooks.portal.recorder")
        local.stop_apiserver()
        down = client.get("/readyz")
        assert down.status_code == 503 and down.json["cluster"] is False
        listed = client.get(f"/api/v1/namespaces/{FAULTS}/aijobs", headers=ALICE)
        assert listed.status_code == 503 and listed.headers["Retry-After"]
        assert timelines(client)["before"], "the history still answers"

        def waits() -> list[float]:
            found = (re.search(r"retrying in ([\d.]+)s", r.getMessage()) for r in caplog.records)
            return [float(match.group(1)) for match in found if match]

        wait_for(lambda: len(waits()) >= 3, "three retries", timeout=15)
        assert waits()[:3] == [0.5, 1.0, 2.0], "the watch backs off, doubling"
        assert not recorder.cluster_ok

        local.restart_apiserver()
        wait_for(lambda: client.get("/readyz").status_code == 200, "readyz true again")
        set_phase(kube, "before", "Succeeded")
        kube.create(new_aijob(FAULTS, "after"))
        wait_for(lambda: recorder.cluster_ok, "the watch back")
        expected = {
            "before": [("created", None), ("changed", "Running"), ("changed", "Succeeded")],
            "after": [("created", None)],
        }
        wait_for(lambda: timelines(client) == expected, "the changes after the outage, once")
    finally:
        recorder.stop()
        store.engine.dispose()
