"""Fuzzing the server against its own OpenAPI document (schemathesis): no 5xx, no answer that
breaks the document, valid requests accepted and invalid ones refused, with and without auth."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hooks.contract import ObjectShape, check_object
from hooks.server import create_app
from hooks.settings import Settings

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
TOKEN = "fuzz-token-0123456789"

APP = create_app(Settings(), clock=lambda: NOW, environ={})
SECURED = create_app(Settings(), clock=lambda: NOW, environ={"KUBEHOOKS_BEARER_TOKEN": TOKEN})

schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
secured = schemathesis.openapi.from_wsgi("/openapi.json", SECURED)
for document in (schema, secured):
    document.config.seed = 20260115  # the same cases on every run, whatever else pytest collected

FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_no_server_error_and_every_answer_fits_the_document(case: schemathesis.Case) -> None:
    case.call_and_validate()


@secured.parametrize()
@FUZZ
def test_with_auth_unauthenticated_calls_are_refused_and_others_fit(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})


def test_the_document_lists_every_hook_of_every_enabled_controller() -> None:
    document: dict[str, Any] = APP.test_client().get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    controllers = APP.extensions["kubehooks"]["controllers"]
    for name, bound in controllers.items():
        assert f"/{name}/sync" in document["paths"]
        assert f"/{name}/finalize" in document["paths"]
        assert (f"/{name}/customize" in document["paths"]) == (
            bound.controller.customize is not None
        )
    assert "securitySchemes" not in document["components"]
    secured_document = SECURED.test_client().get("/openapi.json").get_json()
    assert secured_document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
def test_public_routes_are_marked_public(path: str) -> None:
    document = SECURED.test_client().get("/openapi.json").get_json()
    assert document["paths"][path]["get"]["security"] == []


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
    st.text(max_size=5),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
)
META_KEYS = ["name", "namespace", "uid", "resourceVersion", "generation", "labels"]
META_KEYS += ["annotations", "deletionTimestamp", "finalizers"]


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed object, then up to two fields replaced by anything (or removed)."""
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "default",
            "generation": draw(st.integers(0, 5)),
            "labels": {"a": "b"},
        },
        "spec": {},
    }
    for _ in range(draw(st.integers(0, 2))):
        top = draw(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "meta", "meta"]))
        target, key = (obj, top) if top != "meta" else (obj.get("metadata"), None)
        if key is None:
            if not isinstance(target, dict):
                continue
            key = draw(st.sampled_from(META_KEYS))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(values)
    return obj


@given(obj=objects())
@settings(max_examples=300, deadline=None)
def test_the_request_check_accepts_exactly_what_the_documented_model_accepts(
    obj: dict[str, Any],
) -> None:
    try:
        ObjectShape.model_validate(obj)
        documented = True
    except ValidationError:
        documented = False
    try:
        check_object(obj, "x")
        checked = True
    except ValueError:
        checked = False
    assert checked == documented, obj
