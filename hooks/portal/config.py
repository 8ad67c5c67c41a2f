"""The portal's typed settings: database, tenancy, authentication files, retention."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from hooks.settings import Limits, SettingsError, TlsConfig, describe_config_error


class _Config(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Tenancy(_Config):
    """Which namespaces a user sees: by user name and by group; `*` means every namespace."""

    users: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Retention(_Config):
    """How long history is kept; None keeps it forever."""

    max_age_days: float | None = Field(default=None, gt=0)
    max_rows: int | None = Field(default=None, ge=1)
    sweep_seconds: float = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    """How often the writer applies maxAgeDays and maxRows (each sweep is one DELETE)."""


class PortalSettings(_Config):
    """Everything `kubehooks portal` reads at start-up, from its own YAML file."""

    database_url: str | None = None
    """SQLAlchemy URL (postgresql+psycopg://..., mysql+pymysql://...); None: SQLite in dataDir."""
    data_dir: str = "./kubehooks-data"
    token_file: str | None = None
    """CSV like kube-apiserver's token.csv: token,user,uid,"group1,group2"."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses whose X-Forwarded-User/X-Forwarded-Groups headers are believed."""
    tenancy: Tenancy = Field(default_factory=Tenancy)
    retention: Retention = Field(default_factory=Retention)
    buffer_size: int = Field(default=10_000, ge=1)
    """Recorded events held while the database is down; the watch pauses when it is full."""
    kubeconfig: str | None = None
    """None: in-cluster config, else $KUBECONFIG or ~/.kube/config."""
    host: str = "127.0.0.1"
    port: int = Field(default=8099, ge=1, le=65535)
    controllers: tuple[str, ...] | None = None
    """Controller names whose kinds are served and recorded; None: every registered one."""
    tls: TlsConfig = Field(default_factory=TlsConfig)
    """HTTPS from certificate and key files, as the hook server's `tls:` (mutual TLS too)."""
    limits: Limits = Field(default_factory=Limits)
    """Read deadlines and the in-flight bound, as the hook server's `limits:` (maxBodyBytes,
    headerTimeoutSeconds, bodyTimeoutSeconds, maxInFlight, retryAfterSeconds)."""
    threads: int = Field(default=16, ge=2, le=256)
    """Threads answering requests (one process); at most threads - 1 requests are held, the
    next gets 429 with Retry-After."""
    session_key_file: str | None = None
    """The web UI's session signing key (a file of random bytes); None: a new key at every
    start, so sessions end when the portal restarts."""
    session_hours: float = Field(default=12, gt=0)
    """How long a web UI sign-in lasts."""

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, SQLite in the data directory by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'history.sqlite3'}"


ENV_DEFAULTS = {"host": "KUBEHOOKS_PORTAL_HOST", "port": "KUBEHOOKS_PORTAL_PORT"}
"""Variables giving `host` and `port` when the file does not: the portal image sets them, so
its HEALTHCHECK probes the port the portal listens on (set them, rather than the file's)."""


def load_portal_settings(
    path: str | Path | None, environ: Mapping[str, str] | None = None
) -> PortalSettings:
    """Read the portal's YAML file (its own file: the hook server's config forbids unknown keys);
    KUBEHOOKS_PORTAL_HOST and KUBEHOOKS_PORTAL_PORT stand in for a missing host and port."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise SettingsError(f"cannot read config file {path}: {err}") from err
        if not isinstance(loaded, dict):
            raise SettingsError(f"config file {path} must hold a mapping")
        data = loaded
    for key, variable in ENV_DEFAULTS.items():
        if key not in data and env.get(variable):
            data[key] = env[variable]
    try:
        return PortalSettings.model_validate(data)
    except ValidationError as err:
        raise SettingsError(f"invalid configuration: {describe_config_error(err)}") from None
