"""What an operator author's tests call: build requests, render, validate, check properties.

Every check takes a `Controller` (a built-in or a plugin's) and plain JSON values, so the same
functions test kubehooks' seven and any operator written with `hooks.sdk`. The property checks
are the invariants every controller must keep; `spec_strategy` draws specs from the spec
model's own schema for them. `kubernetes-validate` and `hypothesis` are test extras
(`pip install 'kubehooks[test]'`); a check that needs a missing one says so (`MissingExtra`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from hooks.builders.meta import CONTROLLER_UID, LAST_APPLIED
from hooks.contract import SyncRequest
from hooks.controller import Controller
from hooks.crd import crd
from hooks.policy import check_child
from hooks.runtime import BoundController, bind, run_sync
from hooks.settings import Settings
from hooks.testing.goldens import KUBERNETES_VERSION

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

Obj = dict[str, Any]
NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
"""The kit's default `now`: tests never read the clock."""
NAMESPACE = "default"


class MissingExtra(RuntimeError):
    """A check needs a test extra that is not installed; the message says which and how."""


def _extra(module: str, package: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise MissingExtra(
            f"this check needs {package}: pip install 'kubehooks[test]' (or {package})"
        ) from None


def uid_for(*parts: str) -> str:
    """Return a stable, UID-shaped string for test objects."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def parent(
    controller: Controller, name: str, spec: Obj, *, generation: int = 1, status: Obj | None = None
) -> Obj:
    """Return a parent object as Metacontroller's informer has it."""
    kind = controller.kind
    meta: Obj = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": uid_for(kind.kind, name),
        "generation": generation,
        "resourceVersion": str(1000 + generation),
        "creationTimestamp": "2026-01-15T09:00:00Z",
    }
    obj: Obj = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def observe(desired: Obj, parent_obj: Obj, *, status: Obj | None = None) -> Obj:
    """Return a desired child as the API server hands it back once Metacontroller applied it."""
    applied = copy.deepcopy(desired)
    obj = copy.deepcopy(desired)
    meta = obj["metadata"]
    pmeta = parent_obj["metadata"]
    meta.setdefault("namespace", pmeta["namespace"])
    meta["labels"] = {**meta.get("labels", {}), CONTROLLER_UID: pmeta["uid"]}
    meta["uid"] = uid_for(obj["kind"], meta["name"])
    meta["resourceVersion"] = "5001"
    meta["annotations"] = {
        **meta.get("annotations", {}),
        LAST_APPLIED: json.dumps(applied, sort_keys=True, separators=(",", ":")),
    }
    meta["ownerReferences"] = [
        {
            "apiVersion": parent_obj["apiVersion"],
            "kind": parent_obj["kind"],
            "name": pmeta["name"],
            "uid": pmeta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    if status is not None:
        obj["status"] = status
    return obj


def sync_request(
    controller: Controller, parent_obj: Obj, observed: Iterable[Obj] = (), *, version: str = "v2"
) -> Obj:
    """Return a sync request body, its children keyed the way hook `version` keys them."""
    children: dict[str, Obj] = {child.key: {} for child in controller.children}
    for obj in observed:
        meta = obj["metadata"]
        key = meta["name"] if version == "v1" else f"{meta.get('namespace', '')}/{meta['name']}"
        children[f"{obj['kind']}.{obj['apiVersion']}"][key] = obj
    return {"parent": parent_obj, "children": children, "related": {}, "finalizing": False}


def bound(controller: Controller, settings: Settings | None = None) -> BoundController:
    """Bind a controller to settings (defaults: no config, the default security policy)."""
    settings = settings or Settings()
    config = settings.controller(controller.name)
    return bind(controller, config, settings.policy, settings.limits)


def render(
    controller: Controller,
    parent_obj: Obj,
    observed: Iterable[Obj] = (),
    *,
    now: datetime = NOW,
    settings: Settings | None = None,
    version: str = "v2",
) -> Obj:
    """Return the sync answer on the wire (status, children) for a parent and observed children.

    Runs the same path as the server (spec parsing, the policy, an invalid spec keeping every
    observed child), without HTTP.
    """
    body = sync_request(controller, copy.deepcopy(parent_obj), observed, version=version)
    request = SyncRequest.model_validate(body)
    answer: Obj = run_sync(bound(controller, settings), request, now=now).to_wire()
    return answer


def validate_children(children: Iterable[Obj], version: str = KUBERNETES_VERSION) -> None:
    """Validate every child against the Kubernetes OpenAPI schemas (strict: no unknown field)."""
    kubernetes_validate = _extra("kubernetes_validate", "kubernetes-validate")
    for child in children:
        kubernetes_validate.validate(child, version, strict=True)


def spec_strategy(controller: Controller) -> SearchStrategy[Any]:
    """Return a hypothesis strategy of specs valid against the controller's spec model."""
    _extra("hypothesis", "hypothesis")
    from hooks.testing.strategies import from_schema

    return from_schema(controller.kind.spec.model_json_schema(by_alias=True))


# The properties every controller keeps -------------------------------------------------------


def check_same_answer(controller: Controller, parent_obj: Obj, observed: list[Obj]) -> None:
    """The same request twice gives the same answer, byte for byte."""
    first = json.dumps(render(controller, parent_obj, observed), sort_keys=False)
    second = json.dumps(render(controller, parent_obj, observed), sort_keys=False)
    assert first == second, "the same request gave two different answers"


def check_v1_and_v2_agree(controller: Controller, parent_obj: Obj, observed: list[Obj]) -> None:
    """Children keyed by name (v1 hooks) and by namespace/name (v2) give the same answer."""
    v1 = render(controller, parent_obj, observed, version="v1")
    v2 = render(controller, parent_obj, observed, version="v2")
    assert v1 == v2, "v1 and v2 requests gave different answers"


def check_refused_spec_keeps_children(
    controller: Controller, parent_obj: Obj, observed: list[Obj], bad_spec: Mapping[str, Any]
) -> None:
    """A spec the model refuses keeps every observed child, and says Ready=False.

    `bad_spec` must really be refused by the spec model (the check asserts it): Metacontroller
    deletes every observed child an answer leaves out, so this is the one that must not fail.
    """
    try:
        controller.kind.spec.model_validate(dict(bad_spec))
    except ValidationError:
        pass
    else:
        raise AssertionError(f"the spec model accepts {dict(bad_spec)}; give a refused spec")
    refused = {**parent_obj, "spec": dict(bad_spec)}
    answer = render(controller, refused, observed)
    kept = {(c["kind"], c["metadata"]["name"]) for c in answer["children"]}
    seen = {(obj["kind"], obj["metadata"]["name"]) for obj in observed}
    assert seen <= kept, f"a refused spec dropped {sorted(seen - kept)}"
    ready = [c for c in answer["status"].get("conditions", []) if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "False", "a refused spec must say Ready=False"


def check_children_pass_policy(
    controller: Controller, parent_obj: Obj, settings: Settings | None = None
) -> None:
    """Every child of the answer is inside the security policy, labelled, in the namespace."""
    settings = settings or Settings()
    answer = render(controller, parent_obj, settings=settings)
    namespace = parent_obj["metadata"]["namespace"]
    for child in answer["children"]:
        check_child(child, namespace, settings.policy)
        assert child["metadata"]["labels"][CONTROLLER_UID] == parent_obj["metadata"]["uid"]
        assert child["metadata"].get("namespace", namespace) == namespace
        assert f"{child['kind']}.{child['apiVersion']}" in controller.child_keys()


def check_all_properties(controller: Controller, spec: Obj, *, name: str = "sample") -> None:
    """Run every property on one valid spec: fresh, then with its own children observed."""
    fresh = parent(controller, name, spec)
    check_children_pass_policy(controller, fresh)
    observed = [observe(child, fresh) for child in render(controller, fresh)["children"]]
    check_same_answer(controller, fresh, observed)
    check_v1_and_v2_agree(controller, fresh, observed)
    check_refused_spec_keeps_children(controller, fresh, observed, {**spec, "notAField": True})


# The CRD does not drift from the model --------------------------------------------------------


def crd_text(controller: Controller) -> str:
    """Return the CRD YAML `kubehooks manifests` writes for the controller's kind."""
    from hooks.manifests import dump_yaml

    return dump_yaml([crd(controller.kind)])


def check_crd_matches(controller: Controller, path: Path, *, update: bool = False) -> None:
    """The committed CRD file is exactly what the model generates; `update` rewrites it."""
    text = crd_text(controller)
    if update:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; run pytest --update-goldens"
    committed = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert committed == yaml.safe_load(text), (
        f"{path} drifted from {controller.kind.spec.__name__}; run pytest --update-goldens"
    )
