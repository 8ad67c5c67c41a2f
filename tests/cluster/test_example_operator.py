"""The worked example plugin (examples/staticsite) against a real API server.

Its CRD, generated from its models, is established; its example parent is stored as written
(strict field validation); and every child it answers is accepted by a server-side dry run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import testing
from hooks.crd import crd
from hooks.sdk import Controller
from tests.cluster.artefacts import install_crd, served_kind
from tests.cluster.kube import Kube

pytestmark = pytest.mark.cluster

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "staticsite"


@pytest.fixture(scope="module")
def staticsite() -> Iterator[Controller]:
    """The example's controller, importable whether or not the example is pip-installed."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from staticsite.controller import CONTROLLER

        yield CONTROLLER
    finally:
        sys.path.remove(str(EXAMPLE))


def _example() -> dict[str, Any]:
    parent: dict[str, Any] = yaml.safe_load((EXAMPLE / "example.yaml").read_text())
    return parent


def test_the_example_crd_is_established_and_its_parent_stored(
    kube: Kube, staticsite: Controller
) -> None:
    definition = crd(staticsite.kind)
    outcome = install_crd(kube, definition)
    assert outcome.established, f"{definition['metadata']['name']}: {outcome.error}"
    served_kind(kube, definition)
    parent = _example()
    stored = kube.create(parent, dry_run=True, strict=True)
    # stored as written, plus the schema's defaults (port) the API server fills in
    assert {key: stored["spec"][key] for key in parent["spec"]} == parent["spec"]
    assert stored["spec"]["port"] == 80


def test_every_child_of_the_example_is_accepted_by_a_dry_run(
    kube: Kube, staticsite: Controller
) -> None:
    parent = testing.parent(staticsite, "docs", _example()["spec"])
    children = testing.render(staticsite, parent)["children"]
    assert sorted(child["kind"] for child in children) == ["ConfigMap", "Deployment", "Service"]
    for child in children:
        kube.ensure_namespace(child["metadata"]["namespace"])
        stored = kube.create(child, dry_run=True, strict=True)
        assert kube.last_warnings == [], f"the API server warned: {kube.last_warnings}"
        assert stored["metadata"]["name"] == child["metadata"]["name"]
