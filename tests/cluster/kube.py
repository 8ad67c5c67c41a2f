"""A small Kubernetes REST client over `requests`, for the real-cluster tests.

Only what the tests need: discovery (kind <-> resource), get, list, create, server-side apply,
patch, update, status writes, delete, with `dryRun` and `fieldValidation`. Errors are
`ApiError`, carrying the API server's `Status` (its `details.causes` name the rejected
fields). Plain `requests` rather than a client library: every call the tests make is one
visible HTTP request, dry-run and server-side apply are query parameters and a content type,
and the 422 bodies are read as the API server wrote them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

KubeObject = dict[str, Any]

APPLY_PATCH = "application/apply-patch+yaml"
"""Server-side apply; JSON is YAML, so the body is plain JSON."""
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
RETRIES_429 = 10
"""client-go's default maximum of retries on a 429 with Retry-After (rest.Request)."""


class ApiError(Exception):
    """The API server answered a non-2xx status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body if isinstance(body, dict) else {"message": str(body)}
        super().__init__(f"{method} {path}: HTTP {status}: {self.message}")

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))

    @property
    def reason(self) -> str:
        return str(self.body.get("reason", ""))

    @property
    def causes(self) -> list[dict[str, Any]]:
        """Return `details.causes`: one entry per rejected field (`field`, `reason`, `message`)."""
        return list((self.body.get("details") or {}).get("causes") or [])


@dataclass(frozen=True)
class Resource:
    """One served resource type, as discovery reports it."""

    api_version: str
    kind: str
    name: str
    """The plural, as used in URLs (`deployments`)."""
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        """Return the URL path of the collection, or of one object (and its subresource)."""
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.kind} is namespaced: a namespace is needed")
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.name}"
        if name is not None:
            base += f"/{quote(name)}"
            if sub:
                base += f"/{sub}"
        return base


class Kube:
    """A bearer-token client of one API server, verifying its certificate with `ca_file`."""

    def __init__(self, url: str, token: str, ca_file: str, *, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / *_PROXY from the environment would override
        # `verify` and could route loopback through a proxy.
        self.session.trust_env = False
        self.session.verify = ca_file
        self.session.headers["Authorization"] = f"Bearer {token}"
        self._discovery: dict[str, list[Resource]] = {}
        self._namespaces: set[str] = set()
        self.last_warnings: list[str] = []
        """The `Warning` headers of the last response (deprecations, dropped fields...)."""

    def close(self) -> None:
        self.session.close()

    # -- raw HTTP -----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request and return the decoded JSON body; raise ApiError unless 2xx."""
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if body is not None else {}
        for _ in range(RETRIES_429):
            response = self.session.request(
                method,
                self.url + path,
                data=data,
                params=params,
                headers=headers,
                timeout=self.timeout,
            )
            retry_after = response.headers.get("Retry-After", "")
            if response.status_code != 429 or not retry_after.isdigit():
                break
            # client-go's rest client retries a 429 that carries Retry-After (e.g. "storage
            # is (re)initializing" just after a CRD is established); so does Metacontroller.
            time.sleep(min(int(retry_after), 1))
        # One header per warning; requests would join them with commas, which warnings contain.
        self.last_warnings = list(response.raw.headers.getlist("Warning"))
        try:
            decoded: Any = response.json()
        except ValueError:
            decoded = response.text
        if not response.ok:
            raise ApiError(method, path, response.status_code, decoded)
        return decoded

    # -- discovery ----------------------------------------------------------------------------

    def resources(self, api_version: str, *, refresh: bool = False) -> list[Resource]:
        """Return the resources served at a group/version (without subresources)."""
        if refresh or api_version not in self._discovery:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                listing = self.call("GET", path)
            except ApiError as err:
                if err.status != 404:
                    raise
                listing = {"resources": []}
            self._discovery[api_version] = [
                Resource(api_version, item["kind"], item["name"], bool(item["namespaced"]))
                for item in listing.get("resources") or []
                if "/" not in item["name"]
            ]
        return self._discovery[api_version]

    def resource(
        self, api_version: str, *, kind: str | None = None, plural: str | None = None
    ) -> Resource:
        """Find a resource by kind or by plural; discovery is refreshed once on a miss."""
        for refresh in (False, True):
            for found in self.resources(api_version, refresh=refresh):
                if (kind is not None and found.kind == kind) or (
                    plural is not None and found.name == plural
                ):
                    return found
        raise LookupError(f"{api_version} serves no {kind or plural}")

    def resource_of(self, obj: KubeObject) -> Resource:
        return self.resource(obj["apiVersion"], kind=obj["kind"])

    def wait_served(self, api_version: str, kind: str, timeout: float = 30) -> Resource:
        """Wait until discovery serves a kind (a new CRD takes a moment after Established)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.resource(api_version, kind=kind)
            except LookupError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # -- objects ------------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str | None, name: str) -> KubeObject:
        result: KubeObject = self.call("GET", resource.path(namespace, name))
        return result

    def get_or_none(
        self, resource: Resource, namespace: str | None, name: str
    ) -> KubeObject | None:
        try:
            return self.get(resource, namespace, name)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def list(
        self, resource: Resource, namespace: str | None = None, *, selector: str = ""
    ) -> list[KubeObject]:
        """List objects (in one namespace, or everywhere when namespace is None)."""
        if resource.namespaced and namespace is None:
            base = "/api/v1" if resource.api_version == "v1" else f"/apis/{resource.api_version}"
            path = f"{base}/{resource.name}"
        else:
            path = resource.path(namespace)
        params = {"labelSelector": selector} if selector else None
        listing = self.call("GET", path, params=params)
        items: list[KubeObject] = []
        for item in listing.get("items") or []:
            # List items carry no apiVersion/kind; a hook expects whole objects.
            items.append({"apiVersion": resource.api_version, "kind": resource.kind, **item})
        return items

    def create(
        self, obj: KubeObject, *, dry_run: bool = False, strict: bool | None = True
    ) -> KubeObject:
        """POST an object; `strict` makes unknown or duplicate fields an error, not a prune.

        `strict=None` sends no `fieldValidation`, as client-go does: the API server then
        drops unknown fields with a `Warning` header (its default, Warn).
        """
        resource = self.resource_of(obj)
        namespace = (obj.get("metadata") or {}).get("namespace")
        params = {} if strict is None else {"fieldValidation": "Strict" if strict else "Ignore"}
        if dry_run:
            params["dryRun"] = "All"
        result: KubeObject = self.call("POST", resource.path(namespace), body=obj, params=params)
        return result

    def apply(
        self,
        obj: KubeObject,
        *,
        field_manager: str,
        force: bool = True,
        dry_run: bool = False,
    ) -> KubeObject:
        """Server-side apply one object."""
        resource = self.resource_of(obj)
        meta = obj["metadata"]
        params = {"fieldManager": field_manager, "fieldValidation": "Strict"}
        if force:
            params["force"] = "true"
        if dry_run:
            params["dryRun"] = "All"
        result: KubeObject = self.call(
            "PATCH",
            resource.path(meta.get("namespace"), meta["name"]),
            body=obj,
            params=params,
            content_type=APPLY_PATCH,
        )
        return result

    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        content_type: str = MERGE_PATCH,
        sub: str = "",
    ) -> KubeObject:
        result: KubeObject = self.call(
            "PATCH",
            resource.path(namespace, name, sub),
            body=patch,
            params={"fieldValidation": "Strict"},
            content_type=content_type,
        )
        return result

    def update(self, obj: KubeObject, *, sub: str = "") -> KubeObject:
        """PUT a whole object (its resourceVersion makes this optimistic), or its status.

        No `fieldValidation` is sent (the API server's default, Warn), as client-go does."""
        resource = self.resource_of(obj)
        meta = obj["metadata"]
        result: KubeObject = self.call(
            "PUT", resource.path(meta.get("namespace"), meta["name"], sub), body=obj
        )
        return result

    def delete(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        propagation: str = "Background",
    ) -> None:
        options: KubeObject = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": propagation,
        }
        if uid:
            options["preconditions"] = {"uid": uid}
        self.call("DELETE", resource.path(namespace, name), body=options)

    def delete_collection(self, resource: Resource, namespace: str) -> None:
        """Delete every object of a type in a namespace (background propagation)."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        self.call("DELETE", resource.path(namespace), body=options)

    def preferred_namespaced_resources(self) -> list[tuple[Resource, frozenset[str]]]:
        """Discovery's preferred version of every group: namespaced resources and their
        verbs (client-go's `ServerPreferredNamespacedResources`)."""
        versions = ["v1"]
        for group in self.call("GET", "/apis").get("groups") or []:
            versions.append(group["preferredVersion"]["groupVersion"])
        found = []
        for api_version in versions:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for item in self.call("GET", path).get("resources") or []:
                if "/" in item["name"] or not item.get("namespaced"):
                    continue
                resource = Resource(api_version, item["kind"], item["name"], True)
                found.append((resource, frozenset(item.get("verbs") or [])))
        return found

    def ensure_namespace(self, name: str) -> None:
        """Create a namespace unless it exists (remembered, so repeated calls are free)."""
        if name in self._namespaces:
            return
        namespaces = self.resource("v1", kind="Namespace")
        if self.get_or_none(namespaces, None, name) is None:
            try:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            except ApiError as err:
                if err.status != 409:
                    raise
        self._namespaces.add(name)
