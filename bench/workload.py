"""What the benchmark sends: the golden steady-state requests, and PodClusters of realistic Pods.

The typical request of a controller is its `tests/fixtures/<controller>/steady-state` golden
request, exactly as the golden tests send it. The scaling requests are a PodCluster observing
`n` Pods that look like what the API server really returns for a running Pod (full status,
managedFields, labels and annotations a cluster adds, the service-account volume, env, probes):
about 6 KB each, so a PodCluster of 1000 Pods is a 6.6 MB request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from hooks.builders.meta import POD
from hooks.contract import SyncRequest
from hooks.controllers.podcluster import TEMPLATE_HASH
from hooks.registry import CONTROLLERS, bind_enabled
from hooks.runtime import run_sync
from hooks.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TYPICAL_CASE = "steady-state"
HTTP_CONTROLLER = "application"
"""The controller the HTTP part loads (its steady-state request, about 10 KB)."""

SCALING_NAMESPACE = "default"
SCALING_PARENT = "bench-cluster"
_UIDS = uuid.UUID("6f1c1bd0-4b43-4f38-9b5e-6d7d2b3a0c11")


@dataclass(frozen=True)
class Typical:
    """One controller's steady-state golden: the request as bytes and the moment it is set at."""

    controller: str
    hook: str
    body: bytes
    now: datetime
    golden: dict[str, Any]
    config: dict[str, Any]
    """The golden case's server settings (usually none: the defaults)."""


def typical_requests() -> list[Typical]:
    """Return the steady-state request of every registered controller that has one."""
    found = []
    for name in CONTROLLERS:
        folder = FIXTURES / name / TYPICAL_CASE
        if not (folder / "request.json").is_file():
            continue
        meta = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
        golden = json.loads((folder / "response.json").read_text(encoding="utf-8"))
        found.append(
            Typical(
                controller=name,
                hook=str(meta.get("hook", "sync")),
                # Compact, as Metacontroller sends it (Go's encoding/json writes no spaces).
                body=orjson.dumps(request),
                now=datetime.fromisoformat(str(meta["now"]).replace("Z", "+00:00")),
                golden=golden,
                config=dict(meta.get("config") or {}),
            )
        )
    return found


def typical(controller: str) -> Typical:
    """Return one controller's steady-state request (KeyError when it has none)."""
    for item in typical_requests():
        if item.controller == controller:
            return item
    raise KeyError(f"no {TYPICAL_CASE} golden for controller {controller!r}")


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(_UIDS, "/".join(str(part) for part in parts)))


def podcluster_parent(replicas: int) -> dict[str, Any]:
    """Return a PodCluster parent asking for `replicas` Pods, with a Ready status already set."""
    return {
        "apiVersion": "kubehooks.dev/v1alpha1",
        "kind": "PodCluster",
        "metadata": {
            "creationTimestamp": "2026-01-15T09:00:00Z",
            "finalizers": ["metacontroller.io/compositecontroller-kubehooks-podcluster"],
            "generation": 3,
            "name": SCALING_PARENT,
            "namespace": SCALING_NAMESPACE,
            "resourceVersion": "812734",
            "uid": _uid("parent"),
        },
        "spec": {
            "podReplicas": replicas,
            "template": {
                "image": "registry.example/team/api-server:2.14.3",
                "command": ["/app/server"],
                "args": ["--port=8080", "--log-format=json"],
                "env": [{"name": "MODE", "value": "cluster"}],
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"},
                },
            },
        },
        "status": {
            "conditions": [
                {
                    "lastTransitionTime": "2026-01-15T09:05:00Z",
                    "message": f"{replicas}/{replicas} Pods ready, {replicas} exist",
                    "observedGeneration": 3,
                    "reason": "AllPodsReady",
                    "status": "True",
                    "type": "Ready",
                }
            ],
            "readyReplicas": replicas,
            "replicas": replicas,
        },
    }


@cache
def _podcluster_template_hash() -> str:
    """Return the template hash the controller gives the scaling parent's Pods (all up to date)."""
    bound = bind_enabled(Settings())["podcluster"]
    request = SyncRequest(parent=podcluster_parent(1), children={POD: {}})
    (pod,) = run_sync(bound, request, now=datetime(2026, 1, 15, 10, tzinfo=UTC)).children
    return str(pod["metadata"]["annotations"][TEMPLATE_HASH])


def realistic_pod(ordinal: int) -> dict[str, Any]:
    """Return Pod `<parent>-<ordinal>` as the API server returns a running, Ready Pod.

    Everything a real cluster adds is there: managedFields of the applier and of the kubelet,
    the projected service-account volume, defaulted fields, tolerations, and a full status.
    """
    name = f"{SCALING_PARENT}-{ordinal}"
    parent_uid = _uid("parent")
    uid = _uid("pod", ordinal)
    node = f"worker-{ordinal % 7:02d}.pool-a.cluster.internal"
    ip = f"10.244.{ordinal // 250 % 250}.{ordinal % 250 + 2}"
    host_ip = f"172.18.0.{ordinal % 7 + 2}"
    started = "2026-01-15T09:01:12Z"
    labels = {
        "app.kubernetes.io/component": "member",
        "app.kubernetes.io/instance": SCALING_PARENT,
        "app.kubernetes.io/managed-by": "kubehooks",
        "app.kubernetes.io/name": "podcluster",
        "controller-uid": parent_uid,
    }
    container = {
        "name": "main",
        "image": "registry.example/team/api-server:2.14.3",
        "command": ["/app/server"],
        "args": ["--port=8080", "--log-format=json"],
        "env": [{"name": "MODE", "value": "cluster"}],
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "resources": {
            "limits": {"memory": "512Mi"},
            "requests": {"cpu": "250m", "memory": "256Mi"},
        },
    }
    template_hash = {TEMPLATE_HASH: _podcluster_template_hash()}
    applied = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": template_hash,
            "labels": labels,
            "name": name,
            "namespace": SCALING_NAMESPACE,
        },
        "spec": {
            "containers": [container],
            "hostname": name,
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        },
    }
    env_from_cluster = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": _field_ref("metadata.name")}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": _field_ref("metadata.namespace")}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": _field_ref("status.podIP")}},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": _field_ref("spec.nodeName")}},
    ]
    token_volume = f"kube-api-access-{uid[:5]}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {
                **template_hash,
                "kubectl.kubernetes.io/default-container": "main",
                "metacontroller.k8s.io/last-applied-configuration": json.dumps(
                    applied, separators=(",", ":"), sort_keys=True
                ),
                "prometheus.io/port": "8080",
                "prometheus.io/scrape": "true",
            },
            "creationTimestamp": "2026-01-15T09:01:03Z",
            "labels": labels,
            "managedFields": _managed_fields(labels),
            "name": name,
            "namespace": SCALING_NAMESPACE,
            "ownerReferences": [
                {
                    "apiVersion": "kubehooks.dev/v1alpha1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "PodCluster",
                    "name": SCALING_PARENT,
                    "uid": parent_uid,
                }
            ],
            "resourceVersion": str(700000 + ordinal * 3),
            "uid": uid,
        },
        "spec": {
            "containers": [
                {
                    **container,
                    "env": [*container["env"], *env_from_cluster],
                    "imagePullPolicy": "IfNotPresent",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [
                        {
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "name": token_volume,
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "hostname": name,
            "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": f"node.kubernetes.io/{reason}",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                }
                for reason in ("not-ready", "unreachable")
            ],
            "volumes": [
                {
                    "name": token_volume,
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "expirationSeconds": 3607,
                                    "path": "token",
                                }
                            },
                            {
                                "configMap": {
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    "name": "kube-root-ca.crt",
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "fieldRef": _field_ref("metadata.namespace"),
                                            "path": "namespace",
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                }
            ],
        },
        "status": {
            "conditions": [
                _pod_condition(kind, "2026-01-15T09:01:1" + str(second))
                for kind, second in (
                    ("PodReadyToStartContainers", 2),
                    ("Initialized", 3),
                    ("Ready", 8),
                    ("ContainersReady", 8),
                    ("PodScheduled", 3),
                )
            ],
            "containerStatuses": [
                {
                    "containerID": f"containerd://{uuid.uuid5(_UIDS, name).hex * 2}",
                    "image": "registry.example/team/api-server:2.14.3",
                    "imageID": "registry.example/team/api-server@sha256:"
                    "9b2a7c1e5f3d4a6b8c0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c",
                    "lastState": {},
                    "name": "main",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": started}},
                }
            ],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": "Burstable",
            "startTime": "2026-01-15T09:01:03Z",
        },
    }


def _field_ref(path: str) -> dict[str, str]:
    return {"apiVersion": "v1", "fieldPath": path}


def _pod_condition(kind: str, when: str) -> dict[str, Any]:
    return {"lastProbeTime": None, "lastTransitionTime": when, "status": "True", "type": kind}


def _managed_fields(labels: dict[str, str]) -> list[dict[str, Any]]:
    """Return managedFields as an API server records them for our applier and the kubelet."""
    container_fields: dict[str, Any] = {
        "f:args": {},
        "f:command": {},
        "f:env": {'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}}},
        "f:image": {},
        "f:imagePullPolicy": {},
        "f:name": {},
        "f:ports": {
            'k:{"containerPort":8080,"protocol":"TCP"}': {
                ".": {},
                "f:containerPort": {},
                "f:name": {},
                "f:protocol": {},
            }
        },
        "f:resources": {"f:limits": {"f:memory": {}}, "f:requests": {"f:cpu": {}, "f:memory": {}}},
        "f:terminationMessagePath": {},
        "f:terminationMessagePolicy": {},
    }
    status_fields: dict[str, Any] = {
        "f:conditions": {
            f'k:{{"type":"{kind}"}}': {
                ".": {},
                "f:lastProbeTime": {},
                "f:lastTransitionTime": {},
                "f:status": {},
                "f:type": {},
            }
            for kind in ("ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready")
        },
        "f:containerStatuses": {},
        "f:hostIP": {},
        "f:hostIPs": {},
        "f:phase": {},
        "f:podIP": {},
        "f:podIPs": {'k:{"ip":"10.244.0.2"}': {".": {}, "f:ip": {}}},
        "f:startTime": {},
    }
    return [
        {
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {
                    "f:annotations": {
                        ".": {},
                        "f:metacontroller.k8s.io/last-applied-configuration": {},
                    },
                    "f:labels": {".": {}, **{f"f:{key}": {} for key in labels}},
                    "f:ownerReferences": {
                        ".": {},
                        'k:{"uid":"' + labels["controller-uid"] + '"}': {},
                    },
                },
                "f:spec": {
                    "f:containers": {'k:{"name":"main"}': {".": {}, **container_fields}},
                    "f:dnsPolicy": {},
                    "f:enableServiceLinks": {},
                    "f:hostname": {},
                    "f:restartPolicy": {},
                    "f:schedulerName": {},
                    "f:securityContext": {
                        ".": {},
                        "f:seccompProfile": {".": {}, "f:type": {}},
                    },
                    "f:terminationGracePeriodSeconds": {},
                },
            },
            "manager": "metacontroller",
            "operation": "Update",
            "time": "2026-01-15T09:01:03Z",
        },
        {
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:status": status_fields},
            "manager": "kubelet",
            "operation": "Update",
            "subresource": "status",
            "time": "2026-01-15T09:01:18Z",
        },
    ]


def podcluster_request(pods: int) -> bytes:
    """Return the compact JSON of a v2 sync request for a PodCluster observing `pods` Ready Pods."""
    parent = podcluster_parent(pods)
    children = {
        f"{SCALING_NAMESPACE}/{SCALING_PARENT}-{ordinal}": realistic_pod(ordinal)
        for ordinal in range(pods)
    }
    request = {
        "controller": {
            "apiVersion": "metacontroller.k8s.io/v1alpha1",
            "kind": "CompositeController",
            "metadata": {"name": "kubehooks-podcluster"},
        },
        "parent": parent,
        "children": {"Pod.v1": children},
        "related": {},
        "finalizing": False,
    }
    return orjson.dumps(request)


SCALING_NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
"""The moment scaling requests are answered at (the parent's conditions are older)."""
