"""One typed Settings object, loaded once at start-up from a YAML file and KUBEHOOKS_* variables.

Secrets never live here: authentication material is read from files or the environment by the
server (see hooks.auth), so a config file can be a ConfigMap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from hooks.contract import LabelSelector
from hooks.policy import SecurityPolicy

ENV_PREFIX = "KUBEHOOKS_"


class _Config(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class ControllerConfig(_Config):
    """Settings of one controller."""

    default_image: str | None = None
    """Image used when a parent's spec names none; None keeps the controller's built-in one."""
    parent_selector: LabelSelector | None = None
    """Only parents with these labels are handled (rendered into the CompositeController)."""
    resync_period_seconds: int | None = Field(default=None, ge=1)
    """Periodic resync of every parent; None leaves Metacontroller's default (none)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Controller-specific settings, validated against that controller's options model."""


class Limits(_Config):
    """Bounds on what one request may make the server do."""

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """16 MiB: a PodCluster of 1000 realistic Pods is about 6.6 MB."""
    max_json_depth: int = Field(default=64, ge=8)
    """Kubernetes objects nest about 12 deep; 64 leaves room while stopping pathological input."""
    max_children: int = Field(default=5000, ge=1)
    """Observed objects in one request, and children in one answer."""


class Settings(_Config):
    """Everything the server reads at start-up."""

    enabled: tuple[str, ...] | None = None
    """Controllers to serve; None serves every registered one."""
    controllers: dict[str, ControllerConfig] = Field(default_factory=dict)
    policy: SecurityPolicy = Field(default_factory=SecurityPolicy)
    limits: Limits = Field(default_factory=Limits)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    hook_url: str = "http://kubehooks.kubehooks.svc:8080"
    """Base URL Metacontroller calls; rendered into the CompositeControllers."""

    def controller(self, name: str) -> ControllerConfig:
        """Return one controller's settings, defaults when the file says nothing of it."""
        return self.controllers.get(name) or ControllerConfig()


class SettingsError(Exception):
    """The configuration file or environment is unusable; the server refuses to start."""


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load settings from a YAML file (optional) and KUBEHOOKS_* overrides.

    The file comes from `path`, else `KUBEHOOKS_CONFIG`. `KUBEHOOKS_CONTROLLERS=foo,modelbox`
    overrides the enabled list and `KUBEHOOKS_LOG_LEVEL` the log level.
    """
    env = os.environ if environ is None else environ
    path = path or env.get(f"{ENV_PREFIX}CONFIG") or None
    data: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise SettingsError(f"cannot read config file {path}: {err}") from err
        if loaded is not None and not isinstance(loaded, dict):
            raise SettingsError(f"config file {path} must hold a mapping")
        data = dict(loaded or {})
    if env.get(f"{ENV_PREFIX}CONTROLLERS"):
        data["enabled"] = [
            name.strip() for name in env[f"{ENV_PREFIX}CONTROLLERS"].split(",") if name.strip()
        ]
    if env.get(f"{ENV_PREFIX}LOG_LEVEL"):
        data["logLevel"] = env[f"{ENV_PREFIX}LOG_LEVEL"].upper()
    if env.get(f"{ENV_PREFIX}HOOK_URL"):
        data["hookUrl"] = env[f"{ENV_PREFIX}HOOK_URL"]
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        raise SettingsError(f"invalid configuration: {err}") from err
