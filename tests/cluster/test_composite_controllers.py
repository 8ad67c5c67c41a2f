"""The CompositeControllers in metacontroller/ against a real kube-apiserver that has
Metacontroller's CompositeController CRD (tests/cluster/fixtures/, written from its docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cluster.artefacts import (
    CRD_RESOURCE,
    CrdInstall,
    composite_controller_files,
    contains,
    documents,
)
from tests.cluster.kube import ApiError, Kube

pytestmark = pytest.mark.cluster


def _composite(path: Path) -> dict[str, Any]:
    (obj,) = [d for d in documents(path) if d.get("kind") == "CompositeController"]
    return obj


@pytest.mark.parametrize("path", composite_controller_files(), ids=lambda p: p.name)
def test_composite_controller_is_accepted(
    path: Path,
    kube: Kube,
    composite_controller_crd: CrdInstall,
    crds: dict[str, CrdInstall],
) -> None:
    obj = _composite(path)
    resource = kube.resource_of(obj)
    existing = kube.get_or_none(resource, None, obj["metadata"]["name"])
    if existing is not None:  # a harness test of this session installed it already
        kube.delete(resource, None, obj["metadata"]["name"])
    stored = kube.create(obj, strict=True)
    assert kube.last_warnings == []
    assert contains(stored["spec"], obj["spec"]), "the API server dropped or changed fields"


@pytest.mark.parametrize("path", composite_controller_files(), ids=lambda p: p.name)
def test_composite_controller_names_served_resources(
    path: Path, kube: Kube, crds: dict[str, CrdInstall]
) -> None:
    """What Metacontroller checks when it starts the controller, checked here up front.

    The parent must be a CRD (looked up as <resource>.<group>) with the status subresource on
    the version named, or the controller is ignored; every child type must be served.
    """
    spec = _composite(path)["spec"]
    parent = spec["parentResource"]
    group, _, version = parent["apiVersion"].rpartition("/")
    crd_resource = kube.resource(CRD_RESOURCE[0], kind=CRD_RESOURCE[1])
    try:
        crd = kube.get(crd_resource, None, f"{parent['resource']}.{group}")
    except ApiError as err:
        pytest.fail(f"parent {parent['resource']}.{group} has no CRD: {err}")
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert served["served"], f"{parent['apiVersion']} is not served"
    assert "status" in (served.get("subresources") or {}), "parent CRD needs subresources.status"
    for child in spec.get("childResources") or []:
        kube.resource(child["apiVersion"], plural=child["resource"])  # LookupError if unknown
    for name, hook in (spec.get("hooks") or {}).items():
        assert hook.get("version") == "v2", f"hooks.{name} should be v2"
