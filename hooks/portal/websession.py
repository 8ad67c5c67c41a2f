"""The web UI's session and its guards: the signed cookie, CSRF tokens and security headers.

A session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure whenever the request came over
HTTPS) holding the SHA-256 of the sign-in token and a CSRF token; never the token itself. The
signing key is read from `sessionKeyFile`, else made at start (sessions then end on restart).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, Response, session
from flask.sessions import SecureCookieSessionInterface

from hooks.portal.auth import Authenticator, Identity
from hooks.portal.config import PortalSettings

COOKIE = "kubehooks_portal"
CSRF_FIELD = "csrf"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure per request: whenever the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        from flask import request

        return bool(request.is_secure)


def session_key(settings: PortalSettings) -> bytes:
    """Return the signing key: the configured file's bytes, else a new random key."""
    if settings.session_key_file:
        key = Path(settings.session_key_file).read_bytes().strip()
        if len(key) < 32:
            raise ValueError("sessionKeyFile: needs at least 32 bytes of key")
        return key
    return secrets.token_bytes(32)


def configure_sessions(app: Flask, settings: PortalSettings) -> None:
    """Set the app's cookie session: key, name, flags and lifetime."""
    app.secret_key = session_key(settings)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


def sign_in(digest: str) -> None:
    """Start a fresh session for a token's digest (a new CSRF token: no fixation)."""
    session.clear()
    session.permanent = True
    session["token"] = digest
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def session_identity(authenticator: Authenticator) -> Identity | None:
    """Return the signed-in user, if the session's token is still in the token file."""
    digest = session.get("token")
    return authenticator.by_digest(digest) if isinstance(digest, str) else None


def csrf_token() -> str:
    """Return this session's CSRF token, making one for a session that has none."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_valid(request: Request) -> bool:
    """Return whether a POST carries this session's CSRF token."""
    expected = session.get(CSRF_FIELD)
    presented = request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected, presented)


def secure(response: Response) -> Response:
    """Add the security headers; pages with data are not cached."""
    response.headers.update(SECURITY_HEADERS)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response
