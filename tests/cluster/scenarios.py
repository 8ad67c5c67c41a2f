"""The table of harness scenarios: one entry per controller, driven by test_sync_loop.py.

Each scenario creates the controller's example parent (examples/<file>), syncs it through the
TEST HARNESS (tests/cluster/harness.py, playing Metacontroller) until nothing changes, then
applies each step's merge patch to the parent and syncs again, checking the children and the
status after each step; the test always ends by deleting the parent (finalize, children gone,
finalizer removed, parent gone). Generic checks run after every step (see test_sync_loop.py).

To add a controller, add an entry to SCENARIOS: its example, a create step, a scale step, a
spec change, and an `invalid=` step whose spec the controller refuses (children must survive,
Ready=False with that reason). When the CRD itself refuses the bad spec, set `relax_crd=True`:
the patch is then stored while the CRD's spec schema is relaxed, as for a parent stored before
the schema was tightened, which is how such a spec reaches a hook in a real cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.cluster.kube import Kube, KubeObject
from tests.cluster.world import deployment_exists, job_succeeds


@dataclass
class View:
    """What a step's expectation looks at: the live parent and its owned children."""

    parent: KubeObject
    children: dict[str, KubeObject]
    """`Kind name` -> the live child."""

    @property
    def status(self) -> KubeObject:
        return dict(self.parent.get("status") or {})

    def condition(self, type_: str) -> KubeObject:
        for item in self.status.get("conditions") or []:
            if item.get("type") == type_:
                return dict(item)
        raise AssertionError(f"no {type_} condition in {self.status}")

    def child(self, kind: str, name: str) -> KubeObject:
        found = self.children.get(f"{kind} {name}")
        assert found is not None, f"no {kind} {name}; children: {sorted(self.children)}"
        return found

    def names(self, kind: str) -> list[str]:
        return sorted(key.split(" ", 1)[1] for key in self.children if key.split(" ")[0] == kind)


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path (`spec.template.spec.containers.0.image`) through dicts and lists."""
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


Expectation = Callable[[View], None]


def nothing(view: View) -> None:
    """No expectation beyond the generic checks."""


@dataclass(frozen=True)
class Step:
    """One change to the parent, then what the world must look like once synced."""

    name: str
    patch: KubeObject | None = None
    """JSON merge patch of the parent (ignored by the first step, which creates it)."""
    expect: Expectation = nothing
    ready: bool = True
    """The Ready condition once the world has settled."""
    invalid: str | None = None
    """The spec is refused with this Ready reason: every child must survive unchanged."""
    relax_crd: bool = False
    """The CRD refuses this spec: store it with the CRD's spec schema relaxed."""
    act: Callable[[Kube, str], None] | None = None
    """Something the world does before the step's syncs, such as a Job succeeding
    (`act(kube, namespace)`; tests/cluster/world.py has some)."""


@dataclass(frozen=True)
class Scenario:
    controller: str
    example: str
    """A file in examples/; its first object of the controller's kind is the parent."""
    steps: tuple[Step, ...]
    parent_patch: KubeObject | None = None
    """A merge patch applied to the example before it is created."""
    settle: bool = True
    """Play the kubelet's and controller-manager's part between passes (tests/cluster/world.py)."""

    @property
    def namespace(self) -> str:
        return f"harness-{self.controller}"


# -- foo ----------------------------------------------------------------------------------------


def foo_deployment(replicas: int, image: str) -> Expectation:
    def expect(view: View) -> None:
        name = view.parent["spec"]["deploymentName"]
        assert view.names("Deployment") == [name]
        deployment = view.child("Deployment", name)
        assert dig(deployment, "spec.replicas") == replicas
        assert dig(deployment, "spec.template.spec.containers.0.image") == image
        assert view.status["availableReplicas"] == replicas
        assert view.status["replicas"] == replicas

    return expect


FOO = Scenario(
    controller="foo",
    example="foo.yaml",
    steps=(
        Step("create", expect=foo_deployment(1, "nginx")),
        Step("scale", {"spec": {"replicas": 3}}, expect=foo_deployment(3, "nginx")),
        Step("change image", {"spec": {"image": "nginx:1.27"}}, foo_deployment(3, "nginx:1.27")),
        Step(
            "bad spec",
            {"spec": {"replicas": 11}},
            ready=False,
            invalid="InvalidSpec",
            relax_crd=True,
        ),
        Step(
            "name conflict: deploymentName of someone else's Deployment",
            {"spec": {"replicas": 3, "deploymentName": "taken"}},
            ready=False,
            invalid="ResourceExists",
            act=deployment_exists("taken"),
        ),
    ),
)


# -- podcluster ---------------------------------------------------------------------------------


def podcluster_pods(count: int, image: str) -> Expectation:
    def expect(view: View) -> None:
        name = view.parent["metadata"]["name"]
        assert view.names("Pod") == sorted(f"{name}-{i}" for i in range(count))
        for pod in view.names("Pod"):
            assert dig(view.child("Pod", pod), "spec.containers.0.image") == image
        assert view.status["replicas"] == count
        assert view.status["readyReplicas"] == count
        assert view.status["updatedReplicas"] == count

    return expect


PODCLUSTER = Scenario(
    controller="podcluster",
    example="podcluster.yaml",
    steps=(
        Step("create", expect=podcluster_pods(3, "busybox:1.36")),
        Step("scale up", {"spec": {"podReplicas": 5}}, podcluster_pods(5, "busybox:1.36")),
        Step("scale down", {"spec": {"podReplicas": 2}}, podcluster_pods(2, "busybox:1.36")),
        Step(
            "change image (rolled out by the hook, one Pod at a time)",
            {"spec": {"template": {"image": "busybox:1.37"}}},
            podcluster_pods(2, "busybox:1.37"),
        ),
        Step(
            "bad spec",
            # memory limit below the request: the CRD cannot tell, the controller refuses it
            {"spec": {"template": {"resources": {"limits": {"memory": "16Mi"}}}}},
            ready=False,
            invalid="InvalidSpec",
        ),
    ),
)


# -- Deployment-based kinds (application, modelbox) ---------------------------------------------


def workload(replicas: int, image: str, *others: str) -> Expectation:
    """A Deployment named after the parent with these replicas and main image, plus exactly
    the other children named (`Kind`, named after the parent too)."""

    def expect(view: View) -> None:
        name = view.parent["metadata"]["name"]
        wanted = sorted([f"Deployment {name}", *(f"{kind} {name}" for kind in others)])
        assert sorted(view.children) == wanted
        deployment = view.child("Deployment", name)
        assert dig(deployment, "spec.replicas") == replicas
        assert dig(deployment, "spec.template.spec.containers.0.image") == image
        assert view.status["availableReplicas"] == replicas
        assert view.status["readyReplicas"] == replicas

    return expect


APPLICATION = Scenario(
    controller="application",
    example="application.yaml",
    steps=(
        Step(
            "create", expect=workload(2, "nginxinc/nginx-unprivileged:1.27", "Service", "Ingress")
        ),
        Step(
            "scale",
            {"spec": {"replicas": 4}},
            workload(4, "nginxinc/nginx-unprivileged:1.27", "Service", "Ingress"),
        ),
        Step(
            "change image",
            {"spec": {"image": "nginxinc/nginx-unprivileged:1.28"}},
            workload(4, "nginxinc/nginx-unprivileged:1.28", "Service", "Ingress"),
        ),
        Step(
            "disable the ingress (a child goes away)",
            {"spec": {"ingress": {"enabled": False}}},
            workload(4, "nginxinc/nginx-unprivileged:1.28", "Service"),
        ),
        Step(
            "bad spec",
            # memory limit below the request: the CRD cannot tell, the controller refuses it
            {"spec": {"resources": {"limits": {"memory": "32Mi"}}}},
            ready=False,
            invalid="InvalidSpec",
        ),
    ),
)


MODELBOX = Scenario(
    controller="modelbox",
    example="modelbox.yaml",
    steps=(
        Step("create", expect=workload(4, "nginx:1.7.9", "Service")),
        Step("scale", {"spec": {"replicas": 2}}, workload(2, "nginx:1.7.9", "Service")),
        Step(
            "change image", {"spec": {"image": "nginx:1.27"}}, workload(2, "nginx:1.27", "Service")
        ),
        Step(
            "bad spec",
            # a nodePort on a ClusterIP Service: the CRD cannot tell, the controller refuses it
            {"spec": {"serviceType": "ClusterIP"}},
            ready=False,
            invalid="InvalidSpec",
        ),
    ),
)


# -- aijob --------------------------------------------------------------------------------------


def aijob(phase: str, workers: int, *, suspend: bool = False) -> Expectation:
    """The Indexed Job and the headless Service named after the parent, in this phase."""

    def expect(view: View) -> None:
        name = view.parent["metadata"]["name"]
        assert sorted(view.children) == [f"Job {name}", f"Service {name}"]
        job = view.child("Job", name)
        assert dig(job, "spec.parallelism") == workers
        assert dig(job, "spec.completions") == workers
        assert bool(job["spec"].get("suspend")) is suspend
        assert view.status["phase"] == phase, view.status

    return expect


AIJOB = Scenario(
    controller="aijob",
    example="aijob.yaml",
    steps=(
        Step("create", expect=aijob("Running", 2), ready=False),
        Step(
            "scale: workers of a started Job stay as applied",
            {"spec": {"workers": 3}},
            aijob("Running", 2),
            ready=False,
        ),
        Step("suspend", {"spec": {"suspend": True}}, aijob("Suspended", 2, suspend=True), False),
        Step("resume", {"spec": {"suspend": False}}, aijob("Running", 2), ready=False),
        Step(
            "bad spec",
            # a GPU limit beside gpusPerWorker: the CRD cannot tell, the controller refuses it
            {"spec": {"resources": {"limits": {"nvidia.com/gpu": 2}}}},
            ready=False,
            invalid="InvalidSpec",
        ),
    ),
)


# -- redismigration -----------------------------------------------------------------------------


def redismigration(phase: str, *jobs: str) -> Expectation:
    """Exactly these Jobs (suffixes of the parent's name), in this phase."""

    def expect(view: View) -> None:
        name = view.parent["metadata"]["name"]
        assert view.names("Job") == sorted(f"{name}-{job}" for job in jobs)
        assert view.status["phase"] == phase, view.status

    return expect


REDISMIGRATION = Scenario(
    controller="redismigration",
    example="redismigration.yaml",
    # host:port endpoints: the hook server runs without an instance table for ali-123/tx-123
    parent_patch={"spec": {"source": "10.0.0.5:6379", "dest": "10.1.0.7:6379"}},
    steps=(
        Step("create", expect=redismigration("Precheck", "precheck"), ready=False),
        Step(
            "the precheck Job succeeds",
            act=job_succeeds("rmtest-precheck"),
            expect=redismigration("Run", "precheck", "migrate"),
            ready=False,
        ),
        Step(
            "spec change: running Jobs stay as applied",
            {"spec": {"batchSize": 500}},
            redismigration("Run", "precheck", "migrate"),
            ready=False,
        ),
        Step(
            "the migration Job succeeds",
            act=job_succeeds("rmtest-migrate"),
            expect=redismigration("Succeeded", "precheck", "migrate"),
        ),
        Step(
            "bad spec",
            {"spec": {"batchSize": 0}},
            ready=False,
            invalid="InvalidSpec",
            relax_crd=True,
        ),
    ),
)


# -- cronscaler ---------------------------------------------------------------------------------

NEW_YEAR = "0 0 1 1 *"
"""Fired on the last 1 January and not again for months: the size cannot change mid-test."""


def cronscaler(low: int, high: int) -> Expectation:
    """The HPA named after the parent holds [low, high] on the target, which it reached."""

    def expect(view: View) -> None:
        name = view.parent["metadata"]["name"]
        assert sorted(view.children) == [f"HorizontalPodAutoscaler {name}"]
        hpa = view.child("HorizontalPodAutoscaler", name)
        assert (dig(hpa, "spec.minReplicas"), dig(hpa, "spec.maxReplicas")) == (low, high)
        assert dig(hpa, "spec.scaleTargetRef.name") == "nginx"
        assert view.status["currentSize"] == low
        assert view.status["currentReplicas"] == low

    return expect


CRONSCALER = Scenario(
    controller="cronscaler",
    example="cronscaler.yaml",
    parent_patch={"spec": {"jobs": [{"name": "new-year", "schedule": NEW_YEAR, "size": 3}]}},
    steps=(
        Step("create", expect=cronscaler(3, 3), act=deployment_exists("nginx")),
        Step(
            "scale: the job's size 3 -> 5",
            {"spec": {"jobs": [{"name": "new-year", "schedule": NEW_YEAR, "size": 5}]}},
            cronscaler(5, 5),
        ),
        Step("maxReplicas 8", {"spec": {"maxReplicas": 8}}, cronscaler(5, 8)),
        Step(
            "bad spec",
            # an unknown time zone: the CRD cannot tell, the controller refuses it
            {"spec": {"timeZone": "Europe/Atlantis"}},
            ready=False,
            invalid="InvalidTimeZone",
        ),
    ),
)


SCENARIOS: tuple[Scenario, ...] = (
    FOO,
    PODCLUSTER,
    APPLICATION,
    MODELBOX,
    AIJOB,
    REDISMIGRATION,
    CRONSCALER,
    # (scenarios: add new entries above this line)
)
