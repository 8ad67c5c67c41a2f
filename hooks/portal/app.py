"""create_portal: the portal's Flask app factory, and `run_portal`, the process behind
`kubehooks portal` (the history store, the recorder threads, the HTTP server)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from hooks.api.kind import Kind
from hooks.portal.api import ACTIONS, RETRYABLE, Portal, api_blueprint
from hooks.portal.auth import Authenticator, load_token_file
from hooks.portal.cluster import Cluster
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore, HistoryUnavailable
from hooks.portal.openapi import portal_openapi
from hooks.portal.ui import install_ui

log = logging.getLogger("kubehooks.portal")


def served_kinds(enabled: list[Kind]) -> dict[str, Kind]:
    """Return the served kinds by plural."""
    return {kind.plural: kind for kind in enabled}


def create_portal(portal: Portal) -> Flask:
    """Return the portal's WSGI app: /api (facade, history, OpenAPI), the web UI, the probes."""
    app = Flask("kubehooks.portal", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(api_blueprint(portal))
    install_ui(app, portal)
    actions = sorted({*ACTIONS, *((plural, "retry") for plural in RETRYABLE)})
    document = portal_openapi(portal.kinds, actions)

    @app.get("/api/openapi.json")
    def openapi() -> Response:
        return jsonify(document)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"ok": True})

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        cluster = portal.cluster_ready() if portal.cluster_ready else portal.cluster.ping()
        history = portal.store is not None and portal.store.ping()
        body = {"ready": cluster, "cluster": cluster, "history": history}
        return jsonify(body), 200 if cluster else 503

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[Response, int]:
        code = err.code or 500
        return jsonify({"error": err.description, "status": code}), code

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> tuple[Response, int]:
        log.exception("unexpected error answering a request")
        return jsonify({"error": "internal error", "status": 500}), 500

    return app


def open_store(settings: PortalSettings) -> HistoryStore:
    """Open the history and migrate it now if the database is up, else at its first use."""
    store = HistoryStore.lazy(settings.resolved_database_url)
    try:
        store.ensure_migrated()
    except HistoryUnavailable as err:
        log.warning("history database unavailable at start (history answers 503): %s", err)
    return store


def build_portal(
    settings: PortalSettings, cluster: Cluster, store: HistoryStore | None, *, dev: bool
) -> Portal:
    """Wire settings, authentication, cluster and store into the routes' shared Portal."""
    from hooks.registry import load_controllers
    from hooks.settings import Settings

    known = load_controllers(Settings())  # the built-ins and every installed plugin
    names = settings.controllers if settings.controllers is not None else tuple(known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"portal controllers: unknown {unknown}; known: {', '.join(known)}")
    kinds = served_kinds([known[name].kind for name in known if name in names])
    authenticator = Authenticator(
        tokens=load_token_file(settings.token_file),
        trusted_proxies=frozenset(settings.trusted_proxies),
        dev=dev,
    )
    portal = Portal(settings, kinds, authenticator, cluster, store, lambda: datetime.now(UTC))
    portal.child_types = {
        known[name].kind.plural: known[name].children for name in known if name in names
    }
    return portal


def run_portal(settings: PortalSettings, *, dev: bool) -> int:
    """Serve the portal until SIGTERM: history, then gunicorn with the recorder in its worker
    (`hooks.portal.serve`)."""
    from hooks.portal.cluster import KubernetesCluster
    from hooks.portal.recorder import Recorder
    from hooks.portal.serve import serve_portal

    host = settings.host
    if dev:
        host = "127.0.0.1"
        log.warning(
            "--dev: X-Debug-Username is accepted without a password; listening on %s only", host
        )
    load_token_file(settings.token_file)  # a bad token file stops the start before any connection
    cluster = KubernetesCluster.connect(settings.kubeconfig)
    store = open_store(settings)
    portal = build_portal(settings, cluster, store, dev=dev)
    recorder = Recorder(
        portal.kinds.values(),
        cluster,
        store,
        buffer_size=settings.buffer_size,
        retention=settings.retention,
    )
    serve_portal(settings, create_portal(portal), host=host, recorder=recorder, store=store)
    return 0
