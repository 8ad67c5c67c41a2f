"""Children validate against Kubernetes' OpenAPI schemas; statuses and examples against our CRDs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from hooks.crd import crd
from hooks.registry import CONTROLLERS
from tests.goldens import KUBERNETES_VERSION, golden_responses

ROOT = Path(__file__).parent.parent
KINDS = {controller.kind.kind: controller.kind for controller in CONTROLLERS.values()}
RESPONSES = golden_responses()


def _children() -> list[Any]:
    return [
        pytest.param(child, id=f"{case.id}:{child['kind']}/{child['metadata']['name']}")
        for case, body in RESPONSES
        for child in body.get("children", [])
    ]


@pytest.mark.parametrize("child", _children())
def test_child_validates_against_kubernetes_openapi(child: dict[str, Any]) -> None:
    kubernetes_validate.validate(child, KUBERNETES_VERSION, strict=True)


def _validator(kind_name: str, part: str) -> jsonschema.Draft4Validator:
    schema = crd(KINDS[kind_name])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return jsonschema.Draft4Validator(schema["properties"][part] if part else schema)


@pytest.mark.parametrize(
    "case,body",
    [pytest.param(c, b, id=c.id) for c, b in RESPONSES if "status" in b],
)
def test_status_fits_the_crd_and_the_model(case: Any, body: dict[str, Any]) -> None:
    kind_name = CONTROLLERS[case.controller].kind.kind
    status = {**body["status"], "observedGeneration": 1}
    _validator(kind_name, "status").validate(status)
    KINDS[kind_name].status.model_validate(status)


def _examples() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_example_resources_validate(path: Path) -> None:
    for obj in yaml.safe_load_all(path.read_text()):
        _validator(obj["kind"], "").validate(obj)
        KINDS[obj["kind"]].spec.model_validate(obj["spec"])


def test_every_kind_has_an_example() -> None:
    kinds = {obj["kind"] for path in _examples() for obj in yaml.safe_load_all(path.read_text())}
    assert kinds >= set(KINDS)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tests" / "invalid").glob("*.yaml")), ids=lambda p: p.name
)
def test_invalid_resources_are_rejected_by_the_crd_schema(path: Path) -> None:
    obj = yaml.safe_load(path.read_text())
    expected = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    errors = list(_validator(obj["kind"], "").iter_errors(obj))
    assert errors, f"{path.name} was accepted"
    paths = {".".join(str(p) for p in error.absolute_path) for error in errors}
    assert expected in paths


def _walk(node: dict[str, Any], path: str) -> list[str]:
    problems = []
    if not (
        "type" in node
        or node.get("x-kubernetes-int-or-string")
        or node.get("x-kubernetes-preserve-unknown-fields")
    ):
        problems.append(f"{path}: no type")
    for name, sub in (node.get("properties") or {}).items():
        problems += _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        problems += _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        problems += _walk(node["additionalProperties"], f"{path}{{}}")
    for forbidden in ("$ref", "anyOf", "oneOf", "allOf", "const", "title"):
        if forbidden in node:
            problems.append(f"{path}: {forbidden} is not allowed in a structural schema")
    return problems


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_crd_schemas_are_structural(kind: str) -> None:
    schema = crd(KINDS[kind])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema, kind) == []


def _invalid_everywhere() -> list[Path]:
    return sorted((ROOT / "tests" / "invalid").glob("**/*.yaml"))


@pytest.mark.parametrize(
    "path", _invalid_everywhere(), ids=lambda p: str(p.relative_to(ROOT / "tests" / "invalid"))
)
def test_invalid_resources_are_refused_by_the_spec_model_too(path: Path) -> None:
    """The hook agrees with the CRD: what admission refuses (by schema or CEL rule, the latter
    in tests/invalid/cel/, checked against a real API server), the spec model refuses."""
    obj = yaml.safe_load(path.read_text())
    with pytest.raises(ValidationError):
        KINDS[obj["kind"]].spec.model_validate(obj["spec"])


UPDATED_BY_METACONTROLLER = {
    "type": "Updated",
    "status": "False",
    "reason": "RolloutWaiting",
    "message": "waiting for child Pod example-0 to become Ready",
}
"""The condition Metacontroller's rolling strategies add (no lastTransitionTime)."""


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_status_accepts_a_condition_written_by_others(kind: str) -> None:
    status = {"observedGeneration": 1, "conditions": [UPDATED_BY_METACONTROLLER]}
    _validator(kind, "status").validate(status)
    KINDS[kind].status.model_validate(status)
    minimal = {"conditions": [{"type": "Synced", "status": "Unknown"}]}
    _validator(kind, "status").validate(minimal)
