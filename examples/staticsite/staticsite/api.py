"""StaticSite: the spec and status models; the CRD is generated from them."""

from __future__ import annotations

from typing import Annotated

from hooks.sdk import AGE, READY_COLUMN, REASON_COLUMN, Kind, KubeModel, StatusBase
from pydantic import Field


class StaticSiteSpec(KubeModel):
    """What a StaticSite asks for; every field has a default, so `spec: {}` works."""

    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Container image; the configured default, else the built-in.",
    )
    replicas: int = Field(default=1, ge=0, le=100, description="Pods to run.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port served.")
    data: dict[Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")], str] = Field(
        default_factory=dict, max_length=64, description="Files of the ConfigMap."
    )


class StaticSiteStatus(StatusBase):
    """What the controller observed: conditions (Ready) and the generation."""


STATICSITE = Kind(
    kind="StaticSite",
    plural="staticsites",
    spec=StaticSiteSpec,
    status=StaticSiteStatus,
    printer_columns=(READY_COLUMN, REASON_COLUMN, AGE),
    description="A StaticSite, kept by kubehooks.",
    group="kubehooks.dev",
)
