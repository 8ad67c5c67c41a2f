"""Stand-ins for the parts of a cluster the test cluster does not run: the kubelet and the
kube-controller-manager's workload controllers.

The local cluster is an API server and etcd only, so no Deployment gets ReplicaSets, no Pod
runs and no Job starts. Between sync passes the harness tests call `settle()`, which writes by
hand, through the status subresource, the status those components would report once
everything they manage is healthy: a Deployment rolled out with every replica available, a
Pod Running and Ready, a Job with every worker active and ready (or suspended), an HPA that
moved its target into its bounds. Only what differs is written, so a settled world stays
still.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.cluster.kube import ApiError, Kube, KubeObject


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(type_: str, reason: str, message: str, *, deployment: bool = False) -> KubeObject:
    now = _now()
    condition = {"type": type_, "status": "True", "lastTransitionTime": now}
    if deployment:
        condition["lastUpdateTime"] = now
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def rolled_out_deployment(kube: Kube, deployment: KubeObject) -> KubeObject | None:
    """Return the status the Deployment controller reports once a rollout has finished,
    or None when the Deployment already reports it."""
    replicas = (deployment.get("spec") or {}).get("replicas", 1)
    generation = deployment["metadata"].get("generation", 1)
    current = deployment.get("status") or {}
    counts = {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
    }
    if all(current.get(key, 0) == value for key, value in counts.items()):
        return None
    name = deployment["metadata"]["name"]
    return {
        **counts,
        "conditions": [
            _condition(
                "Available",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                deployment=True,
            ),
            _condition(
                "Progressing",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{name}" has successfully progressed.',
                deployment=True,
            ),
        ],
    }


def running_pod(kube: Kube, pod: KubeObject) -> KubeObject | None:
    """Return the status the kubelet reports for a Pod whose containers all run and are
    ready, or None when the Pod already reports Ready (or is being deleted)."""
    if pod["metadata"].get("deletionTimestamp"):
        return None
    current = pod.get("status") or {}
    ready = [c for c in current.get("conditions") or [] if c.get("type") == "Ready"]
    if current.get("phase") == "Running" and ready and ready[0].get("status") == "True":
        return None
    return {
        "phase": "Running",
        "startTime": _now(),
        "conditions": [
            _condition(type_, "", "")
            for type_ in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ],
    }


def running_job(kube: Kube, job: KubeObject) -> KubeObject | None:
    """Return the status the Job controller reports while every worker Pod runs and is ready
    (or, for a suspended Job, once its Pods are gone), or None when it already reports it.

    Jobs never finish here: completing one is a scenario's own business.
    """
    spec = job.get("spec") or {}
    current = job.get("status") or {}
    if any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in current.get("conditions") or []
    ):
        return None
    if spec.get("suspend"):
        suspended = [c for c in current.get("conditions") or [] if c.get("type") == "Suspended"]
        if suspended and suspended[0].get("status") == "True" and not current.get("active"):
            return None
        condition = _condition("Suspended", "JobSuspended", "Job suspended")
        condition["lastProbeTime"] = condition["lastTransitionTime"]
        return {"active": 0, "ready": 0, "conditions": [condition]}
    workers = spec.get("parallelism", 1)
    if current.get("active") == workers and current.get("ready") == workers:
        return None
    resumed = [
        {**c, "status": "False", "reason": "JobResumed", "message": "Job resumed"}
        for c in current.get("conditions") or []
        if c.get("type") == "Suspended"
    ]
    status: KubeObject = {"startTime": _now(), "active": workers, "ready": workers}
    if resumed:
        status["conditions"] = resumed
    return status


def scaling_autoscaler(kube: Kube, hpa: KubeObject) -> KubeObject | None:
    """Do what the HPA controller does with no metrics to go by: move the target's replicas
    into [minReplicas, maxReplicas] through its scale subresource, then report them (or None
    when the HPA already reports that). A missing target is left to the scenario."""
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    namespace = hpa["metadata"]["namespace"]
    try:
        target = kube.resource(ref.get("apiVersion", ""), kind=ref.get("kind"))
    except LookupError:
        return None
    path = target.path(namespace, str(ref.get("name")), "scale")
    try:
        scale = kube.call("GET", path)
    except ApiError as err:
        if err.status == 404:
            return None
        raise
    low, high = spec.get("minReplicas", 1), spec["maxReplicas"]
    replicas = min(max(scale["spec"].get("replicas", 0), low), high)
    if scale["spec"].get("replicas") != replicas:
        scale["spec"]["replicas"] = replicas
        kube.call("PUT", path, body=scale)
    current = hpa.get("status") or {}
    if current.get("currentReplicas") == replicas and current.get("desiredReplicas") == replicas:
        return None
    return {
        "currentReplicas": replicas,
        "desiredReplicas": replicas,
        "conditions": [
            _condition("AbleToScale", "ReadyForNewScale", "recommended size matches current size"),
            _condition("ScalingActive", "ValidMetricFound", "the HPA was able to compute a size"),
        ],
    }


SETTLERS: dict[tuple[str, str], Callable[[Kube, KubeObject], KubeObject | None]] = {
    ("apps/v1", "Deployment"): rolled_out_deployment,
    ("v1", "Pod"): running_pod,
    ("batch/v1", "Job"): running_job,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): scaling_autoscaler,
}
"""(apiVersion, kind) -> the healthy status of an object of that type, if it must change."""


def settle(kube: Kube, namespace: str) -> list[str]:
    """Write the healthy status of every Deployment, Pod, Job and HPA of a namespace; return
    what changed."""
    written = []
    for (api_version, kind), settler in SETTLERS.items():
        resource = kube.resource(api_version, kind=kind)
        for obj in kube.list(resource, namespace):
            status = settler(kube, obj)
            if status is None:
                continue
            obj["status"] = status
            try:
                kube.update(obj, sub="status")
            except ApiError as err:
                if err.status in (404, 409):
                    continue  # deleted or changed meanwhile; the next settle sees it
                raise
            written.append(f"{kind} {obj['metadata']['name']}")
    return written


def settler(namespace: str) -> Callable[[Kube], Any]:
    """Return a `before` callback for `Metacontroller.sync_until_stable`."""
    return lambda kube: settle(kube, namespace)


def job_succeeds(name: str) -> Callable[[Kube, str], None]:
    """Return a step action: the Job `name` finishes successfully (its one Pod succeeded)."""

    def act(kube: Kube, namespace: str) -> None:
        resource = kube.resource("batch/v1", kind="Job")
        job = kube.get(resource, namespace, name)
        now = _now()
        completions = (job.get("spec") or {}).get("completions", 1)
        conditions = [
            {**_condition(type_, "CompletionsReached", "Reached expected number of succeeded pods")}
            for type_ in ("SuccessCriteriaMet", "Complete")
        ]
        for condition in conditions:
            condition["lastProbeTime"] = condition["lastTransitionTime"]
        job["status"] = {
            "startTime": (job.get("status") or {}).get("startTime") or now,
            "completionTime": now,
            "succeeded": completions,
            "active": 0,
            "ready": 0,
            "conditions": conditions,
        }
        kube.update(job, sub="status")

    return act


def deployment_exists(name: str, replicas: int = 1) -> Callable[[Kube, str], None]:
    """Return a step action: someone else's Deployment `name` exists (a scale target)."""

    def act(kube: Kube, namespace: str) -> None:
        labels = {"app": name}
        kube.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
                    },
                },
            }
        )

    return act


# -- the namespace controller -------------------------------------------------------------------


def namespace_controller_pass(kube: Kube, name: str) -> bool:
    """One pass of kube-controller-manager's namespace controller over a namespace being
    deleted; return True once the namespace is gone.

    Follows kubernetes v1.37.2 pkg/controller/namespace/deletion/namespaced_resources_deleter.go:
    `Delete` (only a namespace with a deletionTimestamp and a `kubernetes` finalizer is
    worked on), `deleteAllContent` (Pods first, and nothing else while any Pod is left; then
    every other namespaced resource discovery lists with the `delete` verb, at its group's
    preferred version), `deleteCollection` (background propagation, so the garbage collector
    adds no orphan finalizer; one delete per item where deletecollection is not served) and
    `finalizeNamespace` (the `kubernetes` finalizer removed through `/finalize` only when
    nothing is left). Objects held by a finalizer, such as a parent with Metacontroller's,
    keep the namespace Terminating until their finalizer goes. The namespace's status
    conditions are not written.
    """
    namespaces = kube.resource("v1", kind="Namespace")
    namespace = kube.get_or_none(namespaces, None, name)
    if namespace is None:
        return True
    if not namespace["metadata"].get("deletionTimestamp"):
        return False
    if "kubernetes" not in ((namespace.get("spec") or {}).get("finalizers") or []):
        return False
    resources = [
        (r, verbs) for r, verbs in kube.preferred_namespaced_resources() if "delete" in verbs
    ]
    pods = [(r, verbs) for r, verbs in resources if r.api_version == "v1" and r.name == "pods"]
    others = [(r, verbs) for r, verbs in resources if (r, verbs) not in pods]
    if _delete_all(kube, pods, name):
        return False  # Pods still there: nothing else is deleted yet
    if _delete_all(kube, others, name):
        return False
    namespace["spec"]["finalizers"] = [
        f for f in namespace["spec"]["finalizers"] if f != "kubernetes"
    ]
    try:
        kube.call("PUT", namespaces.path(None, name, "finalize"), body=namespace)
    except ApiError as err:
        if err.status != 404:
            raise
    return kube.get_or_none(namespaces, None, name) is None


def _delete_all(kube: Kube, resources: list[tuple[Any, frozenset[str]]], namespace: str) -> int:
    """`deleteAllContentForGroupVersionResource` for each type; return how many objects are
    left (those whose finalizers hold them)."""
    left = 0
    for resource, verbs in resources:
        if "deletecollection" in verbs:
            kube.delete_collection(resource, namespace)
        elif "list" in verbs:
            for obj in kube.list(resource, namespace):
                try:
                    kube.delete(resource, namespace, obj["metadata"]["name"])
                except ApiError as err:
                    if err.status != 404:
                        raise
        if "list" in verbs:
            left += len(kube.list(resource, namespace))
    return left
