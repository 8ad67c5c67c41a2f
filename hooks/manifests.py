"""Everything a cluster needs, generated: CRDs, CompositeControllers, the server Deployment.

The files under crds/, metacontroller/ and deploy/ are this module's output (`kubehooks manifests
--out .`); a test fails when they drift from it.
"""

from __future__ import annotations

from typing import Any

import yaml

from hooks.crd import crd
from hooks.registry import CONTROLLERS, enabled_names
from hooks.settings import ControllerConfig, Settings

NAMESPACE = "kubehooks"
APP = "kubehooks"
IMAGE = "kubehooks:0.1.0"
PORT = 8080
HOOK_TIMEOUT = "10s"

Manifest = dict[str, Any]


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(objects: list[Manifest]) -> str:
    """Dump objects as a multi-document YAML stream, in the order given, without anchors."""
    return yaml.dump_all(objects, Dumper=_NoAliasDumper, sort_keys=False, width=100)


def composite_controller(name: str, config: ControllerConfig, hook_url: str) -> Manifest:
    """Return the CompositeController that routes one controller's hooks to this server.

    v2 hooks (uniform `namespace/name` keys, strict response parsing), a generated selector
    (children carry `controller-uid`, so nothing unrelated is adopted), and a finalize hook so a
    parent is only gone once its children are.
    """
    controller = CONTROLLERS[name]
    parent: dict[str, Any] = {
        "apiVersion": controller.kind.api_version,
        "resource": controller.kind.plural,
    }
    if config.parent_selector is not None:
        parent["labelSelector"] = config.parent_selector.to_wire()
    children = []
    for child in controller.children:
        strategy: dict[str, Any] = {"method": child.update_strategy}
        if child.status_checks:
            strategy["statusChecks"] = {
                "conditions": [{"type": t, "status": s} for t, s in child.status_checks]
            }
        children.append(
            {
                "apiVersion": child.api_version,
                "resource": child.resource,
                "updateStrategy": strategy,
            }
        )
    hooks = {
        hook: {
            "version": "v2",
            "webhook": {"url": f"{hook_url}/{name}/{hook}", "timeout": HOOK_TIMEOUT},
        }
        for hook in ("sync", "finalize", "customize")
        if hook != "customize" or controller.customize is not None
    }
    spec: dict[str, Any] = {
        "generateSelector": True,
        "parentResource": parent,
        "childResources": children,
        "hooks": hooks,
    }
    resync = config.resync_period_seconds or controller.resync_period_seconds
    if resync:
        spec["resyncPeriodSeconds"] = resync
    return {
        "apiVersion": "metacontroller.k8s.io/v1alpha1",
        "kind": "CompositeController",
        "metadata": {"name": f"kubehooks-{name}", "labels": {"app.kubernetes.io/part-of": APP}},
        "spec": spec,
    }


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": APP}


def server_objects(settings: Settings) -> list[Manifest]:
    """Return the Namespace, ServiceAccount, ConfigMap, Deployment and Service of the server."""
    labels = _labels()
    meta = {"name": APP, "namespace": NAMESPACE, "labels": labels}
    config = {"enabled": enabled_names(settings), "logLevel": settings.log_level}
    container = {
        "name": "hooks",
        "image": IMAGE,
        "args": ["serve", "--port", str(PORT), "--config", "/etc/kubehooks/config.yaml"],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/kubehooks", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod_labels = {"app.kubernetes.io/name": APP}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": labels},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta,
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"config.yaml": yaml.safe_dump(config, sort_keys=False)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": {**labels}},
                    "spec": {
                        "serviceAccountName": APP,
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 10001,
                            "runAsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": "config", "configMap": {"name": APP}},
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


def all_manifests(settings: Settings) -> dict[str, list[Manifest]]:
    """Return the repository layout: relative path -> the objects in that file."""
    files: dict[str, list[Manifest]] = {}
    names = enabled_names(settings)
    for name in names:
        kind = CONTROLLERS[name].kind
        files[f"crds/{kind.singular}.yaml"] = [crd(kind)]
        files[f"metacontroller/{name}.yaml"] = [
            composite_controller(name, settings.controller(name), settings.hook_url)
        ]
    kinds = sorted(CONTROLLERS[name].kind.singular for name in names)
    files["crds/kustomization.yaml"] = [_kustomization([f"{k}.yaml" for k in kinds])]
    files["metacontroller/kustomization.yaml"] = [_kustomization([f"{n}.yaml" for n in names])]
    files["deploy/server.yaml"] = server_objects(settings)
    files["deploy/kustomization.yaml"] = [
        _kustomization(["../crds", "../metacontroller", "server.yaml"])
    ]
    return files


def _kustomization(resources: list[str]) -> Manifest:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }


def render_files(settings: Settings) -> dict[str, str]:
    """Return the repository layout as file texts."""
    return {path: dump_yaml(objects) for path, objects in all_manifests(settings).items()}


def render_stream(settings: Settings) -> str:
    """Return every object (no kustomizations) as one YAML stream for `kubectl apply -f -`."""
    objects = [
        obj
        for path, file_objects in all_manifests(settings).items()
        if not path.endswith("kustomization.yaml")
        for obj in file_objects
    ]
    return dump_yaml(objects)
