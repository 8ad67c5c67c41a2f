"""Application, from the operator course notes: a web app as Deployment + Service (+ Ingress)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from hooks.sdk import (
    AGE,
    NODE_PORT_MAX,
    NODE_PORT_MIN,
    READY_COLUMN,
    REASON_COLUMN,
    REPLICAS_SCALE,
    EnvVar,
    Kind,
    KubeModel,
    PrinterColumn,
    Probes,
    ResourceRequirements,
    StatusBase,
)

HOST_PATTERN = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A DNS name as an Ingress rule takes it; a leading `*.` makes it a wildcard."""


class ServiceSpec(KubeModel):
    """How the Application's Service exposes it."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        default="ClusterIP", description="Service type: ClusterIP, NodePort or LoadBalancer."
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Service port; default: the container port."
    )
    node_port: int | None = Field(
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

    secret_name: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        max_length=253,
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
    class_name: str = Field(
        default="nginx", min_length=1, description="IngressClass to use (default nginx)."
    )
    path: str = Field(default="/", pattern=r"^/", description="Path to route (default /).")
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = Field(
        default="Prefix",
        description="How the path matches: Prefix, Exact or ImplementationSpecific.",
    )
    tls: IngressTLS | None = Field(default=None, description="Serve HTTPS with this certificate.")
    annotations: dict[str, str] | None = Field(
        default=None, description="Annotations for the ingress controller, such as rewrite rules."
    )

    @model_validator(mode="after")
    def _host_is_a_name(self) -> IngressSpec:
        if self.host and re.fullmatch(r"[0-9.]+", self.host):
            raise ValueError(f"ingress host {self.host} must be a DNS name, not an IP address")
        return self


class ApplicationSpec(KubeModel):
    """A container image served on one port, optionally exposed through an Ingress."""

    image: str = Field(min_length=1, description="Container image, such as nginx:1.27.")
    replicas: int = Field(default=1, ge=0, le=1000, description="Desired Pods (default 1).")
    port: int = Field(
        default=8080, ge=1, le=65535, description="Port the container listens on (default 8080)."
    )
    env: list[EnvVar] | None = Field(default=None, description="Environment variables.")
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
