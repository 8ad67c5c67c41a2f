"""Golden cases of the application controller."""

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

C = "application"
NAME = "application-sample"
EXAMPLE = Path(__file__).parents[2] / "examples" / "application.yaml"
DEFAULTS: dict[str, Any] = {"image": "nginxinc/nginx-unprivileged:1.27"}
TLS: dict[str, Any] = {
    **DEFAULTS,
    "replicas": 2,
    "ingress": {
        "enabled": True,
        "host": "shop.example.com",
        "path": "/app",
        "tls": {"secretName": "shop-example-com-tls"},
        "annotations": {"nginx.ingress.kubernetes.io/ssl-redirect": "true"},
    },
}
SHOP = {"app.kubernetes.io/part-of": "shop"}


def _example_spec() -> dict[str, Any]:
    return dict(yaml.safe_load(EXAMPLE.read_text())["spec"])


def _observed(
    spec: dict[str, Any],
    *,
    deployment: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    kinds: tuple[str, ...] = ("Deployment", "Service", "Ingress"),
) -> list[Any]:
    """Return the children as applied for `spec` at generation 1, with realistic status."""
    owner = parent(C, NAME, spec, labels=labels)
    return observed_workload(C, owner, deployment=deployment, kinds=kinds)


def _sync(
    name: str,
    description: str,
    spec: dict[str, Any],
    observed: list[Any],
    *,
    generation: int = 1,
    labels: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
    parent_name: str = NAME,
) -> Case:
    owner = parent(C, parent_name, spec, generation=generation, labels=labels, status=status)
    return Case(C, name, description, request(C, owner, observed))


def cases() -> list[Case]:
    """Return every application case."""
    steady = _observed(DEFAULTS)
    three = {**DEFAULTS, "replicas": 3}
    return [
        _sync(
            "fresh-parent",
            "Only an image: Deployment (1 replica, port 8080, TCP probes) and ClusterIP Service.",
            DEFAULTS,
            [],
        ),
        _sync(
            "example-fresh",
            "examples/application.yaml, nothing observed: Deployment, Service and Ingress.",
            _example_spec(),
            [],
        ),
        _sync(
            "steady-state",
            "Deployment available and Service present: same children, Ready=True.",
            DEFAULTS,
            steady,
        ),
        Case(
            C,
            "v1-keys",
            "Steady state sent by a v1 hook (children keyed by name): same answer.",
            request(C, parent(C, NAME, DEFAULTS), steady, version="v1"),
        ),
        _sync(
            "ingress-tls-url",
            "Ingress with host, path, TLS and annotations observed: status.url is https.",
            TLS,
            _observed(TLS, labels=SHOP),
            labels=SHOP,
        ),
        _sync(
            "ingress-missing",
            "Ingress enabled but not observed (deleted): it is asked for again, Ready=False.",
            TLS,
            _observed(TLS, kinds=("Deployment", "Service")),
        ),
        _sync(
            "ingress-disabled",
            "ingress.enabled turned off: the Ingress is no longer asked for, no url.",
            {**TLS, "ingress": {**TLS["ingress"], "enabled": False}},
            _observed(TLS),
            generation=2,
        ),
        _sync(
            "service-nodeport",
            "Service type NodePort on port 80 with a fixed nodePort.",
            {**DEFAULTS, "service": {"type": "NodePort", "port": 80, "nodePort": 30080}},
            [],
        ),
        _sync(
            "service-loadbalancer",
            "Service type LoadBalancer; its port defaults to the container port.",
            {**DEFAULTS, "port": 9000, "service": {"type": "LoadBalancer"}},
            [],
        ),
        _sync(
            "probes-overridden-and-off",
            "An HTTP readiness probe replaces the default; the liveness probe is switched off.",
            {
                **DEFAULTS,
                "probes": {
                    "readiness": {"httpGet": {"path": "/healthz", "port": 8080}},
                    "disable": ["liveness"],
                },
            },
            [],
        ),
        _sync(
            "image-change",
            "spec.image changes (generation 2): the Deployment carries the new image; Ready=False "
            "until the Deployment has taken generation 2.",
            {**DEFAULTS, "image": "nginxinc/nginx-unprivileged:1.28"},
            steady,
            generation=2,
            status={"conditions": [condition("Ready", "True", "AllReplicasAvailable")]},
        ),
        _sync(
            "scale-up",
            "replicas 1 -> 3 (as kubectl scale does through the scale subresource).",
            three,
            steady,
            generation=2,
        ),
        _sync(
            "status-deployment-pending",
            "The Deployment exists but its controller has not written status yet: Unknown.",
            three,
            _observed(three, deployment={}),
        ),
        _sync(
            "status-progressing",
            "A rollout is under way: 2/3 updated, Progressing=True ReplicaSetUpdated.",
            three,
            _observed(
                three,
                deployment=deployment_status(3, 2, progressing="ReplicaSetUpdated", updated=2),
            ),
        ),
        _sync(
            "status-unavailable",
            "Rollout done but one replica is not available: Ready=False ReplicasUnavailable.",
            three,
            _observed(
                three,
                deployment=deployment_status(3, 2, progressing="NewReplicaSetAvailable", updated=3),
            ),
        ),
        _sync(
            "status-failed",
            "The rollout exceeded its progress deadline: Progressing=False, Ready=False.",
            three,
            _observed(
                three,
                deployment=deployment_status(
                    3, 2, progressing="ProgressDeadlineExceeded", updated=1
                ),
            ),
        ),
        _sync(
            "invalid-limits-keeps-children",
            "A memory limit below its request: InvalidSpec, observed children kept as applied.",
            {
                **DEFAULTS,
                "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}},
            },
            steady,
            generation=2,
        ),
        _sync(
            "invalid-service-type-keeps-children",
            "service.type ExternalName is not offered: InvalidSpec, children kept.",
            {**DEFAULTS, "service": {"type": "ExternalName"}},
            steady,
            generation=2,
        ),
        _sync(
            "invalid-name",
            "A parent named 1st-app cannot name a Service: InvalidName, nothing created.",
            DEFAULTS,
            [],
            parent_name="1st-app",
        ),
        *finalize_cases(C, parent(C, NAME, DEFAULTS, deleting=True), steady),
    ]
