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
from dataclasses import dataclass, field, replace
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


class Facade:
    """The facade's operations as one user sees them: the /api routes answer them as JSON and
    the web UI renders them as pages, so both faces share every check (tenancy, spec models)."""

    def __init__(self, portal: Portal, identity: Identity) -> None:
        self.portal = portal
        self.identity = identity

    def visible(self) -> frozenset[str] | None:
        """Return the user's namespaces; None: all of them."""
        return visible_namespaces(self.identity, self.portal.settings.tenancy)

    def kind(self, plural: str) -> Kind:
        """Return a served kind; 404 when it is not served."""
        found = self.portal.kinds.get(plural)
        if found is None:
            raise ApiProblem(404, f"no served kind {plural!r}")
        return found

    def namespace_visible(self, namespace: str) -> None:
        """404 for a namespace outside the user's, as if it did not exist."""
        if not may_see(self.visible(), namespace):
            raise ApiProblem(404, f"namespace {namespace!r} not found")

    def store(self) -> HistoryStore:
        """Return the history; 503 when the portal runs without one."""
        if self.portal.store is None:
            raise ApiProblem(
                503, "history unavailable", headers={"Retry-After": HISTORY_RETRY_AFTER}
            )
        return self.portal.store

    def plain(self, obj: KubeObject) -> dict[str, Any]:
        """Return an object's plain state as of the portal's clock."""
        return plain_state(obj, now=self.portal.clock())

    def list_namespace(
        self,
        plural: str,
        namespace: str,
        *,
        limit: int | None = 100,
        continue_token: str | None = None,
        label_selector: str | None = None,
        phase: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of a namespace's objects (phase filtered within the page)."""
        kind = self.kind(plural)
        self.namespace_visible(namespace)
        found = self.portal.cluster.list(
            kind,
            namespace,
            limit=limit,
            continue_token=continue_token,
            label_selector=label_selector,
        )
        pairs = [(obj, self.plain(obj)) for obj in found.items]
        if phase:
            pairs = [(obj, item) for obj, item in pairs if item["phase"] == phase]
        if any(not item["children"] for _, item in pairs):
            # one list per child type for the whole page, grouped by controller uid
            owned = by_controller(self.observed_children(kind, namespace, INSTANCE_LABEL))
            for obj, item in pairs:
                uid = str((obj.get("metadata") or {}).get("uid"))
                item["children"] = item["children"] or owned_children(obj, owned.get(uid, []))
        return [item for _, item in pairs], found.continue_token

    def list_visible(
        self, plural: str, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Return every object of a kind in the user's namespaces (one list per namespace, or
        one across namespaces for a user who sees them all)."""
        kind = self.kind(plural)
        visible = self.visible()
        namespaces: list[str | None] = [None] if visible is None else [*sorted(visible)]
        items: list[dict[str, Any]] = []
        for namespace in namespaces:
            found = self.portal.cluster.list(kind, namespace, label_selector=label_selector)
            items += [self.plain(obj) for obj in found.items]
        return items

    def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Validate {name, labels, spec} with the kind's spec model, then create as the user."""
        kind = self.kind(plural)
        self.namespace_visible(namespace)
        obj = new_object(kind, namespace, body)
        created = self.portal.cluster.create(kind, namespace, obj, as_user=self.identity)
        return self.plain(created)

    def get(
        self, plural: str, namespace: str, name: str, *, detail: bool = False
    ) -> dict[str, Any]:
        """Return one object's plain state with its children; 404 when absent. `detail` adds
        its conditions and whole status (the UI's object page)."""
        kind = self.kind(plural)
        self.namespace_visible(namespace)
        found = self.portal.cluster.get(kind, namespace, name)
        if found is None:
            raise ApiProblem(404, f"{kind.kind} {namespace}/{name} not found")
        answer = self.plain(found)
        answer["children"] = answer["children"] or self.children_of(kind, found)
        if detail:
            answer["status"] = found.get("status") or {}
            answer["conditions"] = answer["status"].get("conditions") or []
        return answer

    def children_of(self, kind: Kind, parent: KubeObject) -> list[dict[str, Any]]:
        """The parent's own children, by label then ownerReference."""
        meta = parent.get("metadata") or {}
        selector = f"{INSTANCE_LABEL}={meta.get('name')}"
        namespace = str(meta.get("namespace"))
        return owned_children(parent, self.observed_children(kind, namespace, selector))

    def observed_children(self, kind: Kind, namespace: str, selector: str) -> list[KubeObject]:
        """Every child type of the kind in a namespace, one call each; a type the portal cannot
        read is left out rather than failing the answer."""
        observed: list[KubeObject] = []
        for child in self.portal.child_types.get(kind.plural, ()):
            try:
                observed += self.portal.cluster.list_children(
                    child.api_version, child.resource, namespace, selector
                )
            except ClusterError:
                continue
        return observed

    def patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Merge `spec` and `labels` after checking the merged spec with the spec model."""
        kind = self.kind(plural)
        self.namespace_visible(namespace)
        unknown = sorted(set(body) - {"spec", "labels"})
        if unknown:
            details = [
                {"field": key, "message": "only spec and labels can change"} for key in unknown
            ]
            raise ApiProblem(422, f"invalid {kind.kind} patch", details)
        current = self.portal.cluster.get(kind, namespace, name)
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
        result = self.portal.cluster.patch(kind, namespace, name, patch, as_user=self.identity)
        return self.plain(result)

    def delete(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        """Delete as the user."""
        kind = self.kind(plural)
        self.namespace_visible(namespace)
        self.portal.cluster.delete(kind, namespace, name, as_user=self.identity)
        return {"deleted": name, "namespace": namespace, "kind": kind.kind}

    def actions(self, plural: str) -> list[str]:
        """Return the action names a kind has (suspend, resume, retry)."""
        names = [action for (kind, action) in ACTIONS if kind == plural]
        return names + (["retry"] if plural in RETRYABLE else [])

    def act(self, plural: str, namespace: str, name: str, action: str) -> dict[str, Any]:
        """Run a named action: a spec patch, or a retry of a failed run."""
        kind = self.kind(plural)
        self.namespace_visible(namespace)
        if action == "retry" and plural in RETRYABLE:
            return self.retry(kind, namespace, name)
        patch = ACTIONS.get((plural, action))
        if patch is None:
            raise ApiProblem(404, f"{kind.kind} has no action {action!r}")
        return self.patch(plural, namespace, name, patch)

    def retry(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        """Delete a failed run and create it again as the user."""
        current = self.portal.cluster.get(kind, namespace, name)
        if current is None:
            raise ApiProblem(404, f"{kind.kind} {namespace}/{name} not found")
        phase = (current.get("status") or {}).get("phase")
        if phase not in RETRYABLE[kind.plural]:
            raise ApiProblem(409, f"only a failed run can be retried; this one is {phase}")
        rerun = retried_object(kind, current)
        self.portal.cluster.delete(kind, namespace, name, as_user=self.identity)
        created = self.portal.cluster.create(kind, namespace, rerun, as_user=self.identity)
        return self.plain(created)

    def history(
        self, query: HistoryQuery, namespace: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of history in the user's namespaces (or one of them)."""
        self.kind(query.plural)
        namespaces = self.visible()
        if namespace:
            self.namespace_visible(namespace)
            namespaces = frozenset({namespace})
        return self.store().page(replace(query, namespaces=namespaces))

    def record(self, plural: str, uid: str) -> dict[str, Any]:
        """Return one history record with its timeline; 404 outside the user's namespaces."""
        self.kind(plural)
        found = self.store().get(plural, uid)
        if found is None or not may_see(self.visible(), found["namespace"]):
            raise ApiProblem(404, f"no record {uid!r}")
        return found

    def gpu_hours_since(self, plural: str, since: datetime) -> float:
        """Return the GPU-hours used in the user's namespaces since a time."""
        self.kind(plural)
        return self.store().gpu_hours_since(plural, self.visible(), since)

    def stats(self, plural: str) -> dict[str, Any]:
        """Return the kind's history figures in the user's namespaces."""
        self.kind(plural)
        return self.store().stats(plural, self.visible())


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


def cluster_problem(err: ClusterError) -> ApiProblem:
    """Return the answer to give for a refused or failed cluster call."""
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
    """Return the /api blueprint: JSON in and out over the `Facade`."""
    api = Blueprint("portal_api", __name__)

    def facade() -> Facade:
        found: Facade = g.facade
        return found

    @api.before_request
    def authenticate() -> None:
        if request.path in PUBLIC_PATHS:
            return
        headers = {key: value for key, value in request.headers.items()}
        found = portal.authenticator.identify(headers, request.remote_addr)
        if found is None:
            raise ApiProblem(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        g.facade = Facade(portal, found)

    @api.errorhandler(ApiProblem)
    def problem(err: ApiProblem) -> Response:
        return problem_response(err)

    @api.errorhandler(ClusterError)
    def refused(err: ClusterError) -> Response:
        return problem_response(cluster_problem(err))

    @api.errorhandler(HistoryUnavailable)
    def history_down(_err: HistoryUnavailable) -> Response:
        return problem_response(
            ApiProblem(503, "history unavailable", headers={"Retry-After": HISTORY_RETRY_AFTER})
        )

    @api.errorhandler(BadQuery)
    def bad_query(err: BadQuery) -> Response:
        return problem_response(ApiProblem(400, str(err)))

    @api.get("/api/v1/namespaces/<namespace>/<plural>")
    def list_objects(namespace: str, plural: str) -> Response:
        items, token = facade().list_namespace(
            plural,
            namespace,
            limit=_int_arg("limit", 100),
            continue_token=request.args.get("continue") or None,
            label_selector=request.args.get("labelSelector") or None,
            phase=request.args.get("phase") or None,
        )
        return jsonify({"items": items, "continue": token})

    @api.post("/api/v1/namespaces/<namespace>/<plural>")
    def create_object(namespace: str, plural: str) -> tuple[Response, int]:
        return jsonify(facade().create(plural, namespace, _json_body())), 201

    @api.get("/api/v1/namespaces/<namespace>/<plural>/<name>")
    def get_object(namespace: str, plural: str, name: str) -> Response:
        return jsonify(facade().get(plural, namespace, name))

    @api.patch("/api/v1/namespaces/<namespace>/<plural>/<name>")
    def patch_object(namespace: str, plural: str, name: str) -> Response:
        return jsonify(facade().patch(plural, namespace, name, _json_body()))

    @api.delete("/api/v1/namespaces/<namespace>/<plural>/<name>")
    def delete_object(namespace: str, plural: str, name: str) -> Response:
        return jsonify(facade().delete(plural, namespace, name))

    @api.post("/api/v1/namespaces/<namespace>/<plural>/<name>/<action>")
    def act(namespace: str, plural: str, name: str, action: str) -> Response:
        return jsonify(facade().act(plural, namespace, name, action))

    @api.get("/api/v1/history/<plural>")
    def history(plural: str) -> Response:
        query = HistoryQuery(
            plural=plural,
            namespaces=None,
            phase=request.args.get("phase") or None,
            label_selector=request.args.get("labelSelector") or None,
            since=_time_arg("since"),
            until=_time_arg("until"),
            limit=_int_arg("limit", 50),
            continue_token=request.args.get("continue") or None,
        )
        items, token = facade().history(query, request.args.get("namespace") or None)
        return jsonify({"items": items, "continue": token})

    @api.get("/api/v1/history/<plural>/<uid>")
    def history_one(plural: str, uid: str) -> Response:
        return jsonify(facade().record(plural, uid))

    @api.get("/api/v1/stats/<plural>")
    def stats(plural: str) -> Response:
        return jsonify(facade().stats(plural))

    return api
