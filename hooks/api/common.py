"""Spec fragments shared by several kinds, and the base classes every kind's models use.

These models are the single source of the CRD schemas (see `hooks.crd`): a field added here
appears in every CRD that uses it, so the API server and the hooks cannot disagree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from hooks.api.quantity import check_limits_cover_requests
from hooks.contract import KubeObject

Quantity = int | str
"""A Kubernetes resource quantity such as `500m`, `1Gi` or `2`."""

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""An RFC 1123 label: what container, port and most object names must be."""

NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767
"""The API server's default --service-node-port-range; nodePorts outside it are refused."""


class KubeModel(BaseModel):
    """Base of every spec model: camelCase on the wire, unknown fields rejected.

    Rejecting unknown fields matches the CRD, which prunes them: a field the API server would
    silently drop is an error here rather than a surprise.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def to_wire(self) -> KubeObject:
        """Return the JSON-ready form, camelCase, without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Condition(KubeModel):
    """A metav1.Condition."""

    type: str = Field(description="Type of condition in CamelCase, such as Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="CamelCase reason for the last transition.")
    message: str = Field(default="", description="Human-readable details.")
    last_transition_time: str = Field(
        description="When the status last changed.", json_schema_extra={"format": "date-time"}
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

    name: str = Field(description="Name of the Secret or ConfigMap in the parent's namespace.")
    key: str = Field(description="Key within it.")
    optional: bool | None = Field(default=None, description="Whether it may be missing.")


class FieldSelector(KubeModel):
    """A field of the Pod, exposed through the downward API."""

    field_path: str = Field(description="Such as metadata.name or status.podIP.")
    api_version: str | None = Field(default=None, description="Version of fieldPath's schema.")


class EnvVarSource(KubeModel):
    """Where an environment variable's value comes from."""

    secret_key_ref: KeySelector | None = Field(default=None, description="A Secret's key.")
    config_map_key_ref: KeySelector | None = Field(default=None, description="A ConfigMap's key.")
    field_ref: FieldSelector | None = Field(default=None, description="A field of the Pod.")


class EnvVar(KubeModel):
    """An environment variable, as in a core/v1 Container."""

    name: str = Field(min_length=1, description="Variable name.")
    value: str | None = Field(default=None, description="Literal value.")
    value_from: EnvVarSource | None = Field(default=None, description="Or a reference.")


class ResourceRequirements(KubeModel):
    """Compute resource requests and limits."""

    requests: dict[str, Quantity] | None = Field(default=None, description="Minimum amounts.")
    limits: dict[str, Quantity] | None = Field(default=None, description="Maximum amounts.")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourceRequirements:
        # The API server would refuse the Pods, not the parent: say so on the parent instead.
        check_limits_cover_requests(self.requests, self.limits)
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

    container_port: int = Field(ge=1, le=65535, description="Port number.")
    name: str | None = Field(default=None, max_length=15, description="IANA service name.")
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="Protocol.")


class Capabilities(KubeModel):
    """Linux capabilities to add to or drop from a container."""

    add: list[str] | None = Field(default=None, description="Checked against the server policy.")
    drop: list[str] | None = Field(default=None, description="Capabilities to drop.")


class SecurityContext(KubeModel):
    """The container security settings a user may ask for; the server policy judges them."""

    privileged: bool | None = Field(default=None, description="Refused unless policy allows.")
    allow_privilege_escalation: bool | None = Field(default=None, description="setuid binaries.")
    capabilities: Capabilities | None = Field(default=None, description="Added capabilities.")
    run_as_user: int | None = Field(default=None, ge=0, description="UID to run as.")
    run_as_group: int | None = Field(default=None, ge=0, description="GID to run as.")
    run_as_non_root: bool | None = Field(default=None, description="Refuse to start as root.")
    read_only_root_filesystem: bool | None = Field(default=None, description="Read-only root.")


class ExecAction(KubeModel):
    """A command run in the container."""

    command: list[str] = Field(min_length=1, description="Command and arguments.")


class HTTPGetAction(KubeModel):
    """An HTTP GET against the container."""

    path: str = Field(default="/", description="Path to request.")
    port: int | str = Field(description="Port number or name.")
    scheme: Literal["HTTP", "HTTPS"] | None = Field(default=None, description="Scheme.")


class TCPSocketAction(KubeModel):
    """A TCP connection to the container."""

    port: int | str = Field(description="Port number or name.")


class Probe(KubeModel):
    """A liveness or readiness probe; exactly one handler."""

    exec: ExecAction | None = Field(default=None, description="Run a command.")
    http_get: HTTPGetAction | None = Field(default=None, description="HTTP GET.")
    tcp_socket: TCPSocketAction | None = Field(default=None, description="TCP connect.")
    initial_delay_seconds: int | None = Field(default=None, ge=0, description="Delay.")
    period_seconds: int | None = Field(default=None, ge=1, description="Interval.")
    timeout_seconds: int | None = Field(default=None, ge=1, description="Timeout.")
    failure_threshold: int | None = Field(default=None, ge=1, description="Failures to act.")
    success_threshold: int | None = Field(default=None, ge=1, description="Successes to pass.")

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = (self.exec, self.http_get, self.tcp_socket)
        if sum(handler is not None for handler in handlers) != 1:
            raise ValueError("a probe needs exactly one of exec, httpGet or tcpSocket")
        return self


class ExtraContainer(KubeModel):
    """A sidecar or init container added to the Pod beside the main one."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63, description="Container name.")
    image: str = Field(min_length=1, description="Container image.")
    command: list[str] | None = Field(default=None, description="Entrypoint override.")
    args: list[str] | None = Field(default=None, description="Arguments.")
    env: list[EnvVar] | None = Field(default=None, description="Environment variables.")
    ports: list[ContainerPort] | None = Field(default=None, description="Ports it listens on.")
    resources: ResourceRequirements | None = Field(default=None, description="Resources.")
    security_context: SecurityContext | None = Field(default=None, description="Security.")


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
        return self
