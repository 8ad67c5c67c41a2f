"""ModelBox, from the ModelBox notes: a model server as Deployment + Service, sized by preset.

The notes' sample (`name`, `image`, `replicas`, `rollingUpdate: 30%`, `ports` as ServicePorts
with a nodePort) is accepted as written; the size presets below are the one table of what
small, medium and large mean, echoed in `status.resources`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from hooks.sdk import (
    AGE,
    NAME_PATTERN,
    NODE_PORT_MAX,
    NODE_PORT_MIN,
    READY_COLUMN,
    REASON_COLUMN,
    REPLICAS_SCALE,
    EnvList,
    ExtraContainer,
    Image,
    Integer,
    Kind,
    KubeModel,
    PrinterColumn,
    Probes,
    ResourceRequirements,
    StatusBase,
    check_env,
    names,
)

Size = Literal["small", "medium", "large", "custom"]

SIZE_PRESETS: MappingProxyType[str, ResourceRequirements] = MappingProxyType(
    {
        "small": ResourceRequirements(
            requests={"cpu": "250m", "memory": "512Mi"}, limits={"cpu": "1", "memory": "1Gi"}
        ),
        "medium": ResourceRequirements(
            requests={"cpu": "1", "memory": "2Gi"}, limits={"cpu": "2", "memory": "4Gi"}
        ),
        "large": ResourceRequirements(
            requests={"cpu": "4", "memory": "8Gi"}, limits={"cpu": "8", "memory": "16Gi"}
        ),
    }
)
"""Requests and limits of the main container per size; `custom` takes `resources` instead."""

DEFAULT_SIZE: Size = "small"
"""The size of a ModelBox that names neither a size nor resources."""

MAIN_CONTAINER = "model"
"""Name of the main container when the spec gives no `name`."""

PERCENT_PATTERN = r"^(100|[1-9]?[0-9])%$"
"""0% to 100%, whole percentages, as the notes write them."""

MAX_PORTS = 64
MAX_EXTRA_CONTAINERS = 8
"""Sidecars and init containers each: bounds that keep the CRD's CEL rules cheap enough."""

_NAMED_TARGETS_AGREE: dict[str, Any] = {
    "rule": "self.all(a, self.all(b, !(has(a.targetPort) && has(b.targetPort) && "
    "type(a.targetPort) == string && type(b.targetPort) == string && "
    "a.targetPort == b.targetPort) || (a.port == b.port && a.protocol == b.protocol)))",
    "message": "a named targetPort names one container port: ports that share it need the same "
    "port and protocol",
}


class ServicePort(KubeModel):
    """A core/v1 ServicePort, as the notes' `ports` list holds them."""

    port: names.PortNumber = Field(description="Port the Service listens on.")
    target_port: Annotated[int | str, names.PORT_NUMBER_OR_NAME_SCHEMA] | None = Field(
        default=None,
        description="Container port number, or a port name (the container port then listens "
        "on `port`); default: `port`.",
    )
    node_port: Integer | None = Field(
        default=None,
        ge=NODE_PORT_MIN,
        le=NODE_PORT_MAX,
        description="Node port (30000-32767); makes the Service a NodePort one.",
    )
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="Protocol.")
    name: names.DNS1123Label | None = Field(
        default=None, description="Port name; required when there is more than one port."
    )

    @model_validator(mode="after")
    def _target_port_is_usable(self) -> ServicePort:
        problem = None
        if self.target_port is not None:
            problem = names.port_number_or_name_problem(self.target_port)
        if problem:
            raise ValueError(f"targetPort {problem}")
        return self

    def container_port(self) -> int:
        """Return the port number the main container listens on for this Service port."""
        return self.target_port if isinstance(self.target_port, int) else self.port


class ModelBoxSpec(KubeModel):
    """The notes' ModelBoxSpec, plus size presets, Service type, extra containers and probes."""

    name: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        max_length=63,
        description=f"Service name; names the main container (default {MAIN_CONTAINER}).",
    )
    image: Image = Field(description="Image of the main container.")
    replicas: Integer = Field(default=1, ge=0, le=1000, description="Desired Pods (default 1).")
    rolling_update: str = Field(
        default="25%",
        pattern=PERCENT_PATTERN,
        description="Share of Pods a rollout may take down at once, 0% to 100% (the "
        "Deployment's maxUnavailable; maxSurge stays 25%). Default 25%.",
    )
    ports: list[ServicePort] = Field(
        min_length=1,
        max_length=MAX_PORTS,
        description="Service ports; each targetPort is also a container port.",
        json_schema_extra={
            "x-kubernetes-validations": [
                names.cel_unique_rule("name", "port names must be unique"),
                _NAMED_TARGETS_AGREE,
            ]
        },
    )
    service_type: Literal["ClusterIP", "NodePort"] | None = Field(
        default=None,
        description="ClusterIP or NodePort; default: NodePort when a port has a nodePort.",
    )
    size: Size | None = Field(
        default=None,
        description="small, medium, large (presets) or custom (needs resources); default: "
        "custom when resources are given, else small.",
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="Requests and limits of the main container (size custom)."
    )
    envs: EnvList | None = Field(
        default=None, description="Environment variables of the main container."
    )
    containers: list[ExtraContainer] | None = Field(
        default=None,
        max_length=MAX_EXTRA_CONTAINERS,
        description="Sidecar containers run beside the main one.",
    )
    init_containers: list[ExtraContainer] | None = Field(
        default=None,
        max_length=MAX_EXTRA_CONTAINERS,
        description="Containers run to completion, in order, before the others.",
    )
    probes: Probes | None = Field(
        default=None,
        description="Liveness and readiness probes; default: TCP on the first port for both.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ModelBoxSpec:
        self._check_ports()
        self._check_size()
        check_env(self.envs)
        extras = [*(self.containers or []), *(self.init_containers or [])]
        names.check_unique("container name", [self.container_name, *(c.name for c in extras)])
        main = self.main_container_ports()
        pod_ports = [(name, f"{port}/{protocol}") for name, port, protocol in main]
        for extra in extras:
            pod_ports += [
                (item.name, f"{item.container_port}/{item.protocol}") for item in extra.ports or []
            ]
        # Names and numbers are shared by all the Pod's containers (they share one network).
        names.check_unique("container port name", [name for name, _ in pod_ports if name])
        names.check_unique("container port", [port for _, port in pod_ports])
        return self

    def _check_ports(self) -> None:
        if len(self.ports) > 1 and any(port.name is None for port in self.ports):
            raise ValueError("every port needs a name when there is more than one")
        names.check_unique("port name", [port.name for port in self.ports if port.name])
        names.check_unique("port", [f"{port.port}/{port.protocol}" for port in self.ports])
        names.check_unique(
            "nodePort", [str(port.node_port) for port in self.ports if port.node_port]
        )
        if self.service_type == "ClusterIP" and any(port.node_port for port in self.ports):
            raise ValueError("a nodePort needs serviceType NodePort, not ClusterIP")
        targets: dict[str, tuple[int, str]] = {}
        for port in self.ports:
            if isinstance(port.target_port, str):
                key = (port.container_port(), port.protocol)
                if targets.setdefault(port.target_port, key) != key:
                    raise ValueError(
                        f"targetPort {port.target_port} names one container port: the ports "
                        "that use it need the same port and protocol"
                    )
        names.check_unique(
            "container port (named twice)", [f"{port}/{proto}" for port, proto in targets.values()]
        )

    def main_container_ports(self) -> list[tuple[str | None, int, str]]:
        """Return the main container's (name, port, protocol): each Service port's target,
        once per port and protocol, named after a named targetPort."""
        ports: dict[tuple[int, str], str | None] = {}
        for item in self.ports:
            name = item.target_port if isinstance(item.target_port, str) else None
            ports.setdefault((item.container_port(), item.protocol), name)
        return [(name, port, protocol) for (port, protocol), name in ports.items()]

    def _check_size(self) -> None:
        if self.size == "custom" and not self.has_resources:
            raise ValueError("size custom needs resources with requests or limits")
        if self.size in SIZE_PRESETS and self.has_resources:
            raise ValueError(f"resources cannot be combined with size {self.size}; use custom")

    @property
    def has_resources(self) -> bool:
        """Say whether the spec gives any request or limit of its own."""
        return self.resources is not None and bool(self.resources.requests or self.resources.limits)

    @property
    def container_name(self) -> str:
        """Return the main container's name."""
        return self.name or MAIN_CONTAINER

    @property
    def resolved_size(self) -> Size:
        """Return the size in effect: the given one, else custom with resources, else small."""
        if self.size is not None:
            return self.size
        return "custom" if self.has_resources else DEFAULT_SIZE

    @property
    def resolved_resources(self) -> ResourceRequirements:
        """Return the main container's requests and limits: the preset's, or the spec's own."""
        preset = SIZE_PRESETS.get(self.resolved_size)
        return preset or self.resources or ResourceRequirements()

    @property
    def resolved_service_type(self) -> str:
        """Return the Service type: as given, else NodePort when a port has a nodePort."""
        if self.service_type is not None:
            return self.service_type
        return "NodePort" if any(port.node_port for port in self.ports) else "ClusterIP"


class ResolvedResources(KubeModel):
    """The size in effect and what it means for the main container."""

    size: Size = Field(description="small, medium, large or custom.")
    requests: dict[str, str] | None = Field(default=None, description="Resolved requests.")
    limits: dict[str, str] | None = Field(default=None, description="Resolved limits.")


class ModelBoxStatus(StatusBase):
    """What the observed Deployment reports, and the resources the size resolved to."""

    replicas: int | None = Field(default=None, description="Pods of the Deployment.")
    ready_replicas: int | None = Field(default=None, description="Ready Pods.")
    available_replicas: int | None = Field(default=None, description="Available Pods.")
    selector: str | None = Field(default=None, description="Label selector of the Pods.")
    resources: ResolvedResources | None = Field(
        default=None, description="What the size means: the main container's requests and limits."
    )


MODELBOX = Kind(
    kind="ModelBox",
    plural="modelboxes",
    spec=ModelBoxSpec,
    status=ModelBoxStatus,
    short_names=("mb",),
    description="A ModelBox serves a model image as a Deployment behind a Service.",
    scale=REPLICAS_SCALE,
    printer_columns=(
        PrinterColumn("Image", "string", ".spec.image", priority=1),
        PrinterColumn("Size", "string", ".status.resources.size"),
        PrinterColumn("Desired", "integer", ".spec.replicas"),
        PrinterColumn("Available", "integer", ".status.availableReplicas"),
        READY_COLUMN,
        REASON_COLUMN,
        AGE,
    ),
)
