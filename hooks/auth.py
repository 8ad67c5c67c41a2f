"""Authenticating Metacontroller: a bearer token or HTTP basic auth, compared in constant time.

Metacontroller sends `Authorization: Bearer <token>` (endpointConfigs `authorization`) or
`Authorization: Basic <base64(user:password)>` (endpointConfigs `basicAuth`). The secrets are read
once, at start-up, from files (mounted Secret keys) or KUBEHOOKS_* variables, never from the
config file; a request then costs one `hmac.compare_digest`. A refusal says nothing about why.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hooks.settings import AuthConfig, SettingsError

BEARER_ENV = "KUBEHOOKS_BEARER_TOKEN"
BASIC_USERNAME_ENV = "KUBEHOOKS_BASIC_AUTH_USERNAME"
BASIC_PASSWORD_ENV = "KUBEHOOKS_BASIC_AUTH_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    """What an Authorization header must carry; both None means authentication is off."""

    bearer: bytes | None = None
    """The token, as the bytes that follow `Bearer `."""
    basic: bytes | None = None
    """base64(`user:password`), as the bytes that follow `Basic `."""

    @property
    def enabled(self) -> bool:
        """Say whether requests must authenticate."""
        return self.bearer is not None or self.basic is not None

    @property
    def challenge(self) -> str:
        """Return the WWW-Authenticate value of a 401: the schemes that would be accepted."""
        schemes = []
        if self.bearer is not None:
            schemes.append('Bearer realm="kubehooks"')
        if self.basic is not None:
            schemes.append('Basic realm="kubehooks", charset="UTF-8"')
        return ", ".join(schemes)

    def accepts(self, header: str | None) -> bool:
        """Say whether an Authorization header carries the configured credentials.

        The scheme is matched case-insensitively (RFC 9110); the credentials with one constant-time
        comparison, so the answer's timing does not reveal how much of a guess was right. WSGI
        hands headers over as latin-1 text, so encoding back to latin-1 restores the sent bytes.
        """
        if not header:
            return False
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.bearer is not None:
            expected = self.bearer
        elif scheme == "basic" and self.basic is not None:
            expected = self.basic
        else:
            return False
        try:
            given = value.strip().encode("latin-1")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(given, expected)


def load_credentials(config: AuthConfig, environ: Mapping[str, str]) -> Credentials:
    """Read the configured secrets; anything configured but unusable refuses to start.

    A file named in the config wins over the variable. A variable that is set but empty is an
    error rather than "no authentication": a Secret key that went missing must not silently open
    the server.
    """
    token = _secret(config.bearer_token_file, environ, BEARER_ENV)
    username = _secret(config.basic_auth_username_file, environ, BASIC_USERNAME_ENV)
    password = _secret(config.basic_auth_password_file, environ, BASIC_PASSWORD_ENV)
    if (username is None) != (password is None):
        raise SettingsError("basic auth needs both a user name and a password")
    basic = None
    if username is not None and password is not None:
        if ":" in username:
            raise SettingsError("the basic auth user name must not contain ':'")
        basic = base64.b64encode(f"{username}:{password}".encode())
    return Credentials(bearer=token.encode() if token is not None else None, basic=basic)


def _secret(path: str | None, environ: Mapping[str, str], variable: str) -> str | None:
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise SettingsError(f"cannot read secret file {path}: {err}") from err
        where = path
    elif variable in environ:
        value = environ[variable].strip()
        where = f"${variable}"
    else:
        return None
    if not value:
        raise SettingsError(f"{where} is empty; refusing to serve without its credential")
    return value
