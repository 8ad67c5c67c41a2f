"""The portal's typed settings: database, tenancy, authentication files, retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from hooks.settings import SettingsError, describe_config_error


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


def load_portal_settings(path: str | Path | None) -> PortalSettings:
    """Read the portal's YAML file (its own file: the hook server's config forbids unknown keys)."""
    data: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise SettingsError(f"cannot read config file {path}: {err}") from err
        if not isinstance(loaded, dict):
            raise SettingsError(f"config file {path} must hold a mapping")
        data = loaded
    try:
        return PortalSettings.model_validate(data)
    except ValidationError as err:
        raise SettingsError(f"invalid configuration: {describe_config_error(err)}") from None
