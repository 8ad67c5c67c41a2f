"""Every object the Helm chart renders, for every values file, accepted by a real API server.

A server-side apply in dry-run mode with `fieldValidation=Strict` goes through the API server's
decoding, defaulting, admission and validation (and, for the CompositeControllers, the
structural schema of Metacontroller's CRD), so an unknown or misplaced field is an error. Apply
rather than create: it passes whether or not another test made an object of the same name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks.manifests import NAMESPACE
from tests.cluster.artefacts import CrdInstall
from tests.cluster.kube import Kube
from tests.helm.chart import template, values_files

pytestmark = [pytest.mark.cluster, pytest.mark.helm]

CASES = [None, *values_files()]
CASE_IDS = ["defaults", *(path.stem for path in values_files())]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_chart_object_is_accepted_by_a_server_side_dry_run(
    case: Path | None,
    kube: Kube,
    crds: dict[str, CrdInstall],
    composite_controller_crd: CrdInstall,
) -> None:
    objects = template(*(() if case is None else (case,)), crds=True)
    kube.ensure_namespace(NAMESPACE)
    assert {obj["kind"] for obj in objects} >= {"Deployment", "CompositeController"}
    for obj in objects:
        stored = kube.apply(obj, field_manager="kubehooks-helm-test", dry_run=True)
        assert kube.last_warnings == [], f"{obj['kind']} {obj['metadata']['name']}: warned"
        assert stored["metadata"]["name"] == obj["metadata"]["name"]
        assert stored["metadata"].get("labels") == obj["metadata"].get("labels")
