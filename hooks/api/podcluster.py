"""PodCluster, from kube-operator: N bare Pods named `<name>-<ordinal>`."""

from __future__ import annotations

from pydantic import Field, model_validator

from hooks.sdk import (
    AGE,
    READY_COLUMN,
    ContainerPortList,
    EnvList,
    Image,
    Integer,
    Kind,
    KubeModel,
    PrinterColumn,
    ResourceRequirements,
    ScaleSubresource,
    StatusBase,
    check_container_ports,
    check_env,
)


class PodTemplate(KubeModel):
    """The container every Pod of the cluster runs."""

    image: Image | None = Field(default=None, description="Image; server default.")
    command: list[str] | None = Field(default=None, description="Entrypoint override.")
    args: list[str] | None = Field(default=None, description="Arguments.")
    env: EnvList | None = Field(default=None, description="Environment variables.")
    ports: ContainerPortList | None = Field(default=None, description="Ports.")
    resources: ResourceRequirements | None = Field(default=None, description="Resources.")

    @model_validator(mode="after")
    def _consistent(self) -> PodTemplate:
        check_env(self.env)
        check_container_ports(self.ports)
        return self


class PodClusterSpec(KubeModel):
    """kube-operator's spec: how many Pods, plus an optional container template."""

    pod_replicas: Integer = Field(ge=0, le=1000, description="Number of Pods to run.")
    image: Image | None = Field(default=None, description="Shorthand for template.image.")
    template: PodTemplate | None = Field(default=None, description="Container template.")


class PodClusterStatus(StatusBase):
    """Counts of the observed Pods, and the selector the scale subresource reports."""

    replicas: int | None = Field(default=None, description="Pods that exist and are not deleted.")
    ready_replicas: int | None = Field(default=None, description="Pods whose Ready is True.")
    updated_replicas: int | None = Field(
        default=None, description="Pods built from the current template (the rest roll out)."
    )
    selector: str | None = Field(default=None, description="Label selector of the Pods.")


PODCLUSTER = Kind(
    kind="PodCluster",
    plural="podclusters",
    spec=PodClusterSpec,
    status=PodClusterStatus,
    short_names=("pc",),
    description="A PodCluster keeps podReplicas Pods named <name>-<ordinal>.",
    scale=ScaleSubresource(".spec.podReplicas", ".status.replicas", ".status.selector"),
    printer_columns=(
        PrinterColumn("Desired", "integer", ".spec.podReplicas"),
        PrinterColumn("Current", "integer", ".status.replicas"),
        PrinterColumn("Ready-Pods", "integer", ".status.readyReplicas"),
        PrinterColumn("Updated", "integer", ".status.updatedReplicas"),
        READY_COLUMN,
        AGE,
    ),
)
