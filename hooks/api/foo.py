"""Foo, the Kubernetes sample-controller's kind: one Deployment per Foo."""

from __future__ import annotations

from pydantic import Field

from hooks.sdk import (
    AGE,
    NAME_PATTERN,
    READY_COLUMN,
    REASON_COLUMN,
    REPLICAS_SCALE,
    Image,
    Integer,
    Kind,
    KubeModel,
    PrinterColumn,
    StatusBase,
)


class FooSpec(KubeModel):
    """The sample-controller's spec, with an optional image."""

    deployment_name: str = Field(
        pattern=NAME_PATTERN, max_length=63, description="Name of the Deployment to manage."
    )
    replicas: Integer = Field(default=1, ge=1, le=10, description="Desired replicas, 1 to 10.")
    image: Image | None = Field(
        default=None,
        description="Container image; the server's configured default (nginx) when unset.",
    )


class FooStatus(StatusBase):
    """What the observed Deployment reports."""

    available_replicas: int | None = Field(default=None, description="Available Pods.")
    replicas: int | None = Field(default=None, description="Pods the Deployment reports.")
    selector: str | None = Field(default=None, description="Label selector of the Pods.")


FOO = Kind(
    kind="Foo",
    plural="foos",
    spec=FooSpec,
    status=FooStatus,
    short_names=("foo",),
    description="A Foo runs one nginx Deployment, as Kubernetes' sample-controller does.",
    scale=REPLICAS_SCALE,
    printer_columns=(
        PrinterColumn("Deployment", "string", ".spec.deploymentName"),
        PrinterColumn("Desired", "integer", ".spec.replicas"),
        PrinterColumn("Available", "integer", ".status.availableReplicas"),
        READY_COLUMN,
        REASON_COLUMN,
        AGE,
    ),
)
