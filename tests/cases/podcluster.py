"""Golden cases of the podcluster controller."""

from __future__ import annotations

from typing import Any

from tests.cases.common import EARLIER, Case, desired_children, observe, parent, request

C = "podcluster"
NAME = "example-podcluster"


def _pods(count: int, *, ready: bool = True, spec: dict[str, Any] | None = None) -> list[Any]:
    owner = parent(C, NAME, spec or {"podReplicas": count})
    pods = desired_children(C, owner)
    status = {
        "phase": "Running" if ready else "Pending",
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": EARLIER,
                "lastProbeTime": None,
            },
        ],
        "podIP": "10.244.0.10",
        "startTime": EARLIER,
    }
    return [observe(p, owner, status=status) for p in pods]


def cases() -> list[Case]:
    """Return every podcluster case."""
    three = _pods(3)
    five = _pods(5)
    terminating = observe(
        desired_children(C, parent(C, NAME, {"podReplicas": 3}))[2],
        parent(C, NAME, {"podReplicas": 3}),
        deleting=True,
    )
    new_image = {"podReplicas": 3, "image": "nginx:1.27"}
    rolled = _pods(3, spec=new_image)
    rolled_pending = _pods(3, ready=False, spec=new_image)
    template = {
        "podReplicas": 2,
        "template": {
            "image": "busybox:1.36",
            "command": ["sh", "-c", "sleep 3600"],
            "env": [
                {"name": "MODE", "value": "cluster"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            "ports": [{"containerPort": 7000, "name": "gossip"}],
            "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"},
                "limits": {"memory": "128Mi"},
            },
        },
    }
    return [
        Case(
            C,
            "fresh-parent",
            "podReplicas 3, nothing observed: three Pods <name>-0..2.",
            request(C, parent(C, NAME, {"podReplicas": 3})),
        ),
        Case(
            C,
            "steady-state",
            "Three Pods Ready: same Pods, Ready=True, replicas 3.",
            request(C, parent(C, NAME, {"podReplicas": 3}), three),
        ),
        Case(
            C,
            "v1-keys",
            "Steady state as a v1 hook sends it: same answer.",
            request(C, parent(C, NAME, {"podReplicas": 3}), three, version="v1"),
        ),
        Case(
            C,
            "scale-up",
            "3 -> 5: Pods 3 and 4 are added.",
            request(C, parent(C, NAME, {"podReplicas": 5}, generation=2), three),
        ),
        Case(
            C,
            "scale-down",
            "5 -> 2: the highest ordinals (2, 3, 4) are dropped.",
            request(C, parent(C, NAME, {"podReplicas": 2}, generation=2), five),
        ),
        Case(
            C,
            "scale-to-zero",
            "podReplicas 0: no Pods.",
            request(C, parent(C, NAME, {"podReplicas": 0}, generation=2), three),
        ),
        Case(
            C,
            "deleted-pod-comes-back",
            "Pod 1 was deleted by someone: it is asked for again.",
            request(C, parent(C, NAME, {"podReplicas": 3}), [three[0], three[2]]),
        ),
        Case(
            C,
            "terminating-pod-not-counted",
            "A Pod being deleted is not counted as a replica.",
            request(C, parent(C, NAME, {"podReplicas": 3}), [three[0], three[1], terminating]),
        ),
        Case(
            C,
            "pods-not-ready",
            "Pods exist but are not Ready yet.",
            request(C, parent(C, NAME, {"podReplicas": 3}), _pods(3, ready=False)),
        ),
        Case(
            C,
            "container-template",
            "A template with image, command, env, ports and resources.",
            request(C, parent(C, NAME, template)),
        ),
        Case(
            C,
            "template-change-replaces-first-pod",
            "The image changes with three old Pods Ready: Pod 0 is left out (Metacontroller "
            "deletes it), Pods 1 and 2 are kept as applied; Progressing=RollingUpdate.",
            request(C, parent(C, NAME, new_image, generation=2), three),
        ),
        Case(
            C,
            "rollout-recreates-replaced-pod",
            "Pod 0 was deleted for the rollout: it comes back from the new template, Pods 1 "
            "and 2 stay old while it is created.",
            request(C, parent(C, NAME, new_image, generation=2), three[1:]),
        ),
        Case(
            C,
            "rollout-waits-for-ready",
            "Pod 0 runs the new template but is not Ready yet: nothing else is replaced.",
            request(C, parent(C, NAME, new_image, generation=2), [rolled_pending[0], *three[1:]]),
        ),
        Case(
            C,
            "rollout-goes-on-when-ready",
            "Pod 0 runs the new template and is Ready: Pod 1 is left out next.",
            request(C, parent(C, NAME, new_image, generation=2), [rolled[0], *three[1:]]),
        ),
        Case(
            C,
            "rollout-complete",
            "Every Pod runs the new template and is Ready: RolloutComplete, all three answered.",
            request(C, parent(C, NAME, new_image, generation=2), rolled),
        ),
        Case(
            C,
            "rollout-while-scaling-up",
            "3 -> 4 with a new image: Pod 3 is created from the new template at once, and the "
            "rollout waits for it before replacing Pod 0.",
            request(C, parent(C, NAME, {**new_image, "podReplicas": 4}, generation=2), three),
        ),
        Case(
            C,
            "invalid-replicas-keeps-children",
            "podReplicas -1 is invalid: the observed Pods are kept, Ready=False.",
            request(C, parent(C, NAME, {"podReplicas": -1}, generation=2), three),
        ),
        Case(
            C,
            "unknown-field-keeps-children",
            "A field the CRD does not know (podReplica) is an error; Pods are kept.",
            request(C, parent(C, NAME, {"podReplica": 4}, generation=2), three),
        ),
        Case(
            C,
            "finalize-with-children",
            "Being deleted with Pods left: ask for none.",
            request(C, parent(C, NAME, {"podReplicas": 3}, deleting=True), three, finalizing=True),
            hook="finalize",
        ),
        Case(
            C,
            "finalize-done",
            "Being deleted, nothing left: finalized.",
            request(C, parent(C, NAME, {"podReplicas": 3}, deleting=True), [], finalizing=True),
            hook="finalize",
        ),
    ]
