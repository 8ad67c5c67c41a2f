"""Observed children the hooks cannot read are refused with a 400 naming the child, never a 500.

The request check (`hooks.contract.readable_problem`) types every field of an observed object
that a controller or the policy reads; the property test puts any JSON value at any path of any
observed object of every golden request (or under a new key the readers know) and asks for an
answer below 500.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hooks import contract
from hooks.server import create_app
from hooks.settings import Settings
from tests.goldens import FIXTURES

Path = tuple[str | int, ...]


def _observed(request: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(section, group, key) of every observed object of a request."""
    return [
        (section, group, key)
        for section in ("children", "related")
        for group, objects in sorted((request.get(section) or {}).items())
        for key in sorted(objects)
    ]


def _cases() -> list[tuple[str, str]]:
    found = []
    for folder in sorted(FIXTURES.glob("*/*")):
        if not (folder / "request.json").is_file():
            continue
        meta = json.loads((folder / "case.json").read_text())
        request = json.loads((folder / "request.json").read_text())
        if meta.get("hook", "sync") == "sync" and _observed(request):
            found.append((folder.parent.name, folder.name))
    return found


CASES = _cases()


@cache
def _client(controller: str, case: str) -> FlaskClient:
    meta = json.loads((FIXTURES / controller / case / "case.json").read_text())
    now = datetime.fromisoformat(str(meta["now"]).replace("Z", "+00:00"))
    settings = Settings.model_validate(meta.get("config") or {})
    return create_app(settings, clock=lambda: now, environ={}).test_client()


@cache
def _request(controller: str, case: str) -> str:
    return (FIXTURES / controller / case / "request.json").read_text()


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _schema_keys(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, inner in schema.items():
            yield key
            yield from _schema_keys(inner)
    elif isinstance(schema, list):
        yield from _schema_keys(schema[0])


KNOWN_KEYS = sorted({key for schema in contract._BY_KIND.values() for key in _schema_keys(schema)})
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], Path, Any]:
    controller, case = draw(st.sampled_from(CASES))
    request = json.loads(_request(controller, case))
    section, group, key = draw(st.sampled_from(_observed(request)))
    child = request[section][group][key]
    # The identity fields have their own check (test_fuzz); everything else is fair game.
    paths = [p for p in _paths(child) if p[0] not in ("apiVersion", "kind") and p != ("metadata",)]
    path = draw(st.sampled_from(paths))
    if draw(st.booleans()):  # a key the readers know, where the object has none
        container = _at(child, path)
        if isinstance(container, dict):
            path = (*path, draw(st.sampled_from(KNOWN_KEYS)))
    return controller, case, request, (section, group, key, *path), draw(JSON)


def _at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _post(controller: str, case: str, request: dict[str, Any]) -> Any:
    return _client(controller, case).post(f"/{controller}/sync", json=request)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations())
@example(
    (
        "foo",
        "steady-state",
        json.loads(_request("foo", "steady-state")),
        ("children", "Deployment.apps/v1", "default/example-foo", "status", "conditions"),
        5,
    )
)
def test_any_value_anywhere_in_an_observed_object_is_answered_below_500(
    mutation: tuple[str, str, dict[str, Any], Path, Any],
) -> None:
    controller, case, request, path, value = mutation
    _at(request, path[:-1])[path[-1]] = value
    logging.disable(logging.ERROR)  # a 500 logs its traceback; the assertion is enough
    try:
        response = _post(controller, case, request)
    finally:
        logging.disable(logging.NOTSET)
    assert response.status_code < 500, (path, value, response.get_data(as_text=True))
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        (("spec", "template", "spec", "containers"), [5], ".spec.template.spec.containers[0]"),
        (("spec", "template", "spec", "volumes"), [None], ".spec.template.spec.volumes[0]"),
        (
            ("spec", "template", "spec", "containers", 0, "securityContext"),
            "x",
            ".spec.template.spec.containers[0].securityContext: must be an object",
        ),
        (("status", "conditions"), 5, ".status.conditions: must be a list"),
    ],
)
def test_an_unreadable_observed_child_is_a_400_naming_it(
    where: Path, value: Any, field: str
) -> None:
    controller, case = "application", "invalid-limits-keeps-children"
    request = json.loads(_request(controller, case))
    (key, child), *_ = request["children"]["Deployment.apps/v1"].items()
    _at(child, where[:-1])[where[-1]] = value
    response = _post(controller, case, copy.deepcopy(request))
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert f"children['Deployment.apps/v1'][{key!r}]{field}" in message


@pytest.mark.parametrize("kind", sorted(contract._BY_KIND))
def test_every_kind_the_readers_know_is_checked_where_its_pod_spec_sits(kind: str) -> None:
    pod_spec = {"containers": [{"securityContext": "x"}]}
    places = {
        "Pod": {"spec": pod_spec},
        "CronJob": {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}},
    }
    obj = places.get(kind, {"spec": {"template": {"spec": pod_spec}}})
    problem = contract.readable_problem({"kind": kind, "metadata": {"name": "x"}, **obj})
    if kind in ("Ingress", "HorizontalPodAutoscaler"):
        assert problem is None  # no Pod spec: the template is read by no one
    else:
        assert problem is not None and problem.endswith("securityContext: must be an object")


def _pods() -> list[dict[str, Any]]:
    request = json.loads(_request("podcluster", "steady-state"))
    return list(request["children"]["Pod.v1"].values())


def _schema_paths(schema: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path the schema types, list items as index 0."""
    if isinstance(schema, dict):
        for key, inner in schema.items():
            yield (*prefix, key)
            yield from _schema_paths(inner, (*prefix, key))
    elif isinstance(schema, list):
        yield (*prefix, 0)
        yield from _schema_paths(schema[0], (*prefix, 0))


def _put(root: Any, path: Path, value: Any) -> None:
    """Set `value` at `path`, making the objects and lists on the way where they are missing."""
    node = root
    for step, following in zip(path, path[1:], strict=False):
        fresh: Any = [] if isinstance(following, int) else {}
        if isinstance(node, dict):
            if type(node.get(step)) is not type(fresh):
                node[step] = fresh
            node = node[step]
        else:  # a list: step is 0
            if not node or type(node[0]) is not type(fresh):
                node[:] = [fresh]
            node = node[0]
    if isinstance(node, dict):
        node[path[-1]] = value
    else:
        node[:] = [value]


# The metadata object itself is the identity check's (test_fuzz); what it holds is fair game.
POD_PATHS = [p for p in _schema_paths(contract._BY_KIND["Pod"]) if p != ("metadata",)]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(POD_PATHS), JSON, st.booleans())
def test_the_unrolled_pod_check_never_passes_what_the_walk_refuses(
    path: Path, value: Any, from_the_fixture: bool
) -> None:
    pod = copy.deepcopy(_pods()[0]) if from_the_fixture else {"metadata": {"name": "p"}}
    _put(pod, path, value)
    if contract._pod_fits(pod):
        assert contract._schema_problem(pod, contract._BY_KIND["Pod"]) is None, (path, value)


KIND_PATHS = [
    (kind, path)
    for kind, schema in contract._BY_KIND.items()
    for path in _schema_paths(schema)
    if path != ("metadata",)
] + [("Widget", path) for path in _schema_paths(contract._OTHER) if path != ("metadata",)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KIND_PATHS), JSON)
def test_the_documented_schema_of_observed_objects_is_the_check(
    kind_path: tuple[str, Path], value: Any
) -> None:
    kind, path = kind_path
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}}
    _put(obj, path, value)
    documented = jsonschema.Draft202012Validator(contract.observed_object_schema()).is_valid(obj)
    assert documented == (contract.readable_problem(obj) is None), (kind, path, value)
