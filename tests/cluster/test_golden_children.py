"""Every child of every golden response, created server-side in dry-run mode.

A dry-run create goes through the API server's real decoding, defaulting, admission and
validation (not only the OpenAPI schema that tests/test_schemas.py checks offline), and with
`fieldValidation=Strict` an unknown or duplicated field is an error instead of being dropped.
Children that name objects which do not exist (a Secret, an HPA's target) must pass too: the
API server does not resolve references at create time.
"""

from __future__ import annotations

import pytest

from tests.cluster.artefacts import GOLDEN_NAMESPACE, GoldenChild, golden_children
from tests.cluster.kube import Kube

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("child", golden_children(), ids=lambda c: c.id)
def test_golden_child_is_accepted_by_a_dry_run_create(child: GoldenChild, kube: Kube) -> None:
    obj = child.obj
    resource = kube.resource_of(obj)
    namespace = (obj.get("metadata") or {}).get("namespace")
    if resource.namespaced:
        if not namespace:
            obj = {**obj, "metadata": {**obj["metadata"], "namespace": GOLDEN_NAMESPACE}}
        kube.ensure_namespace(namespace or GOLDEN_NAMESPACE)
    else:
        assert not namespace, f"{resource.kind} is cluster-scoped but the child names a namespace"
    stored = kube.create(obj, dry_run=True, strict=True)
    assert kube.last_warnings == [], f"the API server warned: {kube.last_warnings}"
    assert stored["metadata"]["name"] == obj["metadata"]["name"]
    assert stored["metadata"].get("labels") == obj["metadata"].get("labels")
