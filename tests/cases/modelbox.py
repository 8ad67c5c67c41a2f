"""Golden cases of the modelbox controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cases.common import (
    Case,
    condition,
    deployment_status,
    finalize_cases,
    observed_workload,
    parent,
    request,
)

C = "modelbox"
NAME = "modelbox-sample"
EXAMPLE = Path(__file__).parents[2] / "examples" / "modelbox.yaml"
SMALL: dict[str, Any] = {"image": "ghcr.io/example/model-server:2.1", "ports": [{"port": 8080}]}
BUSYBOX = "busybox:1.36"
SIDECARS: dict[str, Any] = {
    **SMALL,
    "name": "server",
    "envs": [{"name": "MODEL_PATH", "value": "/models/default"}],
    "initContainers": [
        {
            "name": "init-container",
            "image": BUSYBOX,
            "command": ["/bin/sh", "-c", "sleep 60 && touch /tmp/done"],
        }
    ],
    "containers": [
        {
            "name": "db-container",
            "image": BUSYBOX,
            "command": ["/bin/sh", "-c", "sleep 86400"],
            "env": [{"name": "DB_PORT", "value": "5432"}],
            "ports": [{"containerPort": 5432, "name": "db"}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }
    ],
}


def seed_spec() -> dict[str, Any]:
    """Return the notes' sample exactly as examples/modelbox.yaml holds it."""
    return dict(yaml.safe_load(EXAMPLE.read_text())["spec"])


def _observed(
    spec: dict[str, Any],
    *,
    deployment: dict[str, Any] | None = None,
    kinds: tuple[str, ...] = ("Deployment", "Service"),
) -> list[Any]:
    """Return the children as applied for `spec` at generation 1; every replica available."""
    return observed_workload(C, parent(C, NAME, spec), deployment=deployment, kinds=kinds)


def _sync(
    name: str,
    description: str,
    spec: dict[str, Any],
    observed: list[Any],
    *,
    generation: int = 1,
    config: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> Case:
    owner = parent(C, NAME, spec, generation=generation, status=status)
    return Case(C, name, description, request(C, owner, observed), config=config or {})


def _with_sidecar_context(context: dict[str, Any], *, init: bool = False) -> dict[str, Any]:
    key = "initContainers" if init else "containers"
    extra = [{**item, "securityContext": context} for item in SIDECARS[key]]
    return {**SIDECARS, key: extra}


def _sizes() -> list[Case]:
    return [
        _sync(
            f"size-{size}",
            f"size {size}: the main container gets the {size} preset, echoed in status.resources.",
            {**SMALL, "size": size},
            [],
        )
        for size in ("small", "medium", "large")
    ]


def _invalid(steady: list[Any]) -> list[Case]:
    bad_specs = {
        "invalid-percentage-keeps-children": (
            "rollingUpdate 130% is out of range: InvalidSpec, observed children kept as applied.",
            {**seed_spec(), "rollingUpdate": "130%"},
        ),
        "custom-without-resources-keeps-children": (
            "size custom without resources: InvalidSpec, children kept.",
            {**seed_spec(), "size": "custom"},
        ),
        "custom-limits-below-requests-keeps-children": (
            "size custom with a cpu limit below its request: InvalidSpec, children kept.",
            {
                **seed_spec(),
                "size": "custom",
                "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}},
            },
        ),
        "preset-with-resources-keeps-children": (
            "size medium together with resources is ambiguous: InvalidSpec, children kept.",
            {**seed_spec(), "size": "medium", "resources": {"limits": {"memory": "1Gi"}}},
        ),
        "nodeport-out-of-range-keeps-children": (
            "nodePort 80 is outside 30000-32767: InvalidSpec, children kept.",
            {**seed_spec(), "ports": [{"port": 80, "targetPort": 80, "nodePort": 80}]},
        ),
        "nodeport-with-clusterip-keeps-children": (
            "serviceType ClusterIP with a nodePort contradicts itself: InvalidSpec, children kept.",
            {**seed_spec(), "serviceType": "ClusterIP"},
        ),
    }
    return [
        _sync(name, description, spec, steady, generation=2)
        for name, (description, spec) in bad_specs.items()
    ]


def _policy(steady: list[Any]) -> list[Case]:
    privileged = _with_sidecar_context({"privileged": True})
    return [
        _sync(
            "policy-privileged-sidecar-keeps-children",
            "A privileged sidecar breaks the security policy: Ready=False PolicyViolation naming "
            "the rule, observed children kept.",
            privileged,
            steady,
            generation=2,
            status={"conditions": [condition("Ready", "True", "AllReplicasAvailable")]},
        ),
        _sync(
            "policy-sys-admin-init-container-keeps-children",
            "An init container adding SYS_ADMIN breaks the capabilities rule: children kept.",
            _with_sidecar_context({"capabilities": {"add": ["SYS_ADMIN"]}}, init=True),
            steady,
            generation=2,
        ),
        _sync(
            "policy-privileged-allowed-by-config",
            "The server's policy allows privileged containers: the sidecar is created.",
            privileged,
            [],
            config={"policy": {"allowPrivileged": True}},
        ),
    ]


def _status(seed: dict[str, Any]) -> list[Case]:
    return [
        _sync(
            "status-progressing",
            "A rollout is under way: 2/4 updated, Progressing=True, Ready=False RollingOut.",
            seed,
            _observed(
                seed, deployment=deployment_status(5, 3, progressing="ReplicaSetUpdated", updated=2)
            ),
        ),
        _sync(
            "status-failed",
            "The rollout exceeded its progress deadline: Ready=False RolloutFailed.",
            seed,
            _observed(
                seed,
                deployment=deployment_status(
                    4, 3, progressing="ProgressDeadlineExceeded", updated=1
                ),
            ),
        ),
    ]


def cases() -> list[Case]:
    """Return every modelbox case."""
    seed = seed_spec()
    steady = _observed(seed)
    return [
        _sync(
            "fresh-parent",
            "The notes' sample: NodePort Service on 30010, 4 replicas, maxUnavailable 30%, size "
            "small by default, TCP probes on port 80.",
            seed,
            [],
        ),
        _sync(
            "steady-state",
            "Deployment available and Service present: same children, Ready=True.",
            seed,
            steady,
        ),
        Case(
            C,
            "v1-keys",
            "Steady state sent by a v1 hook (children keyed by name): same answer.",
            request(C, parent(C, NAME, seed), steady, version="v1"),
        ),
        *_sizes(),
        _sync(
            "size-custom",
            "size custom: the spec's own requests and limits (with a GPU), echoed in status.",
            {
                **SMALL,
                "size": "custom",
                "resources": {
                    "requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": 1},
                    "limits": {"memory": "8Gi", "nvidia.com/gpu": 1},
                },
            },
            [],
        ),
        _sync(
            "service-clusterip-named-ports",
            "Two named ports, one with a named targetPort; no nodePort, so a ClusterIP Service.",
            {
                **SMALL,
                "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080},
                    {"name": "grpc", "port": 9000, "targetPort": "grpc"},
                ],
            },
            [],
        ),
        _sync(
            "service-nodeport-explicit",
            "serviceType NodePort without a nodePort: Kubernetes assigns one.",
            {**SMALL, "serviceType": "NodePort"},
            [],
        ),
        _sync(
            "sidecars-and-init-containers",
            "The notes' init-container and db-container are added to the Pod.",
            SIDECARS,
            [],
        ),
        _sync(
            "probes-overridden",
            "Both probes replaced: HTTP liveness with its own timing, exec readiness.",
            {
                **SMALL,
                "probes": {
                    "liveness": {
                        "httpGet": {"path": "/v1/health/live", "port": 8080},
                        "initialDelaySeconds": 120,
                        "periodSeconds": 30,
                    },
                    "readiness": {"exec": {"command": ["cat", "/tmp/model-loaded"]}},
                },
            },
            [],
        ),
        _sync(
            "probes-off",
            "Both default probes switched off.",
            {**SMALL, "probes": {"disable": ["liveness", "readiness"]}},
            [],
        ),
        _sync(
            "zero-percent-rollout",
            "rollingUpdate 0%: maxUnavailable 0%, maxSurge 25%, so capacity never drops.",
            {**seed, "rollingUpdate": "0%"},
            [],
        ),
        _sync(
            "deleted-service-comes-back",
            "The Service was deleted: it is asked for again and Ready=False until it exists.",
            seed,
            _observed(seed, kinds=("Deployment",)),
        ),
        _sync(
            "image-change",
            "spec.image changes (generation 2): the Deployment carries the new image; Ready=False "
            "until the Deployment has taken generation 2.",
            {**seed, "image": "nginx:1.27"},
            steady,
            generation=2,
            status={"conditions": [condition("Ready", "True", "AllReplicasAvailable")]},
        ),
        *_status(seed),
        *_invalid(steady),
        *_policy(steady),
        *finalize_cases(C, parent(C, NAME, seed, deleting=True), steady),
    ]
