"""ModelBox: a Deployment and a Service named after it, serving a model image (the ModelBox notes).

The main container gets the size's resources and default TCP probes; sidecars and init
containers from the spec join it in the Pod. `rollingUpdate` is the Deployment's
maxUnavailable. A deleted child comes back because every sync asks for both.
"""

from __future__ import annotations

from hooks.api.modelbox import MODELBOX, ModelBoxSpec
from hooks.sdk import (
    DEPLOYMENT,
    DEPLOYMENTS,
    PARENT_GENERATION,
    PART_OF,
    SERVICE,
    SERVICES,
    Controller,
    HookRequest,
    KubeObject,
    NoOptions,
    SyncResponse,
    container_port,
    deployment,
    deployment_state,
    extra_container,
    main_container,
    pod_spec,
    pod_template,
    require_service_name,
    rolling_update,
    selector_labels,
    selector_string,
    service,
    service_port,
    set_workload_conditions,
    standard_labels,
)

NAME = "modelbox"
MAX_SURGE = "25%"
"""Kubernetes' default; rounded up, so a rollout may always start at least one extra Pod, which
keeps `rollingUpdate: 0%` (never below the desired capacity) a valid strategy."""

Request = HookRequest[ModelBoxSpec, NoOptions]


def sync(request: Request) -> SyncResponse:
    """Return the ModelBox's Deployment and Service, and its status judged on the observed ones."""
    require_service_name(request.parent.name)
    status = modelbox_status(request)
    return SyncResponse(
        status=status, children=[modelbox_deployment(request), modelbox_service(request)]
    )


def modelbox_deployment(request: Request) -> KubeObject:
    """Build the Deployment: main container, sidecars, init containers, rolling strategy."""
    spec = request.spec
    name = request.parent.name
    labels = _labels(request)
    main = main_container(
        spec.container_name,
        spec.image,
        ports=modelbox_container_ports(spec),
        probes=spec.probes,
        env=spec.envs,
        resources=spec.resolved_resources.to_wire() or None,
    )
    pod = pod_spec(
        [main, *(extra_container(item) for item in spec.containers or [])],
        init_containers=[extra_container(item) for item in spec.init_containers or []],
    )
    generation = {PARENT_GENERATION: str(request.parent.generation)}
    return deployment(
        request.meta(name, labels, generation),
        selector=selector_labels(NAME, name),
        template=pod_template(labels, pod),
        replicas=spec.replicas,
        strategy=rolling_update(MAX_SURGE, spec.rolling_update),
    )


def modelbox_container_ports(spec: ModelBoxSpec) -> list[KubeObject]:
    """Return the main container's ports: each Service port's target, once per protocol.

    A named targetPort names the container port, which then listens on the Service port.
    """
    ports: list[KubeObject] = []
    seen: set[tuple[int, str]] = set()
    for item in spec.ports:
        key = (item.container_port(), item.protocol)
        if key in seen:
            continue
        seen.add(key)
        name = item.target_port if isinstance(item.target_port, str) else None
        ports.append(container_port(key[0], name=name, protocol=item.protocol))
    return ports


def modelbox_service(request: Request) -> KubeObject:
    """Build the Service: the spec's ports, NodePort when asked for or implied by a nodePort."""
    spec = request.spec
    name = request.parent.name
    ports = [
        service_port(
            item.port,
            target_port=item.target_port,
            name=item.name,
            protocol=item.protocol,
            node_port=item.node_port,
        )
        for item in spec.ports
    ]
    return service(
        request.meta(name, _labels(request)),
        selector=selector_labels(NAME, name),
        ports=ports,
        type_=spec.resolved_service_type,
    )


def modelbox_status(request: Request) -> KubeObject:
    """Judge the ModelBox by its observed Deployment and Service; echo the resolved size."""
    spec = request.spec
    name = request.parent.name
    state = deployment_state(request.children.named(DEPLOYMENT, name))
    missing = [] if request.children.named(SERVICE, name) else [f"Service {name}"]
    conditions = request.conditions()
    set_workload_conditions(
        conditions,
        state,
        wanted=spec.replicas,
        generation=request.parent.generation,
        missing=missing,
    )
    return {
        "replicas": state.replicas,
        "readyReplicas": state.ready,
        "availableReplicas": state.available,
        "selector": selector_string(selector_labels(NAME, name)),
        "resources": {"size": spec.resolved_size, **spec.resolved_resources.to_wire()},
        "conditions": conditions.to_list(),
    }


def _labels(request: Request) -> dict[str, str]:
    part_of = request.parent.labels.get(PART_OF)
    return standard_labels(NAME, request.parent.name, component="model-server", part_of=part_of)


CONTROLLER = Controller(
    name="modelbox",
    kind=MODELBOX,
    children=(DEPLOYMENTS, SERVICES),
    sync=sync,
)
"""Registered as the `modelbox` entry point of the `kubehooks.controllers` group."""
