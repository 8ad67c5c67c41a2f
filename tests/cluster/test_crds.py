"""The CRDs in crds/ against a real kube-apiserver: they install and become Established with
their structural schemas intact; every example is accepted; every invalid resource in
tests/invalid/ is rejected naming the field its first line expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cluster.artefacts import (
    GOLDEN_NAMESPACE,
    ROOT,
    CrdInstall,
    api_field,
    contains,
    crd_files,
    documents,
    example_files,
    expected_field,
    invalid_files,
)
from tests.cluster.kube import ApiError, Kube

pytestmark = pytest.mark.cluster


def _schemas(crd: dict[str, Any]) -> dict[str, Any]:
    return {v["name"]: v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]}


@pytest.mark.parametrize("path", crd_files(), ids=lambda p: p.name)
def test_crd_installs_and_becomes_established(path: Path, crds: dict[str, CrdInstall]) -> None:
    outcome = crds[path.name]
    assert outcome.error is None, f"the API server refused {path.name}: {outcome.error}"
    conditions = {t: c.get("status") for t, c in outcome.conditions.items()}
    assert conditions.get("NamesAccepted") == "True", outcome.conditions
    assert conditions.get("Established") == "True", outcome.conditions
    # A non-structural schema is refused outright in apiextensions.k8s.io/v1, and would
    # otherwise show up as this condition.
    assert "NonStructuralSchema" not in conditions, outcome.conditions
    (crd,) = [d for d in documents(path) if d.get("kind") == "CustomResourceDefinition"]
    assert outcome.stored is not None
    assert _schemas(outcome.stored) == _schemas(crd), "the API server changed the schema"


def _example_params() -> list[Any]:
    return [
        pytest.param(path, index, id=f"{path.name}#{index}")
        for path in example_files()
        for index, _ in enumerate(documents(path))
    ]


@pytest.mark.parametrize("path,index", _example_params())
def test_example_is_accepted(path: Path, index: int, kube: Kube, crds: dict[str, Any]) -> None:
    obj = documents(path)[index]
    obj.setdefault("metadata", {}).setdefault("namespace", GOLDEN_NAMESPACE)
    # Strict field validation: an unknown field is an error here, not silently pruned.
    stored = kube.create(obj, dry_run=True, strict=True)
    assert kube.last_warnings == []
    assert stored["metadata"]["name"] == obj["metadata"]["name"]
    # Defaults may add fields; nothing sent may be pruned or changed.
    assert contains(stored.get("spec"), obj.get("spec")), "the API server changed the spec"


@pytest.mark.parametrize("path", invalid_files(), ids=lambda p: p.name)
def test_invalid_resource_is_rejected_naming_the_field(
    path: Path, kube: Kube, crds: dict[str, Any]
) -> None:
    expected = api_field(expected_field(path))
    (obj,) = documents(path)
    obj.setdefault("metadata", {}).setdefault("namespace", GOLDEN_NAMESPACE)
    with pytest.raises(ApiError) as caught:
        kube.create(obj, dry_run=True, strict=True)
    err = caught.value
    assert err.status == 422, err
    assert rejects(err.causes, expected), (
        f"{path.name}: expected the API server to name {expected}; it said {err.causes}"
    )


def rejects(causes: list[dict[str, Any]], expected: str) -> bool:
    """Say whether a 422's causes name the expected field.

    JSON Schema reports a missing required property at the object lacking it (`spec`), the
    API server at the property itself (`spec.image`, reason FieldValueRequired): both count.
    """
    for cause in causes:
        got = str(cause.get("field", "")).lstrip(".")
        if got == expected:
            return True
        parent, _, _ = got.rpartition(".")
        if cause.get("reason") == "FieldValueRequired" and parent == expected:
            return True
    return False


CEL_INVALID = sorted((ROOT / "tests" / "invalid" / "cel").glob("*.yaml"))


@pytest.mark.parametrize("path", CEL_INVALID, ids=lambda p: p.name)
def test_a_rule_only_cel_can_state_is_enforced_at_admission(
    path: Path, kube: Kube, crds: dict[str, Any]
) -> None:
    """Unique port and env names, a named targetPort naming one container port, map keys
    (resource names, annotation keys): the CRDs' x-kubernetes-validations refuse them, naming
    the field, as the spec models do (tests/test_schemas.py)."""
    expected = api_field(expected_field(path))
    (obj,) = documents(path)
    obj.setdefault("metadata", {}).setdefault("namespace", GOLDEN_NAMESPACE)
    with pytest.raises(ApiError) as caught:
        kube.create(obj, dry_run=True, strict=True)
    err = caught.value
    assert err.status == 422, err
    assert rejects(err.causes, expected), (
        f"{path.name}: expected the API server to name {expected}; it said {err.causes}"
    )


PODCLUSTER = {
    "apiVersion": "kubehooks.dev/v1alpha1",
    "kind": "PodCluster",
    "metadata": {"name": "conditions-by-others", "namespace": GOLDEN_NAMESPACE},
    "spec": {"podReplicas": 1},
}


def test_a_status_with_a_condition_written_by_metacontroller_is_accepted(
    kube: Kube, crds: dict[str, Any]
) -> None:
    """Metacontroller's rolling strategies add `Updated` with type, status, reason and message
    only; the API server refused every such status write while the CRD required
    lastTransitionTime (issue 14, item 1)."""
    created = kube.create(PODCLUSTER)
    try:
        status = {
            "replicas": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "AllPodsReady",
                    "message": "1/1 Pods ready, 1 exist",
                    "lastTransitionTime": "2026-01-15T10:00:00Z",
                    "observedGeneration": 1,
                },
                {
                    "type": "Updated",
                    "status": "False",
                    "reason": "RolloutWaiting",
                    "message": "missing child Pod conditions-by-others-0",
                },
            ],
        }
        stored = kube.update({**created, "status": status}, sub="status")
        assert stored["status"]["conditions"] == status["conditions"]
    finally:
        resource = kube.resource_of(PODCLUSTER)
        kube.delete(resource, GOLDEN_NAMESPACE, PODCLUSTER["metadata"]["name"])


@pytest.mark.parametrize("value", [2.0, 2.5, "2", False], ids=repr)
def test_the_api_server_refuses_anything_but_an_integer_for_an_integer_field(
    value: Any, kube: Kube, crds: dict[str, Any]
) -> None:
    """What the strict spec models copy (issue 13, item 5): even a whole JSON number is refused
    ("2 is of the type float64, expected int64")."""
    with pytest.raises(ApiError) as caught:
        kube.create({**PODCLUSTER, "spec": {"podReplicas": value}}, dry_run=True, strict=True)
    assert caught.value.status == 422
    assert rejects(caught.value.causes, "spec.podReplicas"), caught.value.causes
