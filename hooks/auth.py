"""Authenticating Metacontroller: a bearer token or HTTP basic auth, compared in constant time.

Metacontroller sends `Authorization: Bearer <token>` (endpointConfigs `authorization`) or
`Authorization: Basic <base64(user:password)>` (endpointConfigs `basicAuth`). The secrets are read
once, at start-up, from files (mounted Secret keys) or KUBEHOOKS_* variables, never from the
config file; a request then costs one `hmac.compare_digest` per accepted secret. A refusal says
nothing about why.

A token file (and the password file) may hold several secrets, one a line, all accepted: that is
the overlap a rotation needs. Metacontroller reads its credential once, when it builds a
CompositeController's hook clients (`newParentController` in pkg/controller/composite/
controller.go calls `hooks.ResolveEndpointConfig`, pkg/hooks/endpoint_config.go, whose
`ResolveAuthorization` in pkg/hooks/auth.go reads the Secret), and keeps sending the old token
until a spec change rebuilds the controller. So the server must accept old and new meanwhile.
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
    """What an Authorization header may carry; both None means authentication is off."""

    bearer: tuple[bytes, ...] | None = None
    """The accepted tokens (several while one is rotated), as the bytes that follow `Bearer `."""
    basic: tuple[bytes, ...] | None = None
    """The accepted base64(`user:password`), as the bytes that follow `Basic `."""

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
        """Say whether an Authorization header carries one of the accepted credentials.

        The scheme is matched case-insensitively (RFC 9110); the credentials with constant-time
        comparisons against every accepted secret, without stopping at a match, so the answer's
        timing reveals neither how much of a guess was right nor which secret it matched. WSGI
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
        return _matches_any(given, expected)


def _matches_any(given: bytes, accepted: tuple[bytes, ...]) -> bool:
    """Compare `given` with every accepted secret in constant time; no early exit."""
    matched = False
    for secret in accepted:
        matched |= hmac.compare_digest(given, secret)
    return matched


def load_credentials(config: AuthConfig, environ: Mapping[str, str]) -> Credentials:
    """Read the configured secrets; anything configured but unusable refuses to start.

    A file named in the config wins over the variable. Tokens and passwords may be several, one
    a line (each trimmed, blank lines skipped); the user name is one. A variable that is set but
    empty is an error rather than "no authentication": a Secret key that went missing must not
    silently open the server.
    """
    tokens = _secrets(config.bearer_token_file, environ, BEARER_ENV)
    usernames = _secrets(config.basic_auth_username_file, environ, BASIC_USERNAME_ENV)
    passwords = _secrets(config.basic_auth_password_file, environ, BASIC_PASSWORD_ENV)
    if (usernames is None) != (passwords is None):
        raise SettingsError("basic auth needs both a user name and a password")
    basic = None
    if usernames is not None and passwords is not None:
        if len(usernames) != 1:
            raise SettingsError("basic auth takes one user name (several passwords may rotate)")
        (username,) = usernames
        if ":" in username:
            raise SettingsError("the basic auth user name must not contain ':'")
        basic = tuple(base64.b64encode(f"{username}:{p}".encode()) for p in passwords)
    bearer = tuple(token.encode() for token in tokens) if tokens is not None else None
    return Credentials(bearer=bearer, basic=basic)


def _secrets(path: str | None, environ: Mapping[str, str], variable: str) -> tuple[str, ...] | None:
    """Return the non-blank, trimmed lines of a secret file or variable; None if not configured."""
    value = _secret(path, environ, variable)
    if value is None:
        return None
    return tuple(dict.fromkeys(line.strip() for line in value.splitlines() if line.strip()))


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
