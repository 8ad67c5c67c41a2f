"""The HTTP edge: a Flask app factory mapping routes to controllers, and errors to status codes.

No business logic lives here. Bad input gets a 4xx JSON error that names the problem; a bug
gets a 500 without a traceback (Metacontroller then changes nothing and retries), never a 200
that would delete children.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from flask import Flask, Request, Response, g, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from hooks.contract import CustomizeRequest, SyncRequest
from hooks.errors import BadRequest
from hooks.logs import configure_logging, log_hook_call
from hooks.registry import bind_enabled
from hooks.runtime import describe_validation_error, run_customize, run_sync
from hooks.settings import Limits, Settings, load_settings

Clock = Callable[[], datetime]
RequestT = TypeVar("RequestT", SyncRequest, CustomizeRequest)
HOOKS = ("sync", "finalize", "customize")

log = logging.getLogger("kubehooks.server")


def utc_now() -> datetime:
    """Return the current time; the only clock read in the product code."""
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> Flask:
    """Build the hook server for the enabled controllers.

    gunicorn loads `hooks.server:create_app()`; tests pass Settings (and a fixed clock) directly.
    """
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    controllers = bind_enabled(settings)
    app = Flask("kubehooks")
    app.config["MAX_CONTENT_LENGTH"] = settings.limits.max_body_bytes
    app.extensions["kubehooks"] = {"settings": settings, "controllers": controllers}

    @app.post("/<controller>/<hook>")
    def hook_route(controller: str, hook: str) -> Response:
        bound = controllers.get(controller)
        if bound is None or hook not in HOOKS:
            raise BadRequest(404, "NotFound", f"no hook {hook!r} for controller {controller!r}")
        g.controller, g.hook = controller, hook
        body = read_json(request, settings.limits)
        if hook == "customize":
            if bound.controller.customize is None:
                raise BadRequest(404, "NotFound", f"controller {controller!r} has no customize")
            customize_request = parse(CustomizeRequest, body)
            g.parent = customize_request.parent
            return json_response(200, run_customize(bound, customize_request).to_wire())
        sync_request = parse(SyncRequest, body)
        g.parent = sync_request.parent
        check_children_count(sync_request, settings.limits)
        if hook == "finalize":
            sync_request.finalizing = True
        response = run_sync(bound, sync_request, now=clock())
        g.children = len(response.children)
        return json_response(200, response.to_wire())

    @app.get("/healthz")
    def healthz() -> Response:
        return json_response(200, {"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        return json_response(200, {"status": "ready", "controllers": sorted(controllers)})

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex

    @app.after_request
    def log_call(response: Response) -> Response:
        if request.method == "POST":
            log_hook_call(
                controller=g.get("controller"),
                hook=g.get("hook"),
                parent=g.get("parent"),
                status=response.status_code,
                seconds=time.perf_counter() - g.get("started", time.perf_counter()),
                request_id=g.get("request_id"),
                children=g.get("children"),
            )
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.errorhandler(BadRequest)
    def bad_request(err: BadRequest) -> Response:
        body: dict[str, Any] = {"error": err.error, "message": err.message}
        if err.details is not None:
            body["details"] = err.details
        return json_response(err.status, body)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        code = err.code or 500
        name = (err.name or "Error").replace(" ", "")
        message = err.description or err.name
        if code == 413:
            message = (
                f"request body is larger than the limit of {settings.limits.max_body_bytes} bytes"
            )
        return json_response(code, {"error": name, "message": message})

    @app.errorhandler(Exception)
    def internal_error(err: Exception) -> Response:
        log.exception("hook failed", extra={"request_id": g.get("request_id")})
        return json_response(
            500,
            {
                "error": "InternalError",
                "message": "the hook failed; nothing was changed; see the server log",
                "requestId": g.get("request_id"),
            },
        )

    return app


def read_json(req: Request, limits: Limits) -> dict[str, Any]:
    """Read the body as a JSON object, enforcing content type, size and nesting depth."""
    if req.mimetype != "application/json":
        raise BadRequest(
            415,
            "UnsupportedMediaType",
            f"Content-Type must be application/json, not {req.mimetype or 'missing'!r}",
        )
    raw = req.get_data(cache=False)
    if len(raw) > limits.max_body_bytes:
        raise BadRequest(413, "RequestEntityTooLarge", "request body is too large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequest(400, "InvalidJSON", f"request body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "InvalidRequest", "request body must be a JSON object")
    depth = json_depth(body, limits.max_json_depth)
    if depth > limits.max_json_depth:
        raise BadRequest(
            400,
            "TooDeep",
            f"request JSON nests deeper than the limit of {limits.max_json_depth} levels",
        )
    return body


def json_depth(value: Any, limit: int) -> int:
    """Return the nesting depth of parsed JSON, stopping early once past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return deepest


def parse(model: type[RequestT], body: dict[str, Any]) -> RequestT:
    """Validate a request body against the hook contract; errors become a 400 listing them."""
    if "parent" not in body:
        raise BadRequest(400, "InvalidRequest", "request body has no 'parent' object")
    try:
        return model.model_validate(body)
    except ValidationError as err:
        details = [
            {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
            for item in err.errors()[:20]
        ]
        raise BadRequest(
            400,
            "InvalidRequest",
            "request does not follow the hook contract: "
            + describe_validation_error(err, prefix="body"),
            details,
        ) from None


def check_children_count(sync_request: SyncRequest, limits: Limits) -> None:
    """Refuse requests observing more objects than the configured limit."""
    count = sum(len(group) for group in sync_request.children.values())
    if count > limits.max_children:
        raise BadRequest(
            400,
            "TooManyChildren",
            f"request observes {count} children, more than the limit of {limits.max_children}",
        )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """Serialise with orjson; ints stay ints, and key order is the order we built."""
    return Response(orjson.dumps(body), status=status, mimetype="application/json", headers=headers)
