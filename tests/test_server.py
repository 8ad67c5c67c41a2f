"""HTTP behaviour of every route: answers, and a clear 4xx JSON error for every bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from hooks.errors import BadRequest
from hooks.server import create_app, dump_answer
from hooks.settings import Limits, Settings
from tests.goldens import FIXTURES

LAST_APPLIED = "metacontroller.k8s.io/last-applied-configuration"
NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)


def _client(settings: Settings | None = None) -> FlaskClient:
    return create_app(settings or Settings(), clock=lambda: NOW).test_client()


def _request(controller: str = "foo", case: str = "steady-state") -> dict[str, Any]:
    return json.loads((FIXTURES / controller / case / "request.json").read_text())


def _error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"] == error
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_healthz_and_readyz() -> None:
    client = _client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready"
    assert "foo" in ready["controllers"]


@pytest.mark.parametrize("hook", ["sync", "finalize"])
def test_sync_and_finalize_answer_200(hook: str) -> None:
    response = _client().post(f"/foo/{hook}", json=_request())
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) <= {"status", "children", "resyncAfterSeconds", "finalized"}
    assert isinstance(body["status"], dict) and isinstance(body["children"], list)


def test_finalize_route_finalizes_even_without_the_flag() -> None:
    request = _request()
    request["finalizing"] = False
    body = _client().post("/foo/finalize", json=request).get_json()
    assert body["children"] == [] and body["finalized"] is False


def test_customize_answers_related_rules() -> None:
    body = _client().post("/foo/customize", json={"parent": _request()["parent"]}).get_json()
    assert body["relatedResources"][0]["resource"] == "deployments"


def test_customize_of_a_controller_without_one_is_404() -> None:
    response = _client().post("/podcluster/customize", json={"parent": {}})
    _error(response, 404, "NotFound")


def test_unknown_controller_is_404() -> None:
    _error(_client().post("/nope/sync", json=_request()), 404, "NotFound")


def test_unknown_hook_is_404() -> None:
    _error(_client().post("/foo/delete", json=_request()), 404, "NotFound")


def test_disabled_controller_is_404() -> None:
    client = _client(Settings(enabled=("podcluster",)))
    body = _error(client.post("/foo/sync", json=_request()), 404, "NotFound")
    assert "foo" in body["message"]


def test_get_on_a_hook_is_405() -> None:
    _error(_client().get("/foo/sync"), 405, "MethodNotAllowed")


def test_not_json_is_400() -> None:
    response = _client().post("/foo/sync", data=b"{not json", content_type="application/json")
    body = _error(response, 400, "InvalidJSON")
    assert "not valid JSON" in body["message"]


def test_wrong_content_type_is_415() -> None:
    response = _client().post("/foo/sync", data=b"{}", content_type="text/plain")
    body = _error(response, 415, "UnsupportedMediaType")
    assert "text/plain" in body["message"]


def test_missing_content_type_is_415() -> None:
    _error(_client().post("/foo/sync", data=b"{}"), 415, "UnsupportedMediaType")


def test_json_that_is_not_an_object_is_400() -> None:
    _error(_client().post("/foo/sync", json=[1, 2]), 400, "InvalidRequest")


def test_missing_parent_is_400() -> None:
    body = _error(_client().post("/foo/sync", json={"children": {}}), 400, "InvalidRequest")
    assert "parent" in body["message"]


def test_wrong_types_in_the_contract_are_400_with_details() -> None:
    request = _request()
    request["children"] = {"Deployment.apps/v1": ["not", "a", "map"]}
    body = _error(_client().post("/foo/sync", json=request), 400, "InvalidRequest")
    assert body["details"][0]["field"].startswith("children")


def test_body_over_the_limit_is_413() -> None:
    client = _client(Settings(limits=Limits(max_body_bytes=2048)))
    request = _request()
    request["parent"]["metadata"]["annotations"] = {"big": "x" * 4096}
    body = _error(client.post("/foo/sync", json=request), 413, "RequestEntityTooLarge")
    assert "2048" in body["message"]


def test_nesting_over_the_limit_is_400() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    request = _request()
    request["parent"]["metadata"]["annotations"] = deep
    _error(_client().post("/foo/sync", json=request), 400, "TooDeep")


def _nested_in_parent(levels: int) -> bytes:
    """A request whose parent holds a list nested `levels` deep (too deep to build in Python)."""
    request = _request()
    request["parent"]["deep"] = "__DEEP__"
    return orjson.dumps(request).replace(b'"__DEEP__"', b"[" * levels + b"]" * levels)


@pytest.mark.parametrize("levels", [980, 1020])
def test_nesting_of_any_depth_is_400_too_deep(levels: int) -> None:
    # Nearly Python's recursion limit; the depth check must stop descending at its limit.
    raw = _nested_in_parent(levels)
    _error(_client().post("/foo/sync", data=raw, content_type="application/json"), 400, "TooDeep")


def test_nesting_past_the_json_parser_limit_is_400() -> None:
    raw = _nested_in_parent(5000)  # orjson refuses more than 1024 levels
    response = _client().post("/foo/sync", data=raw, content_type="application/json")
    _error(response, 400, "TooDeep")


def test_too_many_observed_children_is_400() -> None:
    client = _client(Settings(limits=Limits(max_children=2)))
    request = _request("podcluster", "steady-state")
    _error(client.post("/podcluster/sync", json=request), 400, "TooManyChildren")


def test_a_bug_in_a_controller_is_a_500_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from hooks.controllers import foo

    def broken(request: Any) -> Any:
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(foo, "sync", broken)
    import hooks.registry as registry

    monkeypatch.setitem(
        registry.CONTROLLERS,
        "foo",
        registry.CONTROLLERS["foo"].__class__(
            **{**registry.CONTROLLERS["foo"].__dict__, "sync": broken}
        ),
    )
    response = _client().post("/foo/sync", json=_request())
    body = _error(response, 500, "InternalError")
    assert "boom" not in json.dumps(body)


def test_every_response_carries_a_request_id() -> None:
    response = _client().post("/foo/sync", json=_request(), headers={"X-Request-Id": "abc"})
    assert response.headers["X-Request-Id"] == "abc"


def _raw_post(settings: Settings, body: bytes, environ: dict[str, Any]) -> tuple[str, bytes]:
    """POST through the WSGI callable with a hand-made environ (chunked bodies, odd headers)."""
    from werkzeug.test import EnvironBuilder

    app = create_app(settings, clock=lambda: NOW)
    env = EnvironBuilder(
        path="/foo/sync", method="POST", data=body, content_type="application/json"
    ).get_environ()
    env.update(environ)
    status: list[str] = []
    result = app(env, lambda code, headers, exc=None: status.append(code))
    try:
        return status[0], b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()


def test_a_chunked_body_is_read_whole_and_refused_over_the_limit() -> None:
    body = json.dumps(_request()).encode()
    chunked = {"CONTENT_LENGTH": "", "wsgi.input_terminated": True}
    status, answer = _raw_post(Settings(), body, chunked)
    assert status.startswith("200"), answer
    big = body + b" " * 4096
    status, answer = _raw_post(Settings(limits=Limits(max_body_bytes=2048)), big, chunked)
    assert status.startswith("413")
    assert json.loads(answer)["error"] == "RequestEntityTooLarge"


def test_a_body_without_length_or_chunking_is_empty_and_refused_as_json() -> None:
    status, answer = _raw_post(Settings(), json.dumps(_request()).encode(), {"CONTENT_LENGTH": ""})
    assert status.startswith("400")
    assert json.loads(answer)["error"] == "InvalidJSON"


def test_an_answer_that_cannot_be_serialised_is_a_json_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hooks.registry as registry
    from hooks.contract import SyncResponse

    def unserialisable(request: Any) -> Any:
        return SyncResponse(status={"bad": object()}, children=[])

    monkeypatch.setitem(
        registry.CONTROLLERS,
        "foo",
        registry.CONTROLLERS["foo"].__class__(
            **{**registry.CONTROLLERS["foo"].__dict__, "sync": unserialisable}
        ),
    )
    response = _client().post("/foo/sync", json=_request(), headers={"X-Request-Id": "r-1"})
    body = _error(response, 500, "InternalError")
    assert body["requestId"] == "r-1"
    assert "ETag" not in response.headers


def _raw_call(method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    """Call the app with PATH_INFO exactly `path` (a test client would read "//x" as a host)."""
    app = create_app(Settings())
    environ = EnvironBuilder(
        path="/", method=method, data=b"{}", content_type="application/json"
    ).get_environ()
    environ["PATH_INFO"] = path
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        seen.update(status=status, headers=dict(headers))

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


MALFORMED = [
    "//foo/sync",
    "/foo//sync",
    "//foo//sync",
    "/foo/sync/",
    "/foo/sync//",
    "//",
    "",
    "/foo",
    "/foo/sync/x",
    "//healthz",
    "/healthz/",
    "//metrics",
    "/./foo/sync",
    "/nope/sync",
    "/foo/nope",
]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("path", MALFORMED)
def test_every_malformed_path_is_a_json_404_without_redirect(method: str, path: str) -> None:
    status, headers, body = _raw_call(method, path)
    if method == "GET" and path in ("/nope/sync", "/foo/nope"):
        assert status.startswith("405")  # a hook's shape, the wrong method
    else:
        assert status.startswith("404"), (status, body)
    assert headers["Content-Type"] == "application/json"
    assert "Location" not in headers
    assert orjson.loads(body)["error"] in ("NotFound", "MethodNotAllowed")
    assert b"customize" not in body


def test_only_a_customize_call_hears_that_a_controller_has_no_customize() -> None:
    status, _, body = _raw_call("POST", "/podcluster/customize")
    assert status.startswith("404")
    assert orjson.loads(body)["message"] == "controller 'podcluster' has no customize"


def test_an_answer_echoing_an_object_too_deep_to_serialise_is_400_too_deep() -> None:
    # A refused spec keeps the children: whatever is echoed (the observed object or its
    # last-applied annotation), it nests past what orjson writes (254 levels).
    request = _request("application", "invalid-limits-keeps-children")
    (child,) = request["children"]["Deployment.apps/v1"].values()
    annotations = child["metadata"]["annotations"]
    applied = json.loads(annotations[LAST_APPLIED])
    deep = "[" * 300 + "]" * 300
    applied["spec"]["deep"] = "__DEEP__"
    annotations[LAST_APPLIED] = json.dumps(applied).replace('"__DEEP__"', deep)
    child["spec"]["deep"] = "__DEEP__"
    raw = orjson.dumps(request).replace(b'"__DEEP__"', deep.encode())
    response = _client().post("/application/sync", data=raw, content_type="application/json")
    _error(response, 400, "TooDeep")


def test_only_a_nesting_error_of_the_answer_is_the_clients_fault() -> None:
    with pytest.raises(BadRequest):
        dump_answer({"children": [json.loads("[" * 300 + "]" * 300)]})
    with pytest.raises(TypeError):
        dump_answer({1j: "not JSON"})


def test_a_parent_sent_to_another_kinds_route_is_400_wrong_kind() -> None:
    client = create_app(Settings()).test_client()
    for path in ("/foo/sync", "/foo/customize"):
        response = client.post(path, json=_request("podcluster", "fresh-parent"))
        error = _error(response, 400, "WrongKind")
        assert "serves Foo" in error["message"] and "PodCluster" in error["message"]
