"""The REST facade and history routes over a fake cluster and a SQLite history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from hooks.api.aijob import AIJOB
from hooks.portal.app import build_portal, create_portal
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore
from hooks.portal.recorder import Recorder
from tests.portal.fakes import FakeCluster
from tests.portal.objects import aijob

ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}
ADMIN = {"Authorization": "Bearer admin-token"}
JOB = {"name": "train", "labels": {"team": "a"}, "spec": {"image": "trainer:1", "workers": 2}}


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


def settings(tmp_path: Path, **extra: Any) -> PortalSettings:
    tokens = tmp_path / "token.csv"
    tokens.write_text(
        'alice-token,alice,1001,"team-a-devs"\n'
        "bob-token,bob,1002\n"
        'admin-token,root,0,"admins,team-a-devs"\n'
    )
    return PortalSettings.model_validate(
        {
            "tokenFile": str(tokens),
            "tenancy": {
                "users": {"bob": ["team-b"]},
                "groups": {"team-a-devs": ["team-a"], "admins": ["*"]},
            },
            **extra,
        }
    )


def make_client(
    tmp_path: Path,
    cluster: FakeCluster,
    store: HistoryStore | None,
    *,
    dev: bool = False,
    **kw: Any,
) -> FlaskClient:
    portal = build_portal(settings(tmp_path, **kw), cluster, store, dev=dev)
    portal.clock = lambda: datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    return create_portal(portal).test_client()


@pytest.fixture
def client(tmp_path: Path, cluster: FakeCluster, store: HistoryStore) -> Iterator[FlaskClient]:
    yield make_client(tmp_path, cluster, store)


def test_no_credentials_is_401(client: FlaskClient) -> None:
    answer = client.get("/api/v1/namespaces/team-a/aijobs")
    assert answer.status_code == 401 and answer.json == {
        "error": "authentication required",
        "status": 401,
    }
    assert (
        client.get(
            "/api/v1/namespaces/team-a/aijobs", headers={"Authorization": "Bearer x"}
        ).status_code
        == 401
    )


def test_create_get_list_patch_delete_as_the_user(
    client: FlaskClient, cluster: FakeCluster
) -> None:
    created = client.post("/api/v1/namespaces/team-a/aijobs", json=JOB, headers=ALICE)
    assert created.status_code == 201, created.json
    assert created.json["name"] == "train" and created.json["spec"]["workers"] == 2
    got = client.get("/api/v1/namespaces/team-a/aijobs/train", headers=ALICE).json
    assert got["namespace"] == "team-a" and got["age"] == "1h" and got["labels"] == {"team": "a"}
    listed = client.get("/api/v1/namespaces/team-a/aijobs?labelSelector=team%3Da", headers=ALICE)
    assert [item["name"] for item in listed.json["items"]] == ["train"]
    patched = client.patch(
        "/api/v1/namespaces/team-a/aijobs/train", json={"spec": {"workers": 3}}, headers=ALICE
    )
    assert patched.status_code == 200 and patched.json["spec"]["workers"] == 3
    suspended = client.post("/api/v1/namespaces/team-a/aijobs/train/suspend", headers=ALICE)
    assert suspended.json["spec"]["suspend"] is True
    assert client.delete("/api/v1/namespaces/team-a/aijobs/train", headers=ALICE).status_code == 200
    assert client.get("/api/v1/namespaces/team-a/aijobs/train", headers=ALICE).status_code == 404
    assert {(op, who.user, who.groups) for op, _, who in cluster.writes} == {
        (op, "alice", ("team-a-devs",)) for op in ("create", "patch", "delete")
    }


def test_a_bad_spec_is_422_with_field_paths_and_never_reaches_the_cluster(
    client: FlaskClient, cluster: FakeCluster
) -> None:
    bad = {"name": "Bad_Name", "spec": {"image": "", "workers": 0, "gpusPerWorker": "many"}}
    answer = client.post("/api/v1/namespaces/team-a/aijobs", json=bad, headers=ALICE)
    assert answer.status_code == 422
    fields = {detail["field"] for detail in answer.json["details"]}
    assert fields == {"name", "spec.image", "spec.workers", "spec.gpusPerWorker"}
    client.post("/api/v1/namespaces/team-a/aijobs", json=JOB, headers=ALICE)
    patch = client.patch(
        "/api/v1/namespaces/team-a/aijobs/train", json={"spec": {"workers": -1}}, headers=ALICE
    )
    assert patch.status_code == 422 and patch.json["details"][0]["field"] == "spec.workers"
    assert [op for op, _, _ in cluster.writes] == ["create"]


def test_bad_bodies_and_queries_are_4xx_json(client: FlaskClient) -> None:
    url = "/api/v1/namespaces/team-a/aijobs"
    assert client.post(url, data="nope", headers=ALICE).status_code == 400
    assert client.get(f"{url}?limit=0", headers=ALICE).status_code == 400
    assert client.get("/api/v1/namespaces/team-a/widgets", headers=ALICE).status_code == 404
    assert client.post(f"{url}/train/explode", headers=ALICE).status_code == 404
    assert client.get("/api/v1/history/aijobs?since=yesterday", headers=ALICE).status_code == 400
    assert client.get("/api/v1/history/aijobs?continue=zzz", headers=ALICE).status_code == 400
    answer = client.put(url, headers=ALICE)
    assert answer.status_code == 405 and answer.json["status"] == 405


def test_a_cluster_conflict_passes_through(client: FlaskClient) -> None:
    client.post("/api/v1/namespaces/team-a/aijobs", json=JOB, headers=ALICE)
    again = client.post("/api/v1/namespaces/team-a/aijobs", json=JOB, headers=ALICE)
    assert again.status_code == 409


def test_lists_page_and_filter_by_phase(client: FlaskClient, cluster: FakeCluster) -> None:
    for index in range(5):
        cluster.put(AIJOB, aijob(f"job-{index}", phase="Running" if index % 2 else "Pending"))
    first = client.get("/api/v1/namespaces/team-a/aijobs?limit=2", headers=ALICE).json
    second = client.get(
        f"/api/v1/namespaces/team-a/aijobs?limit=2&continue={first['continue']}", headers=ALICE
    ).json
    assert [i["name"] for i in first["items"] + second["items"]] == [f"job-{i}" for i in range(4)]
    running = client.get("/api/v1/namespaces/team-a/aijobs?phase=Running", headers=ALICE).json
    assert [i["name"] for i in running["items"]] == ["job-1", "job-3"]


def _record_all(cluster: FakeCluster, store: HistoryStore) -> None:
    recorder = Recorder([AIJOB], cluster, store)
    for event in cluster.watch(AIJOB, "0", timeout_seconds=1):
        recorder.consume(AIJOB, event)
    recorder.flush()


def test_history_and_stats_routes(
    client: FlaskClient, cluster: FakeCluster, store: HistoryStore
) -> None:
    cluster.put(
        AIJOB,
        aijob(
            "a",
            uid="u-a",
            phase="Succeeded",
            ready="False",
            start="2026-01-01T00:00:00Z",
            completion="2026-01-01T00:30:00Z",
        ),
    )
    cluster.remove(AIJOB, "team-a", "a")
    _record_all(cluster, store)
    listed = client.get("/api/v1/history/aijobs", headers=ALICE).json
    assert [(i["name"], i["phase"], i["deleted"] is not None) for i in listed["items"]] == [
        ("a", "Succeeded", True)
    ]
    one = client.get("/api/v1/history/aijobs/u-a", headers=ALICE).json
    assert [entry["event"] for entry in one["timeline"]] == ["changed", "deleted"]
    stats = client.get("/api/v1/stats/aijobs", headers=ALICE).json
    assert stats["countsByPhase"] == {"Succeeded": 1}
    assert stats["gpuHoursByNamespace"] == {"team-a": 4.0}


ROUTES = [
    ("get", "/api/v1/namespaces/{ns}/aijobs"),
    ("post", "/api/v1/namespaces/{ns}/aijobs"),
    ("get", "/api/v1/namespaces/{ns}/aijobs/secret"),
    ("patch", "/api/v1/namespaces/{ns}/aijobs/secret"),
    ("delete", "/api/v1/namespaces/{ns}/aijobs/secret"),
    ("post", "/api/v1/namespaces/{ns}/aijobs/secret/suspend"),
    ("get", "/api/v1/history/aijobs?namespace={ns}"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_bob_never_reaches_team_a_through_any_route(
    client: FlaskClient, cluster: FakeCluster, method: str, route: str
) -> None:
    cluster.put(AIJOB, aijob("secret", uid="u-secret"))
    answer = getattr(client, method)(route.format(ns="team-a"), json=JOB, headers=BOB)
    assert answer.status_code == 404, answer.json
    assert cluster.writes == [] and "secret" not in answer.get_data(as_text=True)


def test_bob_sees_no_team_a_history_stats_or_timeline(
    client: FlaskClient, cluster: FakeCluster, store: HistoryStore
) -> None:
    cluster.put(AIJOB, aijob("secret", uid="u-secret", phase="Running", ready="True"))
    cluster.put(AIJOB, aijob("mine", uid="u-mine", namespace="team-b", phase="Running"))
    _record_all(cluster, store)
    listed = client.get("/api/v1/history/aijobs", headers=BOB).json
    assert [item["name"] for item in listed["items"]] == ["mine"]
    assert client.get("/api/v1/history/aijobs/u-secret", headers=BOB).status_code == 404
    assert client.get("/api/v1/stats/aijobs", headers=BOB).json["total"] == 1
    everything = client.get("/api/v1/history/aijobs", headers=ADMIN).json
    assert {item["name"] for item in everything["items"]} == {"secret", "mine"}


def test_debug_username_only_under_dev(
    tmp_path: Path, cluster: FakeCluster, store: HistoryStore
) -> None:
    header = {"X-Debug-Username": "bob"}
    plain = make_client(tmp_path, cluster, store)
    assert plain.get("/api/v1/namespaces/team-b/aijobs", headers=header).status_code == 401
    dev = make_client(tmp_path, cluster, store, dev=True)
    assert dev.get("/api/v1/namespaces/team-b/aijobs", headers=header).status_code == 200


def test_proxy_headers_only_from_a_trusted_address(
    tmp_path: Path, cluster: FakeCluster, store: HistoryStore
) -> None:
    header = {"X-Forwarded-User": "carol", "X-Forwarded-Groups": "team-a-devs"}
    untrusted = make_client(tmp_path, cluster, store, trustedProxies=["10.0.0.9"])
    assert untrusted.get("/api/v1/namespaces/team-a/aijobs", headers=header).status_code == 401
    trusted = make_client(tmp_path, cluster, store, trustedProxies=["127.0.0.1"])
    assert trusted.get("/api/v1/namespaces/team-a/aijobs", headers=header).status_code == 200


def test_database_down_history_503_facade_still_serves(
    tmp_path: Path, cluster: FakeCluster
) -> None:
    down = tmp_path / "not-a-dir"
    down.write_text("a file where the data directory should be")
    store = HistoryStore.lazy(f"sqlite:///{down / 'history.sqlite3'}")
    client = make_client(tmp_path, cluster, store)
    answer = client.get("/api/v1/history/aijobs", headers=ALICE)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert client.get("/api/v1/stats/aijobs", headers=ALICE).status_code == 503
    assert client.get("/api/v1/namespaces/team-a/aijobs", headers=ALICE).status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["history"] is False


def test_api_server_down_readyz_false_and_503(client: FlaskClient, cluster: FakeCluster) -> None:
    cluster.down = True
    assert client.get("/readyz").status_code == 503
    answer = client.get("/api/v1/namespaces/team-a/aijobs", headers=ALICE)
    assert answer.status_code == 503 and "Retry-After" in answer.headers


def test_openapi_31_names_every_served_kind(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    assert document["openapi"] == "3.1.0"
    for plural in ("aijobs", "redismigrations", "foos", "podclusters"):
        assert f"/api/v1/namespaces/{{namespace}}/{plural}" in document["paths"]
        assert f"/api/v1/history/{plural}" in document["paths"]
    assert "AIJobSpec" in document["components"]["schemas"]


def _migration(phase: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubehooks.dev/v1alpha1",
        "kind": "RedisMigration",
        "metadata": {"name": "move", "namespace": "team-a", "labels": {"app": "cache"}},
        "spec": {"source": "redis-a:6379", "dest": "redis-b:6379"},
        "status": {"phase": phase},
    }


def test_retry_reruns_a_failed_redis_migration_as_the_user(
    client: FlaskClient, cluster: FakeCluster
) -> None:
    from hooks.api.redismigration import REDISMIGRATION

    failed = cluster.put(REDISMIGRATION, _migration("Failed"))
    old_uid = failed["metadata"]["uid"]
    answer = client.post("/api/v1/namespaces/team-a/redismigrations/move/retry", headers=ALICE)
    assert answer.status_code == 200, answer.json
    assert answer.json["uid"] != old_uid and answer.json["phase"] is None
    assert answer.json["labels"] == {"app": "cache", "kubehooks.dev/retry-of": old_uid}
    assert answer.json["spec"] == {"source": "redis-a:6379", "dest": "redis-b:6379"}
    assert [(op, who.user) for op, _, who in cluster.writes] == [
        ("delete", "alice"),
        ("create", "alice"),
    ]


def test_retry_refuses_a_run_that_has_not_failed(client: FlaskClient, cluster: FakeCluster) -> None:
    from hooks.api.redismigration import REDISMIGRATION

    cluster.put(REDISMIGRATION, _migration("Run"))
    answer = client.post("/api/v1/namespaces/team-a/redismigrations/move/retry", headers=ALICE)
    assert answer.status_code == 409 and cluster.writes == []
    aijob_retry = client.post("/api/v1/namespaces/team-a/aijobs/move/retry", headers=ALICE)
    assert aijob_retry.status_code == 404


def test_only_the_configured_controllers_kinds_are_served(
    tmp_path: Path, cluster: FakeCluster, store: HistoryStore
) -> None:
    client = make_client(tmp_path, cluster, store, controllers=["aijob"])
    assert client.get("/api/v1/namespaces/team-a/aijobs", headers=ALICE).status_code == 200
    assert client.get("/api/v1/namespaces/team-a/foos", headers=ALICE).status_code == 404
    paths = client.get("/api/openapi.json").json["paths"]
    assert not any("/foos" in path for path in paths)
    with pytest.raises(ValueError, match="unknown"):
        make_client(tmp_path, cluster, store, controllers=["nope"])


def test_an_object_answers_its_own_children_with_readiness(
    client: FlaskClient, cluster: FakeCluster
) -> None:
    parent = cluster.put(AIJOB, aijob("train", uid="u-train"))
    owner = {"uid": "u-train", "controller": True, "kind": "AIJob", "name": "train"}
    labels = {"app.kubernetes.io/instance": "train"}

    def child(resource: str, kind: str, name: str, owners: list[Any], **rest: Any) -> None:
        meta = {"name": name, "namespace": "team-a", "labels": labels, "ownerReferences": owners}
        cluster.children[(resource, "team-a", name)] = {"kind": kind, "metadata": meta, **rest}

    child("jobs", "Job", "train-workers", [owner], status={"ready": 2})
    child("services", "Service", "train-workers", [owner])
    child("jobs", "Job", "train-impostor", [{**owner, "uid": "someone-else"}])
    answer = client.get("/api/v1/namespaces/team-a/aijobs/train", headers=ALICE).json
    assert parent["metadata"]["uid"] == "u-train"
    assert answer["children"] == [
        {"kind": "Job", "name": "train-workers", "ready": True},
        {"kind": "Service", "name": "train-workers", "ready": True},
    ]


def test_a_list_answers_each_objects_children_with_one_call_per_child_type(
    client: FlaskClient, cluster: FakeCluster
) -> None:
    from hooks.controllers.aijob import CONTROLLER

    for name in ("one", "two", "three"):
        cluster.put(AIJOB, aijob(name, uid=f"u-{name}"))
    for name in ("one", "two"):
        owner = {"uid": f"u-{name}", "controller": True, "kind": "AIJob", "name": name}
        meta = {
            "name": f"{name}-workers",
            "namespace": "team-a",
            "labels": {"app.kubernetes.io/instance": name},
            "ownerReferences": [owner],
        }
        cluster.children[("jobs", "team-a", f"{name}-workers")] = {
            "kind": "Job",
            "metadata": meta,
            "status": {"ready": 1},
        }
    listed = client.get("/api/v1/namespaces/team-a/aijobs", headers=ALICE).json["items"]
    children = {item["name"]: item["children"] for item in listed}
    assert children == {
        "one": [{"kind": "Job", "name": "one-workers", "ready": True}],
        "two": [{"kind": "Job", "name": "two-workers", "ready": True}],
        "three": [],
    }
    types = {child.resource for child in CONTROLLER.children}
    assert sorted(resource for resource, _, _ in cluster.children_lists) == sorted(types)
    assert {namespace for _, namespace, _ in cluster.children_lists} == {"team-a"}
