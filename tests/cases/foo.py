"""Golden cases of the foo controller."""

from __future__ import annotations

from tests.cases.common import (
    Case,
    condition,
    deployment_status,
    desired_children,
    observe,
    parent,
    request,
)

C = "foo"
SEED = {"deploymentName": "example-foo", "replicas": 1}


def _deployment(spec: dict[str, object], **status: int) -> dict[str, object]:
    owner = parent(C, "example-foo", spec)
    (desired,) = desired_children(C, owner)
    replicas = int(desired["spec"]["replicas"])  # type: ignore[index]
    return observe(
        desired,
        owner,
        status=deployment_status(
            status.get("replicas", replicas), status.get("available", replicas)
        ),
    )


def cases() -> list[Case]:
    """Return every foo case."""
    steady = _deployment(SEED)
    three = {**SEED, "replicas": 3}
    return [
        Case(
            C,
            "fresh-parent",
            "The seed's example-foo, nothing observed yet: create the Deployment.",
            request(C, parent(C, "example-foo", SEED)),
        ),
        Case(
            C,
            "steady-state",
            "The Deployment exists and is available: same child, Ready=True.",
            request(C, parent(C, "example-foo", SEED), [steady]),
        ),
        Case(
            C,
            "v1-keys",
            "Steady state sent by a v1 hook (children keyed by name): same answer.",
            request(C, parent(C, "example-foo", SEED), [steady], version="v1"),
        ),
        Case(
            C,
            "scale-up",
            "replicas 1 -> 3: the Deployment asks for 3, status reports 1/3.",
            request(C, parent(C, "example-foo", three, generation=2), [steady]),
        ),
        Case(
            C,
            "scale-down",
            "replicas 3 -> 1 with 3 running.",
            request(C, parent(C, "example-foo", SEED, generation=3), [_deployment(three)]),
        ),
        Case(
            C,
            "status-progressing",
            "3 wanted, 2 available: Ready=False, reason Scaling.",
            request(C, parent(C, "example-foo", three), [_deployment(three, available=2)]),
        ),
        Case(
            C,
            "image-change",
            "spec.image changes: the new Deployment carries the new image.",
            request(
                C, parent(C, "example-foo", {**SEED, "image": "nginx:1.27"}, generation=2), [steady]
            ),
        ),
        Case(
            C,
            "conditions-stable",
            "Ready was already True: lastTransitionTime is kept.",
            request(
                C,
                parent(
                    C,
                    "example-foo",
                    SEED,
                    status={
                        "availableReplicas": 1,
                        "conditions": [
                            condition("Available", "True", "MinimumReplicas"),
                            condition("Ready", "True", "DeploymentReady"),
                        ],
                    },
                ),
                [steady],
            ),
        ),
        Case(
            C,
            "invalid-replicas-keeps-children",
            "replicas 11 is out of range: the observed Deployment is kept as applied, Ready=False.",
            request(C, parent(C, "example-foo", {**SEED, "replicas": 11}, generation=2), [steady]),
        ),
        Case(
            C,
            "missing-deployment-name-keeps-children",
            "deploymentName removed: error names the field, children kept.",
            request(C, parent(C, "example-foo", {"replicas": 1}, generation=2), [steady]),
        ),
        Case(
            C,
            "foreign-deployment",
            "A Deployment named example-foo exists but is not ours: ResourceExists, not claimed.",
            request(
                C,
                parent(C, "example-foo", SEED),
                [],
                related=[
                    {
                        **_deployment(SEED),
                        "metadata": {
                            "name": "example-foo",
                            "namespace": "default",
                            "uid": "someone-else",
                            "resourceVersion": "77",
                            "labels": {"app": "nginx"},
                        },
                    }
                ],
            ),
        ),
        Case(
            C,
            "rename-onto-foreign-deployment-keeps-children",
            "deploymentName patched to a Deployment that is not ours: ResourceExists, and the "
            "running example-foo is kept (a conflict is a refused spec).",
            request(
                C,
                parent(C, "example-foo", {**SEED, "deploymentName": "taken"}, generation=2),
                [steady],
                related=[
                    {
                        **_deployment(SEED),
                        "metadata": {
                            "name": "taken",
                            "namespace": "default",
                            "uid": "someone-else",
                            "resourceVersion": "78",
                            "labels": {"app": "other"},
                        },
                    }
                ],
            ),
        ),
        Case(
            C,
            "default-image-from-config",
            "No image in the spec: the server's configured default image is used.",
            request(C, parent(C, "example-foo", SEED)),
            config={"controllers": {"foo": {"defaultImage": "registry.local/nginx:1.27"}}},
        ),
        Case(
            C,
            "finalize-with-children",
            "Being deleted and its Deployment still exists: ask for none, not finalized.",
            request(C, parent(C, "example-foo", SEED, deleting=True), [steady], finalizing=True),
            hook="finalize",
        ),
        Case(
            C,
            "finalize-done",
            "Deleted and no children left: finalized.",
            request(C, parent(C, "example-foo", SEED, deleting=True), [], finalizing=True),
            hook="finalize",
        ),
        Case(
            C,
            "customize",
            "Ask for the Deployment named in the spec as a related object.",
            {
                "controller": request(C, parent(C, "example-foo", SEED))["controller"],
                "parent": parent(C, "example-foo", SEED),
            },
            hook="customize",
        ),
    ]
