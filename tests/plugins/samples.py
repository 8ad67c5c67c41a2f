"""Sample plugin controllers, written with hooks.sdk only, as an outside package would."""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field

from hooks.sdk import (
    AGE,
    DEPLOYMENTS,
    READY_COLUMN,
    Controller,
    HookRequest,
    Kind,
    KubeModel,
    StatusBase,
    SyncResponse,
    conditions,
    container,
    deployment,
    pod_spec,
    pod_template,
    selector_labels,
    service,
    service_port,
    standard_labels,
)


class EchoSpec(KubeModel):
    """An echo server; every field has a default."""

    replicas: int = Field(default=1, ge=0, le=10, description="Pods to run.")


class EchoStatus(StatusBase):
    """Conditions only."""


ECHO = Kind(
    kind="Echo",
    plural="echoes",
    spec=EchoSpec,
    status=EchoStatus,
    printer_columns=(READY_COLUMN, AGE),
    group="samples.example.com",
)


def sync(request: HookRequest[EchoSpec, BaseModel]) -> SyncResponse:
    """One Deployment per Echo."""
    name = request.parent.name
    labels = standard_labels("echo", name)
    found = request.conditions()
    found.set(conditions.READY, True, "Declared", "the Deployment is declared")
    child = deployment(
        request.meta(name, labels),
        selector=selector_labels("echo", name),
        template=pod_template(labels, pod_spec([container("echo", "ealen/echo-server:0.9")])),
        replicas=request.spec.replicas,
    )
    return SyncResponse(status={"conditions": found.to_list()}, children=[child])


def sync_with_a_service(request: HookRequest[EchoSpec, BaseModel]) -> SyncResponse:
    """Also answers a Service, a type the controller does not declare."""
    answer = sync(request)
    extra = service(
        request.meta(request.parent.name, {}),
        selector=selector_labels("echo", request.parent.name),
        ports=[service_port(80)],
    )
    return SyncResponse(status=answer.status, children=[*answer.children, extra])


class StrictOptions(BaseModel):
    """Options with a required field."""

    model_config = ConfigDict(extra="forbid")

    region: str


CONTROLLER = Controller(name="echo", kind=ECHO, children=(DEPLOYMENTS,), sync=sync)
NAME_CLASH = replace(CONTROLLER, name="foo")
KIND_CLASH = replace(
    CONTROLLER,
    name="otherfoo",
    kind=replace(ECHO, kind="Foo", group="kubehooks.dev", plural="foos"),
)
UNDECLARED_CHILD = replace(
    CONTROLLER,
    name="leaky",
    kind=replace(ECHO, kind="Leaky", plural="leakies"),
    sync=sync_with_a_service,
)
STRICT = replace(
    CONTROLLER,
    name="strict",
    kind=replace(ECHO, kind="Strict", plural="stricts"),
    options=StrictOptions,
)
NOT_A_CONTROLLER = {"name": "echo"}
BAD_NAME = replace(CONTROLLER, name="Echo_Server")
