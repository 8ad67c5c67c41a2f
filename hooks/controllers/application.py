"""Application: a Deployment, a Service and (when enabled) an Ingress, all named after it.

Status mirrors the observed Deployment (counts, Available, Progressing) and sums it up in Ready;
`url` is what the observed Ingress serves.
"""

from __future__ import annotations

from hooks.api.application import APPLICATION, ApplicationSpec
from hooks.sdk import (
    DEPLOYMENT,
    DEPLOYMENTS,
    INGRESS,
    INGRESSES,
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
    ingress,
    ingress_url,
    main_container,
    pod_spec,
    pod_template,
    require_service_name,
    selector_labels,
    selector_string,
    service,
    service_port,
    set_workload_conditions,
    standard_labels,
)

NAME = "application"
CONTAINER = "app"
PORT_NAME = "http"

Request = HookRequest[ApplicationSpec, NoOptions]


def sync(request: Request) -> SyncResponse:
    """Return the Application's children, and its status judged on the observed ones."""
    require_service_name(request.parent.name)
    status = application_status(request)
    children = [application_deployment(request), application_service(request)]
    if request.spec.ingress.enabled:
        children.append(application_ingress(request))
    return SyncResponse(status=status, children=children)


def application_deployment(request: Request) -> KubeObject:
    """Build the Deployment: one container listening on `port`, with default TCP probes."""
    spec = request.spec
    name = request.parent.name
    labels = _labels(request)
    main = main_container(
        CONTAINER,
        spec.image,
        ports=[container_port(spec.port, name=PORT_NAME)],
        probes=spec.probes,
        env=spec.env,
        resources=spec.resources.to_wire() if spec.resources else None,
    )
    generation = {PARENT_GENERATION: str(request.parent.generation)}
    return deployment(
        request.meta(name, labels, generation),
        selector=selector_labels(NAME, name),
        template=pod_template(labels, pod_spec([main])),
        replicas=spec.replicas,
    )


def application_service(request: Request) -> KubeObject:
    """Build the Service: `service.port` (default: the container port) to the named port."""
    spec = request.spec
    name = request.parent.name
    port = service_port(
        _service_port(spec),
        target_port=PORT_NAME,
        name=PORT_NAME,
        node_port=spec.service.node_port,
    )
    return service(
        request.meta(name, _labels(request)),
        selector=selector_labels(NAME, name),
        ports=[port],
        type_=spec.service.type,
    )


def application_ingress(request: Request) -> KubeObject:
    """Build the Ingress routing `host` and `path` to the Service, with TLS when asked."""
    spec = request.spec.ingress
    name = request.parent.name
    return ingress(
        request.meta(name, _labels(request), spec.annotations),
        class_name=spec.class_name,
        host=spec.host,
        path=spec.path,
        path_type=spec.path_type,
        service_name=name,
        service_port=_service_port(request.spec),
        tls_secret_name=spec.tls.secret_name if spec.tls else None,
    )


def application_status(request: Request) -> KubeObject:
    """Judge the Application by its observed Deployment, Service and Ingress."""
    spec = request.spec
    name = request.parent.name
    observed = request.children
    state = deployment_state(observed.named(DEPLOYMENT, name))
    missing = [] if observed.named(SERVICE, name) else [f"Service {name}"]
    observed_ingress = observed.named(INGRESS, name)
    if spec.ingress.enabled and observed_ingress is None:
        missing.append(f"Ingress {name}")
    conditions = request.conditions()
    set_workload_conditions(
        conditions,
        state,
        wanted=spec.replicas,
        generation=request.parent.generation,
        missing=missing,
    )
    status: KubeObject = {
        "replicas": state.replicas,
        "readyReplicas": state.ready,
        "availableReplicas": state.available,
        "selector": selector_string(selector_labels(NAME, name)),
    }
    url = ingress_url(observed_ingress) if spec.ingress.enabled else None
    if url:
        status["url"] = url
    status["conditions"] = conditions.to_list()
    return status


def _labels(request: Request) -> dict[str, str]:
    part_of = request.parent.labels.get(PART_OF)
    return standard_labels(NAME, request.parent.name, component="web", part_of=part_of)


def _service_port(spec: ApplicationSpec) -> int:
    return spec.service.port or spec.port


CONTROLLER = Controller(
    name="application",
    kind=APPLICATION,
    children=(DEPLOYMENTS, SERVICES, INGRESSES),
    sync=sync,
)
"""Registered as the `application` entry point of the `kubehooks.controllers` group."""
