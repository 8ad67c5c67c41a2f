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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
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
    max_in_flight: int | None = Field(default=None, ge=1)
    """Hook calls the server holds at once (64 when unset); more get 429 with Retry-After.

    Held: admitted and computing, or waiting for its turn to compute (a worker process computes
    one call at a time). The limit is spread evenly over the worker processes, each holding at
    most its threads minus one (`hooks.edge.in_flight_limit`), so a held call waits for at most
    `maxInFlight / workers - 1` calls ahead of it, and a burst is refused before it queues into
    Metacontroller's 10 s timeout; while calls are refused, a call of 64 KB or more waits at most
    about half of its own computation (`hooks.inflight.InFlight.reserve`). 64 lets every
    controller's 5 Metacontroller workers call at once.
    """
    header_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    """Time a client has to send a request's headers (TLS handshake included); then 408."""
    body_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    """Time a client has to send the body once the headers are in (and the deadline of each
    read or write of a thread answering); then 408. 16 MiB at 1 MB/s fits."""
    retry_after_seconds: int = Field(default=1, ge=1, le=60)
    """The least Retry-After of a 429; Metacontroller requeues the parent after exactly as long.
    While many calls are refused, a random spread is added, so that callers refused together do
    not come back together (`hooks.inflight.InFlight.retry_after`)."""
    retry_after_max_seconds: int = Field(default=30, ge=1, le=600)
    """The most Retry-After of a 429, its spread included (never less than `retryAfterSeconds`)."""


class AuthConfig(_Config):
    """Where the credentials Metacontroller must send are read from; never the secrets themselves.

    A file is a mounted Secret key; the KUBEHOOKS_BEARER_TOKEN, KUBEHOOKS_BASIC_AUTH_USERNAME and
    KUBEHOOKS_BASIC_AUTH_PASSWORD variables are the alternative when no file is named. With no
    credential configured anywhere, the hooks are unauthenticated.
    """

    bearer_token_file: str | None = None
    """File holding the accepted tokens of `Authorization: Bearer <token>`, one a line (each
    trimmed, as Metacontroller trims it): old and new while a token is rotated."""
    basic_auth_username_file: str | None = None
    """File holding the HTTP basic auth user name (a `kubernetes.io/basic-auth` Secret key)."""
    basic_auth_password_file: str | None = None
    """File holding the accepted HTTP basic auth passwords, one a line."""
    protect_metrics: bool = False
    """Whether GET /metrics needs the credentials too. Off by default: the metrics name no
    parent, and a scraper holding the hook credential would widen its exposure."""


class TlsConfig(_Config):
    """Serving HTTPS: certificate and key files, and optionally a CA that client certs need."""

    cert_file: str | None = None
    """PEM certificate chain (a `kubernetes.io/tls` Secret's tls.crt); None serves plain HTTP."""
    key_file: str | None = None
    """PEM private key of the certificate."""
    client_ca_file: str | None = None
    """PEM CA bundle; when set, every client must present a certificate it signed (mutual TLS)."""

    @model_validator(mode="after")
    def _complete(self) -> TlsConfig:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("tls needs both certFile and keyFile")
        if self.client_ca_file and not self.cert_file:
            raise ValueError("tls.clientCaFile (mutual TLS) needs certFile and keyFile")
        return self

    @property
    def enabled(self) -> bool:
        """Return whether the server speaks HTTPS."""
        return bool(self.cert_file)


class Settings(_Config):
    """Everything the server reads at start-up."""

    enabled: tuple[str, ...] | None = None
    """Controllers to serve; None serves every registered one."""
    controllers: dict[str, ControllerConfig] = Field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    """Controllers to load as `package.module:ATTRIBUTE`, beside the built-ins and installed
    `kubehooks.controllers` entry points (`kubehooks --controller` adds to this list)."""
    policy: SecurityPolicy = Field(default_factory=SecurityPolicy)
    limits: Limits = Field(default_factory=Limits)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    tls: TlsConfig = Field(default_factory=TlsConfig)
    etag: bool = True
    """Answer 200s with an ETag (a hash of the request) and a matching If-None-Match with 304."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Any case in the file, as in KUBEHOOKS_LOG_LEVEL."""
    image: str = Field(default="kubehooks:0.1.0", min_length=1)
    """The server's image in the rendered Deployment (`kubehooks manifests`; `--image` too), so
    that re-rendering keeps a registry's image instead of undoing a `kustomize edit`."""
    portal_image: str | None = Field(default=None, min_length=1)
    """The portal's image (`docker build --target portal`) in its rendered Deployment; None:
    the server's image with `-portal` after its tag (kubehooks:0.1.0 -> kubehooks:0.1.0-portal)."""
    hook_url: str = "https://kubehooks.kubehooks.svc"
    """Base URL Metacontroller calls; rendered into the CompositeControllers."""
    hook_auth: Literal["bearer", "none"] = "bearer"
    """What the rendered CompositeControllers send (`kubehooks manifests`): a bearer token from
    the Secret `kubehooks-auth`, or nothing (then no Secret is referenced or mounted)."""
    hook_token_key: str = Field(default="token", pattern=r"^[-._a-zA-Z0-9]+$")
    """Key of `kubehooks-auth` Metacontroller sends. Renaming it is the spec change that makes
    Metacontroller rebuild its hook clients and read the new token (README: rotation)."""
    allow_insecure_auth: bool = False
    """Render `hookAuth` over an `http://` hookUrl anyway, e.g. behind a mesh that encrypts
    Pod traffic; otherwise `kubehooks manifests` refuses, as the token would cross in clear."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def controller(self, name: str) -> ControllerConfig:
        """Return one controller's settings, defaults when the file says nothing of it."""
        return self.controllers.get(name) or ControllerConfig()


class SettingsError(ValueError):
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
        raise SettingsError(f"invalid configuration: {describe_config_error(err)}") from None


_HINTS = {
    ("auth", "bearerToken"): "name a file with bearerTokenFile, or set KUBEHOOKS_BEARER_TOKEN",
    ("auth", "basicAuthPassword"): "name a file with basicAuthPasswordFile, or set "
    "KUBEHOOKS_BASIC_AUTH_PASSWORD",
}
"""Secrets never live in the config file: a likely mistake gets the way that works."""


def describe_config_error(err: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    """Return `path.to.key: message; ...`, without pydantic's input echo and URL.

    The input is left out on purpose: a misplaced secret must not be printed to a log.
    """
    parts = []
    for item in err.errors():
        loc = (*prefix, *(str(part) for part in item["loc"]))
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        hint = _HINTS.get((loc[-2], loc[-1])) if len(loc) >= 2 else None
        where = ".".join(loc) or "(top level)"
        parts.append(f"{where}: {message}" + (f" ({hint})" if hint else ""))
    return "; ".join(parts)
