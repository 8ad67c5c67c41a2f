"""Pod-bearing children: containers, probes, Pods, Deployments and Jobs.

Builders return fresh JSON-ready dicts holding only the fields we own; Metacontroller merges
them with apply semantics, so anything the API server defaults stays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hooks.api.common import EnvVar, ExtraContainer, Probe, Probes
from hooks.builders.meta import EchoedChild, as_desired
from hooks.contract import KubeObject

ProbeSettings = dict[str, int]

DEFAULT_PROBE_TIMING: ProbeSettings = {
    "initialDelaySeconds": 5,
    "periodSeconds": 10,
    "timeoutSeconds": 2,
    "failureThreshold": 3,
}
"""Starts checking soon but tolerates 30 s of failures before acting; suits most web servers."""

DEFAULT_LIVENESS_TIMING: ProbeSettings = {
    "initialDelaySeconds": 15,
    "periodSeconds": 20,
    "timeoutSeconds": 2,
    "failureThreshold": 3,
}
"""Slower than readiness on purpose: a restart costs more than a pause in traffic, so a slow
starter gets 15 s + 3 x 20 s before it is restarted; readiness keeps traffic away meanwhile."""


def container(
    name: str,
    image: str,
    *,
    command: Sequence[str] | None = None,
    args: Sequence[str] | None = None,
    env: Sequence[KubeObject] | None = None,
    ports: Sequence[KubeObject] | None = None,
    resources: KubeObject | None = None,
    liveness_probe: KubeObject | None = None,
    readiness_probe: KubeObject | None = None,
    security_context: KubeObject | None = None,
    volume_mounts: Sequence[KubeObject] | None = None,
    image_pull_policy: str | None = None,
) -> KubeObject:
    """Build a core/v1 Container; empty optional parts are left out rather than sent empty."""
    out: KubeObject = {"name": name, "image": image}
    optional: dict[str, Any] = {
        "imagePullPolicy": image_pull_policy,
        "command": list(command) if command else None,
        "args": list(args) if args else None,
        "env": list(env) if env else None,
        "ports": list(ports) if ports else None,
        "resources": resources or None,
        "livenessProbe": liveness_probe,
        "readinessProbe": readiness_probe,
        "securityContext": security_context or None,
        "volumeMounts": list(volume_mounts) if volume_mounts else None,
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    return out


def container_port(port: int, *, name: str | None = None, protocol: str = "TCP") -> KubeObject:
    """Build a ContainerPort."""
    out: KubeObject = {"containerPort": port, "protocol": protocol}
    if name:
        out["name"] = name
    return out


def tcp_probe(port: int | str, timing: ProbeSettings | None = None) -> KubeObject:
    """Build a TCP socket probe with the given (or default) timing."""
    return {"tcpSocket": {"port": port}, **(timing or DEFAULT_PROBE_TIMING)}


def http_probe(path: str, port: int | str, timing: ProbeSettings | None = None) -> KubeObject:
    """Build an HTTP GET probe with the given (or default) timing."""
    return {"httpGet": {"path": path, "port": port}, **(timing or DEFAULT_PROBE_TIMING)}


_DEFAULT_PROBES = Probes()
"""No probe overridden or disabled (models are frozen, so one instance serves every call)."""


def main_probes(
    port: int | None, probes: Probes | None
) -> tuple[KubeObject | None, KubeObject | None]:
    """Return the (liveness, readiness) probes of a workload's main container.

    By default both are TCP checks on its first port (none when it has no port). A probe given
    in `probes` replaces the default whole, timing included; a disabled one is left out.
    """
    chosen = probes or _DEFAULT_PROBES
    disabled = set(chosen.disable or ())
    liveness = _probe(port, chosen.liveness, DEFAULT_LIVENESS_TIMING, "liveness" in disabled)
    readiness = _probe(port, chosen.readiness, DEFAULT_PROBE_TIMING, "readiness" in disabled)
    return liveness, readiness


def _probe(
    port: int | None, given: Probe | None, timing: ProbeSettings, disabled: bool
) -> KubeObject | None:
    if disabled:
        return None
    if given is not None:
        return given.to_wire()
    return None if port is None else tcp_probe(port, timing)


def main_container(
    name: str,
    image: str,
    *,
    ports: Sequence[KubeObject],
    probes: Probes | None,
    env: Sequence[EnvVar] | None = None,
    resources: KubeObject | None = None,
    command: Sequence[str] | None = None,
    args: Sequence[str] | None = None,
) -> KubeObject:
    """Build the container a workload is about, with default probes on its first port.

    Environment variables keep the user's order: `$(VAR)` references only see earlier ones.
    """
    first_port = ports[0]["containerPort"] if ports else None
    liveness, readiness = main_probes(first_port, probes)
    return container(
        name,
        image,
        command=command,
        args=args,
        env=[item.to_wire() for item in env or []],
        ports=ports,
        resources=resources,
        liveness_probe=liveness,
        readiness_probe=readiness,
    )


def extra_container(spec: ExtraContainer) -> KubeObject:
    """Build a user's sidecar or init container; its securityContext is judged by the policy."""
    return container(
        spec.name,
        spec.image,
        command=spec.command,
        args=spec.args,
        env=[item.to_wire() for item in spec.env or []],
        ports=[item.to_wire() for item in spec.ports or []],
        resources=spec.resources.to_wire() if spec.resources else None,
        security_context=spec.security_context.to_wire() if spec.security_context else None,
    )


def resources(
    requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> KubeObject:
    """Build ResourceRequirements, leaving out empty halves."""
    out: KubeObject = {}
    if limits:
        out["limits"] = dict(sorted(limits.items()))
    if requests:
        out["requests"] = dict(sorted(requests.items()))
    return out


def pod_spec(
    containers: Sequence[KubeObject],
    *,
    init_containers: Sequence[KubeObject] | None = None,
    restart_policy: str | None = None,
    subdomain: str | None = None,
    hostname: str | None = None,
) -> KubeObject:
    """Build a PodSpec; the pod-level seccomp default is safe for virtually every image."""
    spec: KubeObject = {
        "containers": list(containers),
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
    }
    if init_containers:
        spec["initContainers"] = list(init_containers)
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if subdomain:
        spec["subdomain"] = subdomain
    if hostname:
        spec["hostname"] = hostname
    return spec


def pod_template(labels: dict[str, str], spec: KubeObject) -> KubeObject:
    """Build a PodTemplateSpec."""
    return {"metadata": {"labels": dict(sorted(labels.items()))}, "spec": spec}


def pod(meta: KubeObject, spec: KubeObject) -> KubeObject:
    """Build a core/v1 Pod."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def rolling_update(max_surge: int | str, max_unavailable: int | str) -> KubeObject:
    """Build a RollingUpdate Deployment strategy."""
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable},
    }


def deployment(
    meta: KubeObject,
    *,
    selector: dict[str, str],
    template: KubeObject,
    replicas: int | None,
    strategy: KubeObject | None = None,
    min_ready_seconds: int | None = None,
) -> KubeObject:
    """Build an apps/v1 Deployment.

    `replicas` None leaves the field to whoever scales the Deployment (an HPA, for example).
    """
    spec: KubeObject = {"selector": {"matchLabels": dict(sorted(selector.items()))}}
    if replicas is not None:
        spec["replicas"] = replicas
    if strategy is not None:
        spec["strategy"] = strategy
    if min_ready_seconds is not None:
        spec["minReadySeconds"] = min_ready_seconds
    spec["template"] = template
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def job(
    meta: KubeObject,
    *,
    template: KubeObject,
    backoff_limit: int | None = None,
    completions: int | None = None,
    parallelism: int | None = None,
    completion_mode: str | None = None,
    active_deadline_seconds: int | None = None,
    ttl_seconds_after_finished: int | None = None,
    suspend: bool | None = None,
) -> KubeObject:
    """Build a batch/v1 Job; its pod template must set restartPolicy Never or OnFailure."""
    optional: dict[str, Any] = {
        "backoffLimit": backoff_limit,
        "completions": completions,
        "parallelism": parallelism,
        "completionMode": completion_mode,
        "activeDeadlineSeconds": active_deadline_seconds,
        "ttlSecondsAfterFinished": ttl_seconds_after_finished,
        "suspend": suspend,
    }
    spec: KubeObject = {key: value for key, value in optional.items() if value is not None}
    spec["template"] = template
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def job_as_applied(observed: KubeObject, *, suspend: bool | None = None) -> EchoedChild:
    """Return an observed Job as it was last applied, with only its mutable `suspend` changed.

    A Job's pod template, selector, completions and completion mode are immutable: answering a
    Job rebuilt from a spec that has changed since would make every InPlace update fail with 422.
    So once a Job exists it is answered as applied (see `meta.as_desired`), which makes
    Metacontroller's three-way merge a no-op, and only `suspend` follows the parent's spec.
    """
    applied = as_desired(observed)
    if suspend is None:
        return applied
    return applied.changing_spec(suspend=suspend)


def pod_specs_of(child: KubeObject) -> list[KubeObject]:
    """Return the PodSpecs a child would create: its own (Pod) or its template's."""
    kind = child.get("kind")
    spec = child.get("spec") or {}
    if kind == "Pod":
        return [spec]
    template_spec = (spec.get("template") or {}).get("spec")
    if kind in {"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"} and template_spec:
        return [template_spec]
    if kind == "CronJob":
        job_template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return [job_template.get("spec") or {}]
    return []
