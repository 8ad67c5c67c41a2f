"""Spec fragments shared by several kinds, and the base classes every kind's models use.

These models are the single source of the CRD schemas (see `hooks.crd`): a field added here
appears in every CRD that uses it, so the API server and the hooks cannot disagree.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from hooks.api import names
from hooks.api.quantity import QUANTITY_PATTERN, check_resources
from hooks.contract import KubeObject

Integer = int
"""An integer field. Spec models are strict, as the CRD is: `"2"`, `true` and `2.0` are not 2
(the API server refuses a JSON 2.0 for an integer field: "2 is of the type float64, expected
int64", tests/cluster/test_crds.py)."""

Quantity = Annotated[Integer, Field(ge=0)] | Annotated[str, Field(pattern=QUANTITY_PATTERN)]
"""A non-negative Kubernetes resource quantity such as `500m`, `1Gi` or `2`."""

RESOURCE_NAME_PATTERN = (
    rf"^(cpu|memory|ephemeral-storage|{names.DNS1123_SUBDOMAIN_FMT}/{names.QUALIFIED_NAME_FMT})$"
)
"""cpu, memory, ephemeral-storage, or an extended resource such as nvidia.com/gpu."""
ResourceName = Annotated[str, Field(pattern=RESOURCE_NAME_PATTERN)]
MAX_RESOURCES = 16

NAME_PATTERN = names.DNS1123_LABEL
"""An RFC 1123 label: what container, port and most object names must be."""

Image = Annotated[str, Field(min_length=1, pattern=r"^\S(.*\S)?$")]
"""A container image reference; the API server refuses leading or trailing whitespace."""

NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767
"""The API server's default --service-node-port-range; nodePorts outside it are refused."""


class KubeModel(BaseModel):
    """Base of every spec model: camelCase on the wire, unknown fields rejected.

    Rejecting unknown fields matches the CRD, which prunes them: a field the API server would
    silently drop is an error here rather than a surprise.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, strict=True
    )

    def to_wire(self) -> KubeObject:
        """Return the JSON-ready form, camelCase, without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


INT32_MAX = 2**31 - 1
"""Most counts and seconds of core/v1 are int32: a larger number does not decode."""

Seconds = Annotated[Integer, Field(ge=0, le=INT32_MAX)]
AtLeastOne = Annotated[Integer, Field(ge=1, le=INT32_MAX)]


class Condition(KubeModel):
    """A metav1.Condition, as others may write it too.

    Only type and status are required: Metacontroller's rolling strategies add an `Updated`
    condition with type, status, reason and message only, and a status write the CRD refuses
    is lost whole (the API server refused every PodCluster status write for this).
    """

    type: str = Field(description="Type of condition in CamelCase, such as Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str | None = Field(
        default=None, description="CamelCase reason for the last transition."
    )
    message: str | None = Field(default=None, description="Human-readable details.")
    last_transition_time: str | None = Field(
        default=None,
        description="When the status last changed.",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        default=None, description="The parent's metadata.generation this condition was set for."
    )


class StatusBase(KubeModel):
    """Fields every kind's status carries."""

    model_config = ConfigDict(extra="allow")

    observed_generation: int | None = Field(
        default=None, description="Written by Metacontroller after every sync."
    )
    conditions: list[Condition] | None = Field(
        default=None, description="Ready is the summary; kinds add their own types."
    )


class KeySelector(KubeModel):
    """A key in a Secret or ConfigMap."""

    name: names.DNS1123Subdomain = Field(
        description="Name of the Secret or ConfigMap in the parent's namespace."
    )
    key: names.ConfigMapKey = Field(description="Key within it.")
    optional: bool | None = Field(default=None, description="Whether it may be missing.")


FIELD_PATH_PATTERN = (
    r"^(metadata\.(name|namespace|uid)|spec\.(nodeName|serviceAccountName)"
    r"|status\.(hostIP|hostIPs|podIP|podIPs)"
    rf"|metadata\.labels\['{names.LABEL_KEY[1:-1]}'\]"
    rf"|metadata\.annotations\['{names.ANNOTATION_KEY[1:-1]}'\])$"
)
"""The Pod fields an environment variable may take (validEnvDownwardAPIFieldPathExpressions in
pkg/apis/core/validation), or one label or annotation."""


class FieldSelector(KubeModel):
    """A field of the Pod, exposed through the downward API."""

    field_path: str = Field(
        pattern=FIELD_PATH_PATTERN,
        max_length=400,
        description="Such as metadata.name, status.podIP or metadata.labels['app'].",
    )
    api_version: Literal["v1"] | None = Field(default=None, description="v1, the default.")


class EnvVarSource(KubeModel):
    """Where an environment variable's value comes from: exactly one source."""

    secret_key_ref: KeySelector | None = Field(default=None, description="A Secret's key.")
    config_map_key_ref: KeySelector | None = Field(default=None, description="A ConfigMap's key.")
    field_ref: FieldSelector | None = Field(default=None, description="A field of the Pod.")

    @model_validator(mode="after")
    def _one_source(self) -> EnvVarSource:
        sources = (self.secret_key_ref, self.config_map_key_ref, self.field_ref)
        if sum(source is not None for source in sources) != 1:
            raise ValueError(
                "valueFrom needs exactly one of secretKeyRef, configMapKeyRef, fieldRef"
            )
        return self


class EnvVar(KubeModel):
    """An environment variable, as in a core/v1 Container."""

    name: names.EnvVarName = Field(
        description="Variable name: letters, digits, '_', '-' and '.', not starting with a digit."
    )
    value: str | None = Field(default=None, description="Literal value.")
    value_from: EnvVarSource | None = Field(default=None, description="Or a reference.")

    @model_validator(mode="after")
    def _value_or_reference(self) -> EnvVar:
        if self.value and self.value_from is not None:
            raise ValueError(f"env {self.name}: value and valueFrom cannot both be given")
        return self


def check_env(env: list[EnvVar] | None) -> list[EnvVar] | None:
    """Refuse a name given twice: the API server warns that apply may drop the earlier one."""
    names.check_unique("env name", [item.name for item in env or []])
    return env


MAX_ENV = 64
"""Environment variables per container: a bound that keeps the CRD's uniqueness rule cheap."""

EnvList = Annotated[
    list[EnvVar],
    Field(
        max_length=MAX_ENV,
        json_schema_extra={
            "x-kubernetes-validations": [names.cel_unique_rule("name", "env names must be unique")]
        },
    ),
]


class ResourceRequirements(KubeModel):
    """Compute resource requests and limits."""

    requests: dict[ResourceName, Quantity] | None = Field(
        default=None,
        max_length=MAX_RESOURCES,
        description="Minimum amounts.",
        json_schema_extra={
            "x-kubernetes-validations": [
                names.cel_keys_rule(
                    RESOURCE_NAME_PATTERN,
                    "cpu, memory, ephemeral-storage or <domain>/<name>",
                )
            ]
        },
    )
    limits: dict[ResourceName, Quantity] | None = Field(
        default=None,
        max_length=MAX_RESOURCES,
        description="Maximum amounts.",
        json_schema_extra={
            "x-kubernetes-validations": [
                names.cel_keys_rule(
                    RESOURCE_NAME_PATTERN,
                    "cpu, memory, ephemeral-storage or <domain>/<name>",
                )
            ]
        },
    )

    @model_validator(mode="after")
    def _acceptable(self) -> ResourceRequirements:
        # The API server would refuse the Pods, not the parent: say so on the parent instead.
        check_resources(self.requests, self.limits)
        return self

    def to_wire(self) -> KubeObject:
        """Return quantities as strings, the form the API server stores."""
        out: KubeObject = {}
        for half in ("limits", "requests"):
            values = getattr(self, half)
            if values:
                out[half] = {name: str(value) for name, value in sorted(values.items())}
        return out


class ContainerPort(KubeModel):
    """A port a container listens on."""

    container_port: names.PortNumber = Field(description="Port number.")
    name: names.PortName | None = Field(
        default=None, description="IANA service name: up to 15 of a-z, 0-9 and '-'."
    )
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="Protocol.")


def check_container_ports(ports: list[ContainerPort] | None) -> None:
    """Refuse a port name or port/protocol given twice in one container (the API server
    refuses the first, and warns of the second)."""
    names.check_unique("port name", [port.name for port in ports or [] if port.name])
    names.check_unique("port", [f"{port.container_port}/{port.protocol}" for port in ports or []])


ContainerPortList = Annotated[
    list[ContainerPort],
    Field(
        max_length=64,
        json_schema_extra={
            "x-kubernetes-validations": [
                names.cel_unique_rule("name", "container port names must be unique")
            ]
        },
    ),
]


class Capabilities(KubeModel):
    """Linux capabilities to add to or drop from a container."""

    add: list[str] | None = Field(default=None, description="Checked against the server policy.")
    drop: list[str] | None = Field(default=None, description="Capabilities to drop.")


class SecurityContext(KubeModel):
    """The container security settings a user may ask for; the server policy judges them."""

    privileged: bool | None = Field(default=None, description="Refused unless policy allows.")
    allow_privilege_escalation: bool | None = Field(default=None, description="setuid binaries.")
    capabilities: Capabilities | None = Field(default=None, description="Added capabilities.")
    run_as_user: Annotated[Integer, Field(ge=0, le=INT32_MAX)] | None = Field(
        default=None, description="UID to run as."
    )
    run_as_group: Annotated[Integer, Field(ge=0, le=INT32_MAX)] | None = Field(
        default=None, description="GID to run as."
    )
    run_as_non_root: bool | None = Field(default=None, description="Refuse to start as root.")
    read_only_root_filesystem: bool | None = Field(default=None, description="Read-only root.")


class ExecAction(KubeModel):
    """A command run in the container."""

    command: list[str] = Field(min_length=1, description="Command and arguments.")


PortNumberOrName = names.PortNumberOrName


class HTTPGetAction(KubeModel):
    """An HTTP GET against the container."""

    path: str = Field(default="/", min_length=1, description="Path to request.")
    port: PortNumberOrName = Field(description="Port number (1-65535) or name.")
    scheme: Literal["HTTP", "HTTPS"] | None = Field(default=None, description="Scheme.")


class TCPSocketAction(KubeModel):
    """A TCP connection to the container."""

    port: PortNumberOrName = Field(description="Port number (1-65535) or name.")


class Probe(KubeModel):
    """A liveness or readiness probe; exactly one handler."""

    exec: ExecAction | None = Field(default=None, description="Run a command.")
    http_get: HTTPGetAction | None = Field(default=None, description="HTTP GET.")
    tcp_socket: TCPSocketAction | None = Field(default=None, description="TCP connect.")
    initial_delay_seconds: Seconds | None = Field(default=None, description="Delay.")
    period_seconds: AtLeastOne | None = Field(default=None, description="Interval.")
    timeout_seconds: AtLeastOne | None = Field(default=None, description="Timeout.")
    failure_threshold: AtLeastOne | None = Field(default=None, description="Failures to act.")
    success_threshold: AtLeastOne | None = Field(
        default=None, description="Successes to pass (1 for a liveness probe)."
    )

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = (self.exec, self.http_get, self.tcp_socket)
        if sum(handler is not None for handler in handlers) != 1:
            raise ValueError("a probe needs exactly one of exec, httpGet or tcpSocket")
        return self


class ExtraContainer(KubeModel):
    """A sidecar or init container added to the Pod beside the main one."""

    name: names.DNS1123Label = Field(description="Container name.")
    image: Image = Field(description="Container image.")
    command: list[str] | None = Field(default=None, description="Entrypoint override.")
    args: list[str] | None = Field(default=None, description="Arguments.")
    env: EnvList | None = Field(default=None, description="Environment variables.")
    ports: ContainerPortList | None = Field(default=None, description="Ports it listens on.")
    resources: ResourceRequirements | None = Field(default=None, description="Resources.")
    security_context: SecurityContext | None = Field(default=None, description="Security.")

    @model_validator(mode="after")
    def _consistent(self) -> ExtraContainer:
        check_env(self.env)
        check_container_ports(self.ports)
        return self


ProbeName = Literal["liveness", "readiness"]


class Probes(KubeModel):
    """The main container's health checks: TCP on its first port unless replaced or switched off."""

    liveness: Probe | None = Field(
        default=None, description="Replaces the default liveness probe (TCP on the first port)."
    )
    readiness: Probe | None = Field(
        default=None, description="Replaces the default readiness probe (TCP on the first port)."
    )
    disable: list[ProbeName] | None = Field(
        default=None, description="Probes to switch off entirely: liveness, readiness or both."
    )

    @model_validator(mode="after")
    def _not_replaced_and_disabled(self) -> Probes:
        for name in self.disable or []:
            if getattr(self, name) is not None:
                raise ValueError(f"the {name} probe is both given and disabled")
        if self.liveness is not None and self.liveness.success_threshold not in (None, 1):
            raise ValueError("a liveness probe's successThreshold must be 1")
        return self
