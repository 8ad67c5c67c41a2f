"""The portal's web UI: server-rendered pages over the same `Facade` as /api.

Every page reads with JavaScript off; static/portal.js only re-fetches the page it is on and
swaps its `data-live` regions (live lists, timelines). Forms post back (CSRF-checked) and
redirect. The user is the session's (a token signed in through /signin) or, as for /api, an
authenticating proxy's or --dev's; tenancy is the facade's, so other namespaces answer 404.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import yaml
from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from hooks.api.kind import Kind
from hooks.crd import openapi_schema
from hooks.portal.api import ApiProblem, Facade, Portal, cluster_problem, spec_errors
from hooks.portal.auth import token_digest
from hooks.portal.charts import duration_chart, timeline_chart, tone
from hooks.portal.cluster import ClusterError
from hooks.portal.forms import errors_by_field, kind_fields, parse_labels, parse_spec
from hooks.portal.history.store import BadQuery, HistoryQuery, HistoryUnavailable
from hooks.portal.websession import (
    CSRF_FIELD,
    configure_sessions,
    csrf_token,
    csrf_valid,
    secure,
    session_identity,
    sign_in,
)

log = logging.getLogger("kubehooks.portal.ui")

PAGE_SIZE = 50
OVERVIEW_JOBS = 20
"""Running and failed jobs shown on the overview; the rest are a link to the filtered list."""
SORTS = ("name", "namespace", "phase", "created")
KIND_VIEWS = {"aijobs": "views/aijobs.html"}
"""The only per-kind templates: a kind that adds a view to its object page."""
LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]*")
"""A path on this site: no scheme, no host, no `//` or `/\\`, no spaces or control characters
(browsers drop tabs and newlines, which would turn `/\t/evil` into `//evil`)."""
OPEN_ENDPOINTS = frozenset({"portal_ui.signin", "portal_ui.static"})


def install_ui(app: Flask, portal: Portal) -> None:
    """Register the UI on the portal's app: sessions, the blueprint, its template helpers."""
    configure_sessions(app, portal.settings)
    app.register_blueprint(ui_blueprint(portal))


def _safe_next(target: str | None) -> str:
    """Return a local path to go back to after sign-in; anything else goes to the overview."""
    if target and LOCAL_PATH.fullmatch(target) and "\\" not in target:
        return target
    return "/"


def _spec_columns(kind: Kind) -> list[tuple[str, str]]:
    """Return (title, spec key) of the kind's printer columns that read its spec."""
    out = []
    for column in kind.printer_columns:
        path = column.json_path.removeprefix(".spec.")
        if column.json_path.startswith(".spec.") and "." not in path and "[" not in path:
            out.append((column.name, path))
    return out


def ui_blueprint(portal: Portal) -> Blueprint:
    """Return the UI's blueprint: pages at /, its assets at /assets."""
    ui = Blueprint(
        "portal_ui",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/assets",
    )

    def facade() -> Facade:
        found: Facade = g.facade
        return found

    @ui.before_request
    def authenticate() -> BaseResponse | tuple[str, int] | None:
        if request.method == "POST" and not csrf_valid(request):
            return _error(400, "the form is out of date (CSRF check failed): reload and retry")
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        identity = session_identity(portal.authenticator) or portal.authenticator.identify(
            {key: value for key, value in request.headers.items()}, request.remote_addr
        )
        if identity is None:
            return redirect(url_for("portal_ui.signin", next=request.full_path.rstrip("?")))
        g.facade = Facade(portal, identity)
        return None

    @ui.after_request
    def headers(response: Response) -> Response:
        return secure(response)

    @ui.app_template_global()
    def csrf_input() -> str:
        return csrf_token()

    ui.add_app_template_global(tone, "tone")

    @ui.app_context_processor
    def common() -> dict[str, Any]:
        found = g.get("facade")
        return {
            "kinds": portal.kinds,
            "user": found.identity.user if found else None,
            "csrf_field": CSRF_FIELD,
        }

    @ui.errorhandler(ApiProblem)
    def problem(err: ApiProblem) -> tuple[str, int]:
        return _error(err.status, err.message)

    @ui.errorhandler(ClusterError)
    def refused(err: ClusterError) -> tuple[str, int]:
        found = cluster_problem(err)
        return _error(found.status, found.message)

    @ui.errorhandler(HistoryUnavailable)
    def history_down(_err: HistoryUnavailable) -> tuple[str, int]:
        return _error(503, "the history database is unavailable; try again shortly")

    @ui.errorhandler(BadQuery)
    def bad_query(err: BadQuery) -> tuple[str, int]:
        return _error(400, str(err))

    @ui.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[str, int]:
        return _error(err.code or 500, err.description or "error")

    @ui.errorhandler(Exception)
    def unexpected(_err: Exception) -> tuple[str, int]:
        log.exception("unexpected error rendering a page")
        return _error(500, "internal error")

    @ui.route("/signin", methods=["GET", "POST"])
    def signin() -> str | BaseResponse | tuple[str, int]:
        target = _safe_next(request.values.get("next"))
        if request.method == "POST":
            token = request.form.get("token", "").strip()
            identity = portal.authenticator.identify({"Authorization": f"Bearer {token}"}, None)
            if identity is None or not token:
                page = render_template("signin.html", next=target, error="unknown token")
                return page, 401
            sign_in(token_digest(token))
            return redirect(target, 303)
        return render_template("signin.html", next=target, error=None)

    @ui.post("/signout")
    def signout() -> BaseResponse:
        from flask import session

        session.clear()
        return redirect(url_for("portal_ui.signin"), 303)

    @ui.get("/")
    def overview() -> str:
        return render_template("overview.html", **overview_data(facade()))

    @ui.get("/kinds/<plural>")
    def list_kind(plural: str) -> str:
        kind = facade().kind(plural)
        return render_template("list.html", **list_data(facade(), kind, request.args))

    @ui.route("/kinds/<plural>/new", methods=["GET", "POST"])
    def create(plural: str) -> str | BaseResponse | tuple[str, int]:
        kind = facade().kind(plural)
        visible = facade().visible()
        namespaces = sorted(visible) if visible is not None else None
        if request.method == "GET":
            context = {
                "fields": kind_fields(kind),
                "values": {
                    "namespace": request.args.get("namespace", ""),
                    "name": "",
                    "labels": "",
                },
            }
            return render_template(
                "create.html", kind=kind, namespaces=namespaces, errors={}, loose=[], **context
            )
        form = {key: value for key, value in request.form.items()}
        spec, unreadable = parse_spec(openapi_schema(kind.spec), form)
        labels = parse_labels(form.get("labels", ""))
        details = [{"field": path, "message": text} for path, text in unreadable.items()]
        if labels is None:
            details.append({"field": "labels", "message": "one key=value per line"})
        namespace = form.get("namespace", "").strip()
        if not namespace:
            details.append({"field": "namespace", "message": "a namespace is required"})
        if details:  # say all that is wrong at once: the spec model's complaints too
            details += [d for d in spec_errors(kind, spec) if d["field"] not in unreadable]
        status = 422
        if not details:
            try:
                created = facade().create(
                    plural,
                    namespace,
                    {"name": form.get("name", ""), "labels": labels, "spec": spec},
                )
                flash(f"created {kind.kind} {namespace}/{created['name']}")
                return redirect(
                    url_for(
                        "portal_ui.object_page",
                        plural=plural,
                        namespace=namespace,
                        name=created["name"],
                    ),
                    303,
                )
            except ApiProblem as err:
                details, status = err.details or [{"field": "", "message": err.message}], err.status
            except ClusterError as err:
                found = cluster_problem(err)
                details = found.details or [{"field": "", "message": found.message}]
                status = found.status
        placed, loose = errors_by_field(kind_fields(kind, form), details)
        fields = kind_fields(kind, form, placed)
        page = render_template(
            "create.html",
            kind=kind,
            namespaces=namespaces,
            fields=fields,
            values=form,
            errors=placed,
            loose=loose,
        )
        return page, status

    @ui.get("/kinds/<plural>/<namespace>/<name>")
    def object_page(plural: str, namespace: str, name: str) -> str:
        kind = facade().kind(plural)
        found = facade().get(plural, namespace, name, detail=True)
        record, history_note = None, None
        try:
            record = facade().record(plural, str(found["uid"]))
        except ApiProblem as err:
            history_note = "not recorded yet" if err.status == 404 else err.message
        except HistoryUnavailable:
            history_note = "the history database is unavailable"
        chart = timeline_chart(record["timeline"], portal.clock()) if record else None
        return render_template(
            "object.html",
            kind=kind,
            obj=found,
            spec_yaml=yaml.safe_dump(found["spec"], sort_keys=False) if found["spec"] else "{}\n",
            record=record,
            history_note=history_note,
            chart=chart,
            actions=facade().actions(plural),
            view=KIND_VIEWS.get(plural),
        )

    @ui.post("/kinds/<plural>/<namespace>/<name>/actions/<action>")
    def act(plural: str, namespace: str, name: str, action: str) -> BaseResponse:
        here = url_for("portal_ui.object_page", plural=plural, namespace=namespace, name=name)
        try:
            facade().act(plural, namespace, name, action)
            flash(f"{action}: done")
        except ApiProblem as err:
            if err.status == 404:
                raise
            flash(f"{action}: {err.message}", "error")
        except ClusterError as err:
            flash(f"{action}: {cluster_problem(err).message}", "error")
        return redirect(here, 303)

    @ui.route("/kinds/<plural>/<namespace>/<name>/delete", methods=["GET", "POST"])
    def delete(plural: str, namespace: str, name: str) -> str | BaseResponse:
        kind = facade().kind(plural)
        if request.method == "GET":
            found = facade().get(plural, namespace, name)
            return render_template("delete.html", kind=kind, obj=found)
        facade().delete(plural, namespace, name)
        flash(f"deleted {kind.kind} {namespace}/{name}")
        return redirect(url_for("portal_ui.list_kind", plural=plural), 303)

    @ui.get("/history/<plural>")
    def history(plural: str) -> str:
        kind = facade().kind(plural)
        args = request.args
        query = HistoryQuery(
            plural=plural,
            namespaces=None,
            phase=args.get("phase") or None,
            label_selector=args.get("label") or None,
            limit=PAGE_SIZE,
            continue_token=args.get("continue") or None,
        )
        items, token = facade().history(query, args.get("namespace") or None)
        more = urlencode({**args.to_dict(), "continue": token}) if token else None
        return render_template(
            "history.html",
            kind=kind,
            items=items,
            more=more,
            filters=args,
            chart=duration_chart(items),
            namespaces=_namespaces(facade()),
        )

    @ui.get("/history/<plural>/<uid>")
    def record_page(plural: str, uid: str) -> str:
        kind = facade().kind(plural)
        record = facade().record(plural, uid)
        return render_template(
            "record.html",
            kind=kind,
            record=record,
            chart=timeline_chart(record["timeline"], portal.clock()),
            spec_yaml=yaml.safe_dump(record["spec"], sort_keys=False),
        )

    return ui


def _error(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _namespaces(facade: Facade) -> list[str] | None:
    visible = facade.visible()
    return sorted(visible) if visible is not None else None


def overview_data(facade: Facade) -> dict[str, Any]:
    """Return the overview: live counts by kind and phase, running and failed jobs, and from
    the history the recent failures and this week's GPU-hours."""
    counts: list[tuple[Kind, int, list[tuple[str, int]]]] = []
    jobs: list[dict[str, Any]] = []
    for plural, kind in facade.portal.kinds.items():
        try:
            items = facade.list_visible(plural)
        except ClusterError as err:
            if err.status != 404:
                raise
            continue  # served by the portal, but its CRD is not installed in this cluster
        phases = Counter(str(item["phase"] or "Unknown") for item in items)
        counts.append((kind, len(items), sorted(phases.items())))
        if plural == "aijobs":
            jobs = [item for item in items if item["phase"] in ("Running", "Failed")]
    failures: list[tuple[Kind, dict[str, Any]]] = []
    gpu_hours: float | None = None
    history_note = None
    try:
        for plural, kind in facade.portal.kinds.items():
            found, _ = facade.history(HistoryQuery(plural, None, phase="Failed", limit=5))
            failures += [(kind, item) for item in found]
        if "aijobs" in facade.portal.kinds:
            week = facade.portal.clock() - timedelta(days=7)
            gpu_hours = facade.gpu_hours_since("aijobs", week)
    except (HistoryUnavailable, ApiProblem):
        history_note = "the history database is unavailable"
    failures.sort(key=lambda pair: str(pair[1]["finished"] or pair[1]["created"]), reverse=True)
    return {
        "counts": counts,
        "jobs": sorted(jobs, key=lambda item: (item["phase"], item["namespace"], item["name"]))[
            :OVERVIEW_JOBS
        ],
        "job_counts": Counter(str(item["phase"]) for item in jobs),
        "failures": failures[:10],
        "gpu_hours": gpu_hours,
        "history_note": history_note,
    }


def list_data(facade: Facade, kind: Kind, args: Any) -> dict[str, Any]:
    """Return one page of a kind's live objects, filtered and sorted as the query asks."""
    namespace = args.get("namespace") or None
    label = args.get("label") or None
    phase = args.get("phase") or None
    sort = args.get("sort") if args.get("sort") in SORTS else "name"
    descending = args.get("dir") == "desc"
    if namespace:
        items, _ = facade.list_namespace(kind.plural, namespace, limit=None, label_selector=label)
    else:
        items = facade.list_visible(kind.plural, label_selector=label)
    phases = sorted({str(item["phase"]) for item in items if item["phase"]})
    if phase:
        items = [item for item in items if item["phase"] == phase]
    items.sort(key=lambda item: (str(item[sort] or ""), str(item["name"])), reverse=descending)
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(
        max(1, int(args.get("page") or 1) if str(args.get("page") or 1).isdigit() else 1), pages
    )
    base = {key: value for key, value in args.items() if key not in ("page",) and value}

    def link(**changes: Any) -> str:
        return "?" + urlencode({**base, **{k: v for k, v in changes.items() if v is not None}})

    return {
        "kind": kind,
        "items": items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(items),
        "page": page,
        "pages": pages,
        "phases": phases,
        "filters": args,
        "sort": sort,
        "descending": descending,
        "link": link,
        "columns": _spec_columns(kind),
        "namespaces": _namespaces(facade),
    }
