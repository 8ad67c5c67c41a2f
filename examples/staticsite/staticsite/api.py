"""StaticSite: a static website served by nginx from files kept in the spec.

The spec and status models; the CRD is generated from them.
"""

from __future__ import annotations

from typing import Annotated

from hooks.sdk import AGE, READY_COLUMN, REASON_COLUMN, Kind, KubeModel, StatusBase
from pydantic import Field, model_validator

MAX_SITE_BYTES = 900 * 1024
"""A ConfigMap holds at most 1 MiB; this leaves room for its metadata."""


class StaticSiteSpec(KubeModel):
    """What a StaticSite asks for; every field has a default, so `spec: {}` works."""

    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Container image; the configured default, else the built-in.",
    )
    replicas: int = Field(default=1, ge=0, le=100, description="Pods to run.")
    port: int = Field(default=80, ge=1, le=65535, description="Port of the Service.")
    files: dict[Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")], str] = Field(
        default_factory=lambda: {"index.html": "<h1>It works</h1>\n"},
        min_length=1,
        max_length=64,
        description="Files served at the site's root, by name; index.html is the home page.",
    )

    @model_validator(mode="after")
    def _fits_a_configmap(self) -> StaticSiteSpec:
        size = sum(len(name) + len(text.encode()) for name, text in self.files.items())
        if size > MAX_SITE_BYTES:
            raise ValueError(f"files hold {size} bytes; a ConfigMap takes {MAX_SITE_BYTES}")
        return self


class StaticSiteStatus(StatusBase):
    """What the controller observed: conditions (Ready) and the generation."""


STATICSITE = Kind(
    kind="StaticSite",
    plural="staticsites",
    spec=StaticSiteSpec,
    status=StaticSiteStatus,
    short_names=("site",),
    printer_columns=(READY_COLUMN, REASON_COLUMN, AGE),
    description="A static website: nginx serving the spec's files from a ConfigMap.",
    group="kubehooks.dev",
)
