"""Application, from the operator course notes: a web app as Deployment + Service (+ Ingress)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from hooks.sdk import (
    AGE,
    NODE_PORT_MAX,
    NODE_PORT_MIN,
    READY_COLUMN,
    REASON_COLUMN,
    REPLICAS_SCALE,
    EnvList,
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

HOST_PATTERN = rf"^(\*\.)?{names.DNS1123_SUBDOMAIN_FMT}$"
"""A DNS name as an Ingress rule takes it; a leading `*.` makes it a wildcard."""

MAX_ANNOTATIONS = 32


class ServiceSpec(KubeModel):
    """How the Application's Service exposes it."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        default="ClusterIP", description="Service type: ClusterIP, NodePort or LoadBalancer."
    )
    port: names.PortNumber | None = Field(
        default=None, description="Service port; default: the container port."
    )
    node_port: Integer | None = Field(
        default=None,
        ge=NODE_PORT_MIN,
        le=NODE_PORT_MAX,
        description="Fixed node port (NodePort or LoadBalancer only); default: one is assigned.",
    )

    @model_validator(mode="after")
    def _node_port_needs_node_ports(self) -> ServiceSpec:
        if self.node_port is not None and self.type == "ClusterIP":
            raise ValueError("nodePort needs type NodePort or LoadBalancer")
        return self


class IngressTLS(KubeModel):
    """TLS termination at the Ingress."""

    secret_name: names.DNS1123Subdomain = Field(
        description="Secret of type kubernetes.io/tls holding the certificate for the host.",
    )


class IngressSpec(KubeModel):
    """An optional Ingress routing a host and path to the Service."""

    enabled: bool = Field(default=False, description="Create the Ingress.")
    host: str | None = Field(
        default=None,
        pattern=HOST_PATTERN,
        max_length=253,
        description="Host name, such as example.foo.com; unset matches any host.",
    )
    class_name: names.DNS1123Subdomain = Field(
        default="nginx", description="IngressClass to use (default nginx): a DNS subdomain."
    )
    path: str = Field(default="/", pattern=r"^/", description="Path to route (default /).")
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = Field(
        default="Prefix",
        description="How the path matches: Prefix, Exact or ImplementationSpecific.",
    )
    tls: IngressTLS | None = Field(default=None, description="Serve HTTPS with this certificate.")
    annotations: Annotated[dict[str, str], AfterValidator(names.check_annotations)] | None = Field(
        default=None,
        max_length=MAX_ANNOTATIONS,
        description="Annotations for the ingress controller, such as rewrite rules: keys are "
        "[prefix/]name, the prefix a DNS subdomain.",
        json_schema_extra={
            "x-kubernetes-validations": [
                names.cel_keys_rule(names.ANNOTATION_KEY_LOOSE, "[prefix/]name")
            ]
        },
    )

    @model_validator(mode="after")
    def _host_is_a_name(self) -> IngressSpec:
        if self.host and re.fullmatch(r"[0-9.]+", self.host):
            raise ValueError(f"ingress host {self.host} must be a DNS name, not an IP address")
        return self


class ApplicationSpec(KubeModel):
    """A container image served on one port, optionally exposed through an Ingress."""

    image: Image = Field(description="Container image, such as nginx:1.27.")
    replicas: Integer = Field(default=1, ge=0, le=1000, description="Desired Pods (default 1).")
    port: names.PortNumber = Field(
        default=8080, description="Port the container listens on (default 8080)."
    )
    env: EnvList | None = Field(default=None, description="Environment variables.")
    resources: ResourceRequirements | None = Field(
        default=None, description="Requests and limits of the container; limits >= requests."
    )
    service: ServiceSpec = Field(
        default_factory=ServiceSpec, description="The Service in front of the Pods."
    )
    ingress: IngressSpec = Field(
        default_factory=IngressSpec, description="An Ingress to the Service (off by default)."
    )
    probes: Probes | None = Field(
        default=None,
        description="Liveness and readiness probes; default: TCP on the port for both.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ApplicationSpec:
        check_env(self.env)
        return self


class ApplicationStatus(StatusBase):
    """What the observed Deployment and Ingress report."""

    replicas: int | None = Field(default=None, description="Pods of the Deployment.")
    ready_replicas: int | None = Field(default=None, description="Ready Pods.")
    available_replicas: int | None = Field(default=None, description="Available Pods.")
    selector: str | None = Field(default=None, description="Label selector of the Pods.")
    url: str | None = Field(default=None, description="URL the Ingress serves, once it exists.")


APPLICATION = Kind(
    kind="Application",
    plural="applications",
    spec=ApplicationSpec,
    status=ApplicationStatus,
    description="An Application runs an image as a Deployment behind a Service and an Ingress.",
    scale=REPLICAS_SCALE,
    printer_columns=(
        PrinterColumn("Image", "string", ".spec.image", priority=1),
        PrinterColumn("Desired", "integer", ".spec.replicas"),
        PrinterColumn("Available", "integer", ".status.availableReplicas"),
        PrinterColumn("URL", "string", ".status.url"),
        READY_COLUMN,
        REASON_COLUMN,
        AGE,
    ),
)
