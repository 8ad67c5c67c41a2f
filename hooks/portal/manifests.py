"""The portal's Deployment, Service, ServiceAccount, ConfigMap and RBAC (`kubehooks manifests`).

Pure data, no portal dependency: the hook server's manifest renderer calls it. The RBAC grants
read (get, list, watch) on the served kinds and `impersonate`, nothing else: every write is made
as the user, so the user's own RBAC decides.
"""

from __future__ import annotations

from typing import Any

import yaml

from hooks.api.kind import GROUP, Kind
from hooks.hardening import container_security_context, pod_security_context

Manifest = dict[str, Any]

NAME = "kubehooks-portal"
NAMESPACE = "kubehooks"
PORT = 8099
CONFIG_DIR = "/etc/kubehooks-portal"
TOKENS_SECRET = "kubehooks-portal-tokens"
TOKENS_DIR = "/var/run/secrets/kubehooks-portal"
DATA_DIR = "/var/lib/kubehooks-portal"


def portal_rbac_rules(
    kinds: list[Kind], children: list[tuple[str, str]] | None = None
) -> list[Manifest]:
    """Return the ClusterRole rules: read the served kinds (and list their child types, for an
    object's children), impersonate users and groups."""
    by_group: dict[str, set[str]] = {}
    for api_version, resource in children or []:
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        by_group.setdefault(group, set()).add(resource)
    child_rules = [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": ["list"]}
        for group, resources in sorted(by_group.items())
    ]
    return [
        {
            "apiGroups": [GROUP],
            "resources": sorted(kind.plural for kind in kinds),
            "verbs": ["get", "list", "watch"],
        },
        *child_rules,
        {
            "apiGroups": [""],
            "resources": ["users", "groups"],
            "verbs": ["impersonate"],
        },
        {
            "apiGroups": ["authentication.k8s.io"],
            "resources": ["uids"],
            "verbs": ["impersonate"],
        },
    ]


def portal_image(server_image: str, configured: str | None = None) -> str:
    """Return the portal's image: the configured one, else the server's tag + `-portal`
    (the Dockerfile's `portal` target, pushed beside the server's image)."""
    if configured:
        return configured
    name, at, digest = server_image.partition("@")
    if at:
        raise ValueError(f"image {server_image} is pinned by digest: set portalImage as well")
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = name, "latest"
    return f"{repository}:{tag}-portal"


def portal_config() -> Manifest:
    """Return the portal's config file in the Pod (tenancy is the operator's to fill in)."""
    return {
        "host": "0.0.0.0",
        "port": PORT,
        "dataDir": DATA_DIR,
        "tokenFile": f"{TOKENS_DIR}/token.csv",
        "tenancy": {"users": {}, "groups": {}},
    }


def portal_objects(
    kinds: list[Kind], image: str, children: list[tuple[str, str]] | None = None
) -> list[Manifest]:
    """Return the portal's objects; SQLite on an emptyDir unless the config names a database."""
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "kubehooks"}
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": labels}
    pod_labels = {"app.kubernetes.io/name": NAME}
    container = {
        "name": "portal",
        "image": image,
        "args": ["--config", f"{CONFIG_DIR}/portal.yaml"],  # the image runs `kubehooks portal`
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "resources": {
            "requests": {"cpu": "100m", "memory": "192Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tokens", "mountPath": TOKENS_DIR, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    rbac = "rbac.authorization.k8s.io"
    cluster_meta = {"name": NAME, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRole",
            "metadata": cluster_meta,
            "rules": portal_rbac_rules(kinds, children),
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": cluster_meta,
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"portal.yaml": yaml.safe_dump(portal_config(), sort_keys=False)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                # One writer: SQLite lives in the Pod; with a databaseUrl more replicas are fine.
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {
                        "serviceAccountName": NAME,
                        "securityContext": pod_security_context(),
                        "containers": [container],
                        "volumes": [
                            {"name": "config", "configMap": {"name": NAME}},
                            {
                                "name": "tokens",
                                "secret": {"secretName": TOKENS_SECRET, "defaultMode": 0o440},
                            },
                            {"name": "data", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": pod_labels,
                "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
            },
        },
    ]
