"""The portal against the real kube-apiserver: create through the facade, watch the history
grow, delete and find the record, restart the recorder mid-stream and compare the records.

Writes go through impersonation, so RBAC in the real API server is the final word. History on
SQLite here; `test_portal_postgres.py` runs the same story on a real PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from hooks.api.aijob import AIJOB
from hooks.portal.app import build_portal, create_portal
from hooks.portal.cluster import KubernetesCluster
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore
from hooks.portal.recorder import Recorder
from tests.cluster.apiserver import LocalCluster
from tests.cluster.artefacts import CrdInstall
from tests.cluster.kube import Kube
from tests.portal.postgres import PostgresServer, start_postgres

pytestmark = pytest.mark.cluster

TEAM = "portal-team-a"
OTHER = "portal-team-b"
ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}


def real_cluster(cluster: LocalCluster) -> KubernetesCluster:
    """The portal's client, configured as a kubeconfig for this cluster would."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = cluster.url
    configuration.api_key = {"authorization": cluster.token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.ssl_ca_cert = cluster.ca_file
    return KubernetesCluster(configuration)


def grant(kube: Kube, namespace: str, group: str) -> None:
    """Let a group edit AIJobs in one namespace (what a cluster admin would do)."""
    rbac = "rbac.authorization.k8s.io/v1"
    role = {
        "apiVersion": rbac,
        "kind": "Role",
        "metadata": {"name": "aijob-editor", "namespace": namespace},
        "rules": [
            {
                "apiGroups": ["kubehooks.dev"],
                "resources": ["aijobs"],
                "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
            }
        ],
    }
    binding = {
        "apiVersion": rbac,
        "kind": "RoleBinding",
        "metadata": {"name": "aijob-editors", "namespace": namespace},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "aijob-editor",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
    }
    for obj in (role, binding):
        kube.apply(obj, field_manager="portal-tests")


def settings(tmp_path: Path) -> PortalSettings:
    tokens = tmp_path / "token.csv"
    tokens.write_text('alice-token,alice,1001,"team-a-devs"\nbob-token,bob,1002,"outsiders"\n')
    return PortalSettings.model_validate(
        {
            "tokenFile": str(tokens),
            "tenancy": {
                "groups": {"team-a-devs": [TEAM], "outsiders": [TEAM, OTHER]},
            },
        }
    )


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def at(seconds: int) -> str:
    """Return a time `seconds` after a moment two hours ago, as the API server writes it."""
    return (BASE + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def set_status(kube: Kube, name: str, phase: str, ready: str, when: str) -> None:
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    obj = kube.get(aijobs, TEAM, name)
    obj["status"] = {
        "phase": phase,
        "conditions": [
            {
                "type": "Ready",
                "status": ready,
                "reason": phase,
                "message": f"{phase} now",
                "lastTransitionTime": when,
            }
        ],
        **({"startTime": at(60)} if phase != "Pending" else {}),
        **({"completionTime": at(3660)} if phase == "Succeeded" else {}),
    }
    kube.update(obj, sub="status")


def history(client: FlaskClient) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/history/aijobs?namespace={TEAM}&limit=500", headers=ALICE)
    assert answer.status_code == 200, answer.json
    items: list[dict[str, Any]] = answer.json["items"]
    return items


def timeline(client: FlaskClient, uid: str) -> list[tuple[str, str | None]]:
    found = client.get(f"/api/v1/history/aijobs/{uid}", headers=ALICE).json
    # 404 (no timeline) until the recorder has written the object's first batch
    return [(entry["event"], entry["phase"]) for entry in found.get("timeline", [])]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    """The history on SQLite, and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'history.sqlite3'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database("portal_story")
    store = HistoryStore.open(url)
    try:
        yield store
    finally:
        store.engine.dispose()


@pytest.fixture
def portal_parts(
    cluster: LocalCluster,
    kube: Kube,
    crds: dict[str, CrdInstall],
    tmp_path: Path,
    history_store: HistoryStore,
) -> Iterator[tuple[KubernetesCluster, HistoryStore, PortalSettings]]:
    assert crds["aijob.yaml"].established
    for namespace in (TEAM, OTHER):
        kube.ensure_namespace(namespace)
    grant(kube, TEAM, "team-a-devs")
    yield real_cluster(cluster), history_store, settings(tmp_path)


def start(
    parts: tuple[KubernetesCluster, HistoryStore, PortalSettings],
) -> tuple[FlaskClient, Recorder]:
    real, store, config = parts
    portal = build_portal(config, real, store, dev=False)
    recorder = Recorder(portal.kinds.values(), real, store)
    recorder.kinds = [AIJOB]
    recorder.run()
    return create_portal(portal).test_client(), recorder


def test_portal_story_on_a_real_cluster(
    portal_parts: tuple[KubernetesCluster, HistoryStore, PortalSettings], kube: Kube
) -> None:
    client, recorder = start(portal_parts)
    try:
        spec = {"image": "trainer:1", "workers": 2, "gpusPerWorker": 1}
        created = client.post(
            f"/api/v1/namespaces/{TEAM}/aijobs", json={"name": "story", "spec": spec}, headers=ALICE
        )
        assert created.status_code == 201, created.json
        uid = created.json["uid"]
        refused = client.post(
            f"/api/v1/namespaces/{TEAM}/aijobs", json={"name": "x", "spec": spec}, headers=BOB
        )
        assert refused.status_code == 403, "RBAC, through impersonation, refuses bob"
        bad = client.post(
            f"/api/v1/namespaces/{TEAM}/aijobs",
            json={"name": "bad", "spec": {"image": "t", "workers": 0}},
            headers=ALICE,
        )
        assert bad.status_code == 422 and bad.json["details"][0]["field"] == "spec.workers"

        set_status(kube, "story", "Pending", "False", at(30))
        set_status(kube, "story", "Running", "True", at(60))
        wait_for(lambda: len(timeline(client, uid)) >= 3, "Pending and Running in history")
        listed = client.get(f"/api/v1/namespaces/{TEAM}/aijobs?phase=Running", headers=ALICE)
        assert [item["name"] for item in listed.json["items"]] == ["story"]

        recorder.stop()  # the portal goes away mid-stream...
        set_status(kube, "story", "Succeeded", "False", at(3660))
        kube.create(
            {
                "apiVersion": "kubehooks.dev/v1alpha1",
                "kind": "AIJob",
                "metadata": {"name": "while-away", "namespace": TEAM},
                "spec": spec,
            }
        )
        client, recorder = start(portal_parts)  # ...and comes back on the same history
        wait_for(
            lambda: {i["name"] for i in history(client)} == {"story", "while-away"},
            "the object created while away",
        )
        wait_for(lambda: ("changed", "Succeeded") in timeline(client, uid), "Succeeded")
        gone = client.delete(f"/api/v1/namespaces/{TEAM}/aijobs/story", headers=ALICE)
        assert gone.status_code == 200
        wait_for(lambda: timeline(client, uid)[-1][0] == "deleted", "the deletion")
        assert timeline(client, uid) == [
            ("created", None),
            ("changed", "Pending"),
            ("changed", "Running"),
            ("changed", "Succeeded"),
            ("deleted", "Succeeded"),
        ]
        record = client.get(f"/api/v1/history/aijobs/{uid}", headers=ALICE).json
        assert record["gpuHours"] == 2.0 and record["durationSeconds"] == 3600
        stats = client.get("/api/v1/stats/aijobs", headers=ALICE).json
        assert stats["countsByPhase"]["Succeeded"] == 1
    finally:
        recorder.stop()
        kube.delete(kube.resource("kubehooks.dev/v1alpha1", kind="AIJob"), TEAM, "while-away")
