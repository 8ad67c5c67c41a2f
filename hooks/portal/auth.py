"""Who is asking, and which namespaces they may see.

Three sources, in order: a bearer token from the token file (kube-apiserver's token.csv format:
token,user,uid,"group1,group2"); an authenticating proxy's X-Forwarded-User/-Groups, believed
only from the configured proxy addresses; the seed's X-Debug-Username, only under --dev.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hooks.portal.config import Tenancy

ALL_NAMESPACES = "*"


@dataclass(frozen=True)
class Identity:
    """An authenticated user, as Kubernetes impersonation names them."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str | None = None


class TokenFileError(ValueError):
    """The token file cannot be used; the portal refuses to start."""


def parse_token_file(text: str) -> dict[str, Identity]:
    """Return token -> identity from token.csv text; blank lines and `#` comments are skipped."""
    tokens: dict[str, Identity] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2 or not row[1].strip():
            raise TokenFileError(f"token file line {number}: needs at least token,user")
        groups = tuple(g.strip() for g in (row[3] if len(row) > 3 else "").split(",") if g.strip())
        uid = row[2].strip() if len(row) > 2 and row[2].strip() else None
        tokens[row[0].strip()] = Identity(row[1].strip(), groups, uid)
    return tokens


def load_token_file(path: str | None) -> dict[str, Identity]:
    """Read the token file named in config; none configured means no token is accepted."""
    if not path:
        return {}
    return parse_token_file(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Authenticator:
    """Turns request headers and the peer address into an Identity, or None."""

    tokens: Mapping[str, Identity]
    trusted_proxies: frozenset[str] = frozenset()
    dev: bool = False

    def identify(self, headers: Mapping[str, str], remote_addr: str | None) -> Identity | None:
        """Return who is asking; None when no source vouches for anyone."""
        authorization = headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            return self._token(authorization.removeprefix("Bearer ").strip())
        if remote_addr in self.trusted_proxies and headers.get("X-Forwarded-User"):
            groups = headers.get("X-Forwarded-Groups", "")
            return Identity(
                headers["X-Forwarded-User"],
                tuple(g.strip() for g in groups.split(",") if g.strip()),
            )
        if self.dev and headers.get("X-Debug-Username"):
            return Identity(headers["X-Debug-Username"])
        return None

    def _token(self, presented: str) -> Identity | None:
        for token, identity in self.tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                return identity
        return None

    def by_digest(self, digest: str) -> Identity | None:
        """Return whose token has this digest: a web session keeps the digest, never the token,
        and a token gone from the file ends its sessions at the next start."""
        for token, identity in self.tokens.items():
            if hmac.compare_digest(token_digest(token), digest):
                return identity
        return None


def token_digest(token: str) -> str:
    """Return the SHA-256 of a token, as a web session remembers its sign-in."""
    return hashlib.sha256(token.encode()).hexdigest()


def visible_namespaces(identity: Identity, tenancy: Tenancy) -> frozenset[str] | None:
    """Return the namespaces this user sees; None means all of them (`*`)."""
    names: set[str] = set(tenancy.users.get(identity.user, ()))
    for group in identity.groups:
        names |= set(tenancy.groups.get(group, ()))
    if ALL_NAMESPACES in names:
        return None
    return frozenset(names)


def may_see(namespaces: frozenset[str] | None, namespace: str) -> bool:
    """Return whether a namespace is inside a visible set (None: all)."""
    return namespaces is None or namespace in namespaces


def impersonation_headers(identity: Identity) -> list[tuple[str, str]]:
    """Return the headers a write carries, one Impersonate-Group per group, as Kubernetes reads."""
    headers = [("Impersonate-User", identity.user)]
    headers += [("Impersonate-Group", group) for group in identity.groups]
    if identity.uid:
        headers.append(("Impersonate-Uid", identity.uid))
    return headers
