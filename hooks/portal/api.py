"""The REST facade (APIExt) and the history routes: plain state in and out, per served Kind.

Routes are generated from the registry's Kinds: every served kind gets the same collection,
object and history routes; a create or patch is validated by the kind's spec model (the one its
hook uses) and answered 422 with field paths before anything reaches the cluster. Namespaces
outside the caller's answer 404, as if they did not exist. No cluster call is made here except
through `Cluster`, and no SQL except through `HistoryStore`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import ValidationError

from hooks.api.kind import Kind
from hooks.controller import ChildResource
from hooks.portal.auth import Authenticator, Identity, may_see, visible_namespaces
from hooks.portal.cluster import Cluster, ClusterError
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import BadQuery, HistoryQuery, HistoryStore, HistoryUnavailable
from hooks.portal.state import (
    KubeObject,
    by_controller,
    owned_children,
    parse_time,
    plain_state,
)

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""A DNS-1123 subdomain, what Kubernetes accepts as an object name."""
MAX_LIMIT = 1000
INSTANCE_LABEL = "app.kubernetes.io/instance"
"""Every child the builders make carries its parent's name here (hooks.builders.meta)."""
HISTORY_RETRY_AFTER = "5"
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/api/openapi.json"})


@dataclass
class Portal:
    """What the routes share: settings, who is who, the cluster, the history and the clock."""

    settings: PortalSettings
    kinds: dict[str, Kind]
    """Served kinds by plural."""
    authenticator: Authenticator
    cluster: Cluster
    store: HistoryStore | None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    cluster_ready: Callable[[], bool] | None = None
    """The recorder's view of the API server; None asks the cluster directly."""
    child_types: dict[str, tuple[ChildResource, ...]] = field(default_factory=dict)
    """The child resource types of each served kind (by plural), for an object's children."""


class ApiProblem(Exception):
    """An answer other than 2xx, with a JSON body: {"error": ..., "details": [...]}."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def problem_response(problem: ApiProblem) -> Response:
    """Return the JSON answer of a problem."""
    body: dict[str, Any] = {"error": problem.message, "status": problem.status}
    if problem.details:
        body["details"] = problem.details
    response = jsonify(body)
    response.status_code = problem.status
    response.headers.update(problem.headers)
    return response


def spec_errors(kind: Kind, spec: Any, prefix: str = "spec") -> list[dict[str, Any]]:
    """Return the spec model's complaints as {field, message}, camelCase paths; [] when valid."""
    if not isinstance(spec, dict):
        return [{"field": prefix, "message": "must be an object"}]
    try:
        kind.spec.model_validate(spec)
    except ValidationError as err:
        return [
            {
                "field": ".".join([prefix, *(str(part) for part in item["loc"])]),
                "message": item["msg"],
            }
            for item in err.errors(include_url=False, include_input=False)
        ]
    return []


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch (what the cluster will do) to check the result first."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def new_object(kind: Kind, namespace: str, body: dict[str, Any]) -> KubeObject:
    """Build the object to create from the plain form {name, labels, spec}; ApiProblem if bad."""
    given = body.get("metadata")
    meta: dict[str, Any] = given if isinstance(given, dict) else {}
    name = body.get("name") or meta.get("name")
    labels = body.get("labels") or meta.get("labels") or {}
    details = []
    if not isinstance(name, str) or len(name) > 253 or not NAME.match(name):
        details.append({"field": "name", "message": "a lower-case DNS-1123 name is required"})
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        details.append({"field": "labels", "message": "must map strings to strings"})
    details += spec_errors(kind, body.get("spec"))
    if details:
        raise ApiProblem(422, f"invalid {kind.kind}", details)
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": body["spec"],
    }


ACTIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("aijobs", "suspend"): {"spec": {"suspend": True}},
    ("aijobs", "resume"): {"spec": {"suspend": False}},
}
"""Actions are merge patches of the spec, so they pass the same validation and RBAC as PATCH."""

RETRYABLE = {"redismigrations": frozenset({"Failed", "PreFailed"})}
"""Kinds whose failed run can be retried, and the phases that count as failed. A RedisMigration's
Failed is terminal in its controller, so a retry is a new run: the object is deleted and created
again with the same name, labels and spec, as the user (the history keeps both runs by uid)."""
RETRY_OF = "kubehooks.dev/retry-of"


def retried_object(kind: Kind, failed: KubeObject) -> KubeObject:
    """Return the object that reruns a failed one: same name, labels and spec; no status."""
    meta = failed.get("metadata") or {}
    labels = {**(meta.get("labels") or {}), RETRY_OF: str(meta.get("uid"))}
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": labels,
        },
        "spec": failed.get("spec") or {},
    }


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, "the body must be a JSON object")
    return body


def _int_arg(name: str, default: int) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiProblem(400, f"{name}: a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def _time_arg(name: str) -> datetime | None:
    text = request.args.get(name)
    if not text:
        return None
    parsed = parse_time(text)
    if parsed is None:
        raise ApiProblem(400, f"{name}: an RFC 3339 time, like 2026-01-01T00:00:00Z")
    return parsed


def _cluster_problem(err: ClusterError) -> ApiProblem:
    if err.status == 0:
        return ApiProblem(
            503, "the Kubernetes API server is unreachable", headers={"Retry-After": "5"}
        )
    if err.status in (400, 403, 404, 409, 422, 429):
        causes = (err.body.get("details") or {}).get("causes") or []
        details = [{"field": c.get("field"), "message": c.get("message")} for c in causes]
        return ApiProblem(err.status, err.message, details)
    return ApiProblem(502, f"the Kubernetes API server answered {err.status}: {err.message}")


def api_blueprint(portal: Portal) -> Blueprint:
    """Return the /api blueprint over the portal's kinds, cluster and history."""
    api = Blueprint("portal_api", __name__)

    def identity() -> Identity:
        found: Identity = g.identity
        return found

    def visible() -> frozenset[str] | None:
        return visible_namespaces(identity(), portal.settings.tenancy)

    def kind_for(plural: str) -> Kind:
        found = portal.kinds.get(plural)
        if found is None:
            raise ApiProblem(404, f"no served kind {plural!r}")
        return found

    def namespace_visible(namespace: str) -> None:
        if not may_see(visible(), namespace):
            raise ApiProblem(404, f"namespace {namespace!r} not found")

    def store() -> HistoryStore:
        if portal.store is None:
            raise ApiProblem(
                503, "history unavailable", headers={"Retry-After": HISTORY_RETRY_AFTER}
            )
        return portal.store

    @api.before_request
    def authenticate() -> None:
        if request.path in PUBLIC_PATHS:
            return
        headers = {key: value for key, value in request.headers.items()}
        found = portal.authenticator.identify(headers, request.remote_addr)
        if found is None:
            raise ApiProblem(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        g.identity = found

    @api.errorhandler(ApiProblem)
    def problem(err: ApiProblem) -> Response:
        return problem_response(err)

    @api.errorhandler(ClusterError)
    def cluster_problem(err: ClusterError) -> Response:
        return problem_response(_cluster_problem(err))

    @api.errorhandler(HistoryUnavailable)
    def history_down(_err: HistoryUnavailable) -> Response:
        return problem_response(
            ApiProblem(503, "history unavailable", headers={"Retry-After": HISTORY_RETRY_AFTER})
        )

    @api.errorhandler(BadQuery)
    def bad_query(err: BadQuery) -> Response:
        return problem_response(ApiProblem(400, str(err)))

    def plain(obj: KubeObject) -> dict[str, Any]:
        return plain_state(obj, now=portal.clock())

    @api.get("/api/v1/namespaces/<namespace>/<plural>")
    def list_objects(namespace: str, plural: str) -> Response:
        kind = kind_for(plural)
        namespace_visible(namespace)
        found = portal.cluster.list(
            kind,
            namespace,
            limit=_int_arg("limit", 100),
            continue_token=request.args.get("continue") or None,
            label_selector=request.args.get("labelSelector") or None,
        )
        phase = request.args.get("phase")
        pairs = [(obj, plain(obj)) for obj in found.items]
        if phase:
            pairs = [(obj, item) for obj, item in pairs if item["phase"] == phase]
        if any(not item["children"] for _, item in pairs) and portal.child_types.get(plural):
            # one list per child type for the whole page, grouped by controller uid
            owned = by_controller(observed_children(kind, namespace, INSTANCE_LABEL))
            for obj, item in pairs:
                uid = str((obj.get("metadata") or {}).get("uid"))
                item["children"] = item["children"] or owned_children(obj, owned.get(uid, []))
        return jsonify({"items": [item for _, item in pairs], "continue": found.continue_token})

    @api.post("/api/v1/namespaces/<namespace>/<plural>")
    def create_object(namespace: str, plural: str) -> tuple[Response, int]:
        kind = kind_for(plural)
        namespace_visible(namespace)
        obj = new_object(kind, namespace, _json_body())
        created = portal.cluster.create(kind, namespace, obj, as_user=identity())
        return jsonify(plain(created)), 201

    @api.get("/api/v1/namespaces/<namespace>/<plural>/<name>")
    def get_object(namespace: str, plural: str, name: str) -> Response:
        kind = kind_for(plural)
        namespace_visible(namespace)
        found = portal.cluster.get(kind, namespace, name)
        if found is None:
            raise ApiProblem(404, f"{kind.kind} {namespace}/{name} not found")
        answer = plain(found)
        answer["children"] = answer["children"] or children_of(kind, found)
        return jsonify(answer)

    def children_of(kind: Kind, parent: KubeObject) -> list[dict[str, Any]]:
        """The parent's own children, by label then ownerReference."""
        meta = parent.get("metadata") or {}
        selector = f"{INSTANCE_LABEL}={meta.get('name')}"
        return owned_children(parent, observed_children(kind, str(meta.get("namespace")), selector))

    def observed_children(kind: Kind, namespace: str, selector: str) -> list[KubeObject]:
        """Every child type of the kind in a namespace, one call each; a type the portal cannot
        read is left out rather than failing the answer."""
        observed: list[KubeObject] = []
        for child in portal.child_types.get(kind.plural, ()):
            try:
                observed += portal.cluster.list_children(
                    child.api_version, child.resource, namespace, selector
                )
            except ClusterError:
                continue
        return observed

    def patched(kind: Kind, namespace: str, name: str, body: dict[str, Any]) -> Response:
        unknown = sorted(set(body) - {"spec", "labels"})
        if unknown:
            details = [
                {"field": key, "message": "only spec and labels can change"} for key in unknown
            ]
            raise ApiProblem(422, f"invalid {kind.kind} patch", details)
        current = portal.cluster.get(kind, namespace, name)
        if current is None:
            raise ApiProblem(404, f"{kind.kind} {namespace}/{name} not found")
        patch: dict[str, Any] = {}
        if "spec" in body:
            errors = spec_errors(kind, merge_patch(current.get("spec") or {}, body["spec"]))
            if errors:
                raise ApiProblem(422, f"invalid {kind.kind} patch", errors)
            patch["spec"] = body["spec"]
        if "labels" in body:
            patch["metadata"] = {"labels": body["labels"]}
        result = portal.cluster.patch(kind, namespace, name, patch, as_user=identity())
        return jsonify(plain(result))

    @api.patch("/api/v1/namespaces/<namespace>/<plural>/<name>")
    def patch_object(namespace: str, plural: str, name: str) -> Response:
        kind = kind_for(plural)
        namespace_visible(namespace)
        return patched(kind, namespace, name, _json_body())

    @api.delete("/api/v1/namespaces/<namespace>/<plural>/<name>")
    def delete_object(namespace: str, plural: str, name: str) -> Response:
        kind = kind_for(plural)
        namespace_visible(namespace)
        portal.cluster.delete(kind, namespace, name, as_user=identity())
        return jsonify({"deleted": name, "namespace": namespace, "kind": kind.kind})

    @api.post("/api/v1/namespaces/<namespace>/<plural>/<name>/<action>")
    def act(namespace: str, plural: str, name: str, action: str) -> Response:
        kind = kind_for(plural)
        namespace_visible(namespace)
        if action == "retry" and plural in RETRYABLE:
            return retry(kind, namespace, name)
        patch = ACTIONS.get((plural, action))
        if patch is None:
            raise ApiProblem(404, f"{kind.kind} has no action {action!r}")
        return patched(kind, namespace, name, patch)

    def retry(kind: Kind, namespace: str, name: str) -> Response:
        current = portal.cluster.get(kind, namespace, name)
        if current is None:
            raise ApiProblem(404, f"{kind.kind} {namespace}/{name} not found")
        phase = (current.get("status") or {}).get("phase")
        if phase not in RETRYABLE[kind.plural]:
            raise ApiProblem(409, f"only a failed run can be retried; this one is {phase}")
        rerun = retried_object(kind, current)
        portal.cluster.delete(kind, namespace, name, as_user=identity())
        created = portal.cluster.create(kind, namespace, rerun, as_user=identity())
        return jsonify(plain(created))

    @api.get("/api/v1/history/<plural>")
    def history(plural: str) -> Response:
        kind_for(plural)
        namespaces = visible()
        namespace = request.args.get("namespace")
        if namespace:
            namespace_visible(namespace)
            namespaces = frozenset({namespace})
        items, token = store().page(
            HistoryQuery(
                plural=plural,
                namespaces=namespaces,
                phase=request.args.get("phase") or None,
                label_selector=request.args.get("labelSelector") or None,
                since=_time_arg("since"),
                until=_time_arg("until"),
                limit=_int_arg("limit", 50),
                continue_token=request.args.get("continue") or None,
            )
        )
        return jsonify({"items": items, "continue": token})

    @api.get("/api/v1/history/<plural>/<uid>")
    def history_one(plural: str, uid: str) -> Response:
        kind_for(plural)
        found = store().get(plural, uid)
        if found is None or not may_see(visible(), found["namespace"]):
            raise ApiProblem(404, f"no record {uid!r}")
        return jsonify(found)

    @api.get("/api/v1/stats/<plural>")
    def stats(plural: str) -> Response:
        kind_for(plural)
        return jsonify(store().stats(plural, visible()))

    return api
