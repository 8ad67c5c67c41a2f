"""The only module that talks to the Kubernetes API: list, get, writes as the user, watch.

Built on the official client (`kubernetes`): it loads in-cluster and kubeconfig credentials,
refreshes exec/OIDC tokens, and its `watch.Watch` streams from a resourceVersion and surfaces
410 Gone as `ApiException(status=410)`. Writes go through the same `ApiClient` with one
`Impersonate-Group` header per group (a header dict cannot repeat a name, so those requests are
serialised by `ApiClient.param_serialize` and sent with a urllib3 `HTTPHeaderDict`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from hooks.api.kind import GROUP, VERSION, Kind
from hooks.portal.auth import Identity, impersonation_headers

KubeObject = dict[str, Any]
KubeObjects = list[KubeObject]
"""An alias: inside the classes below, `list` is a method's name."""

MERGE_PATCH = "application/merge-patch+json"


class ClusterError(Exception):
    """The API server refused or failed a call; `status` is its HTTP status (0: unreachable)."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body or {}


class WatchExpired(ClusterError):
    """410 Gone: the resourceVersion is too old; relist and reconcile."""

    def __init__(self, message: str = "resourceVersion too old") -> None:
        super().__init__(410, message)


@dataclass(frozen=True)
class ObjectList:
    """One page of a list, and the versions to continue it and to watch from."""

    items: list[KubeObject]
    continue_token: str | None
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    """ADDED, MODIFIED, DELETED or BOOKMARK, with the object as sent."""

    type: str
    object: KubeObject


class Cluster(Protocol):
    """What the facade and the recorder need from the API server."""

    def list(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
        label_selector: str | None = None,
    ) -> ObjectList: ...

    def get(self, kind: Kind, namespace: str, name: str) -> KubeObject | None: ...

    def create(
        self, kind: Kind, namespace: str, body: KubeObject, *, as_user: Identity
    ) -> KubeObject: ...

    def patch(
        self, kind: Kind, namespace: str, name: str, patch: KubeObject, *, as_user: Identity
    ) -> KubeObject: ...

    def delete(self, kind: Kind, namespace: str, name: str, *, as_user: Identity) -> None: ...

    def watch(
        self, kind: Kind, resource_version: str, *, timeout_seconds: int
    ) -> Iterator[WatchEvent]: ...

    def list_children(
        self, api_version: str, resource: str, namespace: str, label_selector: str
    ) -> KubeObjects: ...

    def ping(self) -> bool: ...


def resource_path(kind: Kind, namespace: str | None, name: str | None = None) -> str:
    """Return the REST path of a kind's collection or one object."""
    path = f"/apis/{GROUP}/{VERSION}"
    if namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{kind.plural}"
    return path + (f"/{quote(name, safe='')}" if name else "")


class KubernetesCluster:
    """`Cluster` over the official client; every failure comes out as ClusterError."""

    def __init__(self, configuration: Any, *, request_timeout: float = 10.0) -> None:
        from kubernetes import client

        self.api = client.ApiClient(configuration)
        self.custom = client.CustomObjectsApi(self.api)
        self.request_timeout = request_timeout

    @classmethod
    def connect(cls, kubeconfig: str | None) -> KubernetesCluster:
        """Use the in-cluster service account, else the kubeconfig file (or $KUBECONFIG)."""
        from kubernetes import client, config

        configuration = client.Configuration()
        if kubeconfig is None:
            try:
                config.load_incluster_config(client_configuration=configuration)
                return cls(configuration)
            except config.ConfigException:
                pass
        try:
            config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        except (config.ConfigException, OSError) as err:
            raise ValueError(f"cannot load the kubeconfig {kubeconfig or ''}: {err}") from None
        return cls(configuration)

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: KubeObject | None = None,
        content_type: str = "application/json",
        as_user: Identity | None = None,
        timeout: float | None = None,
    ) -> KubeObject:
        from kubernetes.client.exceptions import ApiException
        from urllib3 import HTTPHeaderDict
        from urllib3.exceptions import HTTPError

        headers: dict[str, str] = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        _, url, serialised, _, _ = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        sent = HTTPHeaderDict(serialised)
        for name, value in impersonation_headers(as_user) if as_user else []:
            sent.add(name, value)
        try:
            response = self.api.call_api(
                method,
                url,
                header_params=sent,
                body=body,
                _request_timeout=timeout or self.request_timeout,
            )
            response.read()
        except ApiException as err:
            raise _cluster_error(int(err.status or 0), err.body) from err
        except (HTTPError, OSError) as err:
            raise ClusterError(0, f"API server unreachable: {err}") from err
        if response.status >= 300:
            raise _cluster_error(response.status, response.data)
        if not str(response.getheader("Content-Type") or "").startswith("application/json"):
            return {"text": bytes(response.data or b"").decode(errors="replace")}
        return json.loads(response.data or b"{}")  # type: ignore[no-any-return]

    def list(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
        label_selector: str | None = None,
    ) -> ObjectList:
        """Return one page of objects (all namespaces when namespace is None)."""
        query = [("limit", str(limit))] if limit else []
        query += [("continue", continue_token)] if continue_token else []
        query += [("labelSelector", label_selector)] if label_selector else []
        found = self._call("GET", resource_path(kind, namespace), query=query)
        meta = found.get("metadata") or {}
        return ObjectList(
            items=list(found.get("items") or []),
            continue_token=meta.get("continue") or None,
            resource_version=str(meta.get("resourceVersion") or ""),
        )

    def get(self, kind: Kind, namespace: str, name: str) -> KubeObject | None:
        """Return one object, None when it does not exist."""
        try:
            return self._call("GET", resource_path(kind, namespace, name))
        except ClusterError as err:
            if err.status == 404:
                return None
            raise

    def create(
        self, kind: Kind, namespace: str, body: KubeObject, *, as_user: Identity
    ) -> KubeObject:
        """Create as the user: the API server's RBAC decides."""
        return self._call("POST", resource_path(kind, namespace), body=body, as_user=as_user)

    def patch(
        self, kind: Kind, namespace: str, name: str, patch: KubeObject, *, as_user: Identity
    ) -> KubeObject:
        """JSON merge patch as the user."""
        return self._call(
            "PATCH",
            resource_path(kind, namespace, name),
            body=patch,
            content_type=MERGE_PATCH,
            as_user=as_user,
        )

    def delete(self, kind: Kind, namespace: str, name: str, *, as_user: Identity) -> None:
        """Delete as the user (foreground: children go first, as kubectl's default cascade)."""
        self._call(
            "DELETE",
            resource_path(kind, namespace, name),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            as_user=as_user,
        )

    def watch(
        self, kind: Kind, resource_version: str, *, timeout_seconds: int
    ) -> Iterator[WatchEvent]:
        """Stream events of every namespace after resource_version; WatchExpired on 410."""
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        stream = watch.Watch()
        try:
            for event in stream.stream(
                self.custom.list_cluster_custom_object,
                GROUP,
                VERSION,
                kind.plural,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
                allow_watch_bookmarks=True,
                _request_timeout=timeout_seconds + 10,
            ):
                if event.get("type") == "ERROR":
                    code = (event.get("raw_object") or {}).get("code")
                    if code == 410:
                        raise WatchExpired()
                    raise ClusterError(int(code or 500), str(event.get("raw_object")))
                yield WatchEvent(str(event["type"]), dict(event["raw_object"]))
        except ApiException as err:
            if err.status == 410:
                raise WatchExpired() from err
            raise _cluster_error(int(err.status or 0), err.body) from err
        except (HTTPError, OSError) as err:
            raise ClusterError(0, f"API server unreachable: {err}") from err
        finally:
            stream.stop()

    def list_children(
        self, api_version: str, resource: str, namespace: str, label_selector: str
    ) -> KubeObjects:
        """List one child type in a namespace by label; items get their kind back."""
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        path = f"{base}/namespaces/{quote(namespace, safe='')}/{resource}"
        found = self._call("GET", path, query=[("labelSelector", label_selector)])
        kind = str(found.get("kind") or "").removesuffix("List")
        return [{"kind": kind, **item} for item in found.get("items") or []]

    def ping(self) -> bool:
        """Return whether the API server answers /readyz."""
        try:
            self._call("GET", "/readyz", timeout=3)
            return True
        except ClusterError:
            return False


def _cluster_error(status: int, data: Any) -> ClusterError:
    try:
        body = json.loads(data) if isinstance(data, str | bytes) and data else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return ClusterError(status, str(body.get("message") or f"HTTP {status}"), body)
