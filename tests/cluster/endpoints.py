"""TEST HARNESS: how Metacontroller resolves a hook's TLS and credentials before it starts a
controller.

Metacontroller resolves `endpointConfigs` (and per-hook `caBundle`, `clientTLS`,
`authorization`, `basicAuth`) when it builds a CompositeController's controller, reading the
Secrets and ConfigMaps they name from the API server. Any failure (a missing Secret, a
missing key) fails `newParentController`: the controller is not started at all, and
Metacontroller retries the CompositeController later. Matching is by the webhook URL's host
only, whatever its scheme, so an `http://` URL still needs the Secrets of an endpoint
config for its host.

Sources (metacontroller v4.17.2):
- pkg/controller/composite/controller.go `newParentController` (sync and finalize hooks);
  pkg/controller/common/customize/manager.go `NewCustomizeManager` (customize hook);
- pkg/hooks/endpoint_config.go `ResolveEndpointConfig`, `resolveFields`,
  `matchEndpointConfig`; pkg/hooks/webhook.go `webhookURL`;
- pkg/hooks/auth.go `ResolveAuthorization`, `ResolveBasicAuth`, `ResolveClientTLS`;
- pkg/hooks/cabundle.go `ResolveCABundle`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.cluster.kube import Kube, KubeObject

DEFAULT_CA_KEY = "ca.crt"


class EndpointConfigError(AssertionError):
    """`can't resolve endpoint config for <hook> hook`: Metacontroller starts no controller."""


@dataclass(frozen=True)
class Resolved:
    """What a hook call carries (`ResolvedEndpointConfig`); the harness sends `auth_header`."""

    auth_header: str = ""
    ca_bundle: bytes = b""
    client_cert: bool = False


def webhook_url(webhook: KubeObject) -> str:
    """webhook.go `webhookURL`: `url`, or `<protocol>://<service>.<namespace>:<port><path>`."""
    if webhook.get("url"):
        return str(webhook["url"])
    service, path = webhook.get("service"), webhook.get("path")
    if not service or path is None:
        raise ValueError("invalid webhook config: must specify either a full 'url', or both")
    port = service.get("port") or 80
    protocol = service.get("protocol") or "http"
    return f"{protocol}://{service['name']}.{service['namespace']}:{port}{path}"


def match_endpoint_config(url: str, configs: list[KubeObject]) -> KubeObject | None:
    """endpoint_config.go `matchEndpointConfig`: the first entry for the URL's host, the
    scheme's default port optional on either side; case-insensitive."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    hostname = parts.hostname or ""
    default_port = {"https": "443", "http": "80"}.get(parts.scheme)
    port = str(parts.port) if parts.port is not None else ""
    canonical = host if port or default_port is None else f"{hostname}:{default_port}"
    for config in configs:
        wanted = str(config.get("host") or "").lower()
        if wanted in (host.lower(), canonical.lower()):
            return config
        if port and port == default_port and wanted == hostname.lower():
            return config
    return None


def _secret_data(kube: Kube, ref: KubeObject, what: str) -> dict[str, bytes]:
    secrets = kube.resource("v1", kind="Secret")
    secret = kube.get_or_none(secrets, ref.get("namespace"), str(ref.get("name")))
    if secret is None:
        raise EndpointConfigError(
            f"can't get {what} secret {ref.get('namespace')}/{ref.get('name')}: not found"
        )
    return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}


def _key(data: dict[str, bytes], key: str, what: str, ref: KubeObject) -> bytes:
    if key not in data:
        raise EndpointConfigError(
            f"{what} secret {ref.get('namespace')}/{ref.get('name')} does not contain key {key!r}"
        )
    return data[key]


def resolve_ca_bundle(kube: Kube, spec: KubeObject | None) -> bytes:
    """cabundle.go `ResolveCABundle`: exactly one of inline, secretRef, configMapRef."""
    if spec is None:
        return b""
    sources = [
        name for name in ("inline", "secretRef", "configMapRef") if spec.get(name) is not None
    ]
    if len(sources) != 1:
        raise EndpointConfigError(f"caBundle must set exactly one source, has {sources}")
    if sources == ["inline"]:
        return str(spec["inline"]).encode()
    ref = spec[sources[0]]
    key = ref.get("key") or DEFAULT_CA_KEY
    if sources == ["secretRef"]:
        data = _secret_data(kube, ref, "caBundle")
        value = _key(data, key, "caBundle", ref)
    else:
        maps = kube.resource("v1", kind="ConfigMap")
        found = kube.get_or_none(maps, ref.get("namespace"), str(ref.get("name")))
        if found is None:
            raise EndpointConfigError(
                f"caBundle: failed to get ConfigMap {ref.get('namespace')}/{ref.get('name')}"
            )
        value = str((found.get("data") or {}).get(key, "")).encode()
    if not value:
        raise EndpointConfigError(f"caBundle: key {key!r} is missing or empty")
    return value


def resolve_fields(kube: Kube, fields: KubeObject) -> Resolved | None:
    """endpoint_config.go `resolveFields`: every named Secret must exist with its keys."""
    authorization, basic = fields.get("authorization"), fields.get("basicAuth")
    if authorization is not None and basic is not None:
        raise EndpointConfigError("authorization and basicAuth are mutually exclusive")
    ca_bundle = resolve_ca_bundle(kube, fields.get("caBundle"))
    client_tls = fields.get("clientTLS")
    if client_tls is not None:
        ref = client_tls.get("secretRef") or {}
        data = _secret_data(kube, ref, "clientTLS")
        _key(data, client_tls.get("certKey") or "tls.crt", "clientTLS", ref)
        _key(data, client_tls.get("privateKeyKey") or "tls.key", "clientTLS", ref)
    header = ""
    if authorization is not None:
        kind = str(authorization.get("type") or "").strip()
        if kind.lower() == "basic":
            raise EndpointConfigError(f"authorization type {kind!r} is not supported")
        ref = authorization.get("secretRef") or {}
        token = _key(
            _secret_data(kube, ref, "authorization"), ref.get("key", ""), "authorization", ref
        )
        header = f"{kind or 'Bearer'} {token.decode().strip()}"
    elif basic is not None:
        ref = basic.get("secretRef") or {}
        data = _secret_data(kube, ref, "basicAuth")
        user = _key(data, basic.get("usernameKey") or "username", "basicAuth", ref).decode()
        password = _key(data, basic.get("passwordKey") or "password", "basicAuth", ref).decode()
        if ":" in user:
            raise EndpointConfigError("basicAuth username must not contain ':'")
        pair = f"{user.strip()}:{password.strip()}".encode()
        header = "Basic " + base64.b64encode(pair).decode()
    if not ca_bundle and not header and client_tls is None:
        return None
    return Resolved(auth_header=header, ca_bundle=ca_bundle, client_cert=client_tls is not None)


OVERRIDES = ("caBundle", "clientTLS", "authorization", "basicAuth")


def resolve_endpoint_config(
    kube: Kube, hook_name: str, webhook: KubeObject | None, configs: list[Any]
) -> Resolved | None:
    """endpoint_config.go `ResolveEndpointConfig`: per-hook fields win whole; otherwise the
    first `endpointConfigs` entry for the URL's host. Raises EndpointConfigError, worded as
    Metacontroller's CreateError event, when anything it names cannot be read."""
    if webhook is None:
        return None
    try:
        if any(webhook.get(name) is not None for name in OVERRIDES):
            return resolve_fields(kube, webhook)
        if not configs:
            return None
        try:
            url = webhook_url(webhook)
        except ValueError:
            return None
        config = match_endpoint_config(url, configs)
        return resolve_fields(kube, config) if config is not None else None
    except EndpointConfigError as err:
        raise EndpointConfigError(
            f"Cannot create new controller: can't resolve endpoint config for {hook_name} "
            f"hook: {err}"
        ) from err
