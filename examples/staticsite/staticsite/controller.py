"""StaticSite: nginx serving the spec's files, from a ConfigMap; status from the Deployment."""

from __future__ import annotations

import hashlib
import json

from hooks.sdk import (
    CONFIGMAPS,
    DEPLOYMENT,
    DEPLOYMENTS,
    SERVICES,
    Controller,
    HookRequest,
    KubeObject,
    NoOptions,
    SyncResponse,
    conditions,
    container,
    container_port,
    deployment,
    deployment_state,
    http_probe,
    pod_spec,
    pod_template,
    selector_labels,
    service,
    service_port,
    standard_labels,
)

from staticsite.api import STATICSITE, StaticSiteSpec

BUILTIN_IMAGE = "nginxinc/nginx-unprivileged:1.27"
Request = HookRequest[StaticSiteSpec, NoOptions]


def sync(request: Request) -> SyncResponse:
    """Return the StaticSite's children, and its status judged on the observed ones."""
    status = staticsite_status(request)
    children = [
        staticsite_deployment(request),
        staticsite_service(request),
        staticsite_configmap(request),
    ]
    return SyncResponse(status=status, children=children)


def staticsite_status(request: Request) -> KubeObject:
    """Judge the StaticSite by its observed children (never by the desired ones)."""
    observed = request.children.named(DEPLOYMENT, request.parent.name)
    state = deployment_state(observed)
    wanted = request.spec.replicas
    if not state.exists:
        ready, reason = False, "Creating"
        message = "the Deployment is being created"
    else:
        ready = state.available >= wanted and state.current_generation
        reason = "DeploymentReady" if ready else "Scaling"
        message = f"{state.available}/{wanted} replicas available"
    found = request.conditions()
    found.set(conditions.READY, ready, reason, message)
    return {"conditions": found.to_list()}


HTTP_PORT = 8080
"""nginx-unprivileged listens on 8080: the Pod runs as a non-root user."""
SITE_ROOT = "/usr/share/nginx/html"
FILES_HASH = "kubehooks.dev/files-sha256"
"""On the Pod template: new files roll the Pods at once (a mounted ConfigMap lags up to a
minute behind, and file by file), and a rollback restores the files with the template."""


def files_name(request: Request) -> str:
    """Return the ConfigMap's name, `<site>-files`."""
    return f"{request.parent.name}-files"


def files_hash(files: dict[str, str]) -> str:
    """Return a stable hash of the files: sorted by name, so their order in the spec is moot."""
    canonical = json.dumps(files, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def staticsite_container(request: Request) -> KubeObject:
    """Build nginx, serving the mounted files read-only, ready once it answers `/`."""
    return container(
        "nginx",
        request.image(request.spec.image, BUILTIN_IMAGE),
        ports=[container_port(HTTP_PORT, name="http")],
        readiness_probe=http_probe("/", "http"),
        volume_mounts=[{"name": "site", "mountPath": SITE_ROOT, "readOnly": True}],
    )


def staticsite_deployment(request: Request) -> KubeObject:
    """Build the Deployment: nginx Pods with the ConfigMap mounted as the site root."""
    name = request.parent.name
    labels = standard_labels("staticsite", name, component="server")
    spec = pod_spec([staticsite_container(request)])
    spec["volumes"] = [{"name": "site", "configMap": {"name": files_name(request)}}]
    template = pod_template(labels, spec)
    template["metadata"]["annotations"] = {FILES_HASH: files_hash(request.spec.files)}
    return deployment(
        request.meta(name, labels),
        selector=selector_labels("staticsite", name),
        template=template,
        replicas=request.spec.replicas,
    )


def staticsite_service(request: Request) -> KubeObject:
    """Build the Service in front of the Pods."""
    name = request.parent.name
    return service(
        request.meta(name, standard_labels("staticsite", name, component="server")),
        selector=selector_labels("staticsite", name),
        ports=[service_port(request.spec.port, name="http", target_port="http")],
    )


def staticsite_configmap(request: Request) -> KubeObject:
    """Build the ConfigMap holding the site's files, keys sorted."""
    labels = standard_labels("staticsite", request.parent.name, component="files")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": request.meta(files_name(request), labels),
        "data": dict(sorted(request.spec.files.items())),
    }


CONTROLLER = Controller(
    name="staticsite",
    kind=STATICSITE,
    children=(DEPLOYMENTS, SERVICES, CONFIGMAPS),
    sync=sync,
    builtin_image=BUILTIN_IMAGE,
)
"""Registered as the `staticsite` entry point of the `kubehooks.controllers` group."""
