"""The HTTP edge: a Flask app factory mapping routes to controllers, and errors to status codes.

No business logic lives here. Bad input gets a 4xx JSON error that names the problem; a bug
gets a 500 without a traceback (Metacontroller then changes nothing and retries), never a 200
that would delete children.

The order of work on a hook call is chosen so that refusals cost least: authentication (one
constant-time compare), reading the raw body, the ETag (a hash of those bytes, so a 304 parses
nothing), the in-flight limit (429), and only then parsing and the controller. Metrics and the
log line are written after the answer has been sent.

The hook calls themselves (POST /<controller>/<hook> of a served controller) are answered by
`HookPath`, plain WSGI in front of Flask: for a typical request Flask's per-request machinery
cost more than the hook (see docs/benchmarks.md). Flask serves everything else.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from flask import Flask, Response, g, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hooks import metrics
from hooks.auth import Credentials, load_credentials
from hooks.compute import ComputeChild, ComputeChildGone
from hooks.contract import CustomizeRequest, KubeObject, SyncRequest, SyncResponse
from hooks.edge import (
    Etags,
    GcPause,
    Held,
    InFlight,
    Readiness,
    etag_matches,
    in_flight_limit,
    request_id,
)
from hooks.errors import BadRequest, InvalidSpec
from hooks.logs import configure_logging, log_hook_call
from hooks.openapi import openapi_document
from hooks.registry import bind_enabled
from hooks.runtime import BoundController, describe_validation_error, run_customize, run_sync
from hooks.settings import Limits, Settings, load_settings

Clock = Callable[[], datetime]
RequestT = TypeVar("RequestT", SyncRequest, CustomizeRequest)
HOOKS = ("sync", "finalize", "customize")
PUBLIC_ENDPOINTS = frozenset({"healthz", "readyz", "openapi"})
"""Routes that never ask for credentials: probes, and the description of the API."""

log = logging.getLogger("kubehooks.server")


def utc_now() -> datetime:
    """Return the current time; the only clock read in the product code."""
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    environ: Mapping[str, str] | None = None,
) -> Flask:
    """Build the hook server for the enabled controllers.

    gunicorn loads `hooks.server:create_app()`; tests pass Settings (and a fixed clock) directly.
    Credentials are read from `environ` (default: the process environment) and the files the
    settings name; anything unusable raises SettingsError, so a misconfigured server never starts.
    """
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    controllers = bind_enabled(settings)
    credentials = load_credentials(settings.auth, os.environ if environ is None else environ)
    etags = Etags(settings, controllers) if settings.etag else None
    in_flight = InFlight(in_flight_limit(settings.limits))
    readiness = Readiness()
    public = PUBLIC_ENDPOINTS | ({"metrics"} if not settings.auth.protect_metrics else set())
    app = Flask("kubehooks")
    app.config["MAX_CONTENT_LENGTH"] = settings.limits.max_body_bytes
    # A path is served as written: no merging of "//" with a 308 HTML redirect to the merged
    # path (werkzeug's default), so every malformed path is a JSON 404.
    app.url_map.merge_slashes = False
    app.extensions["kubehooks"] = {
        "settings": settings,
        "controllers": controllers,
        "readiness": readiness,
        "in_flight": in_flight,
    }

    @app.post("/<controller>/<hook>")
    def hook_route(controller: str, hook: str) -> Response:
        """Refuse the hook calls the hook path leaves to Flask: unknown controllers or hooks."""
        bound = controllers.get(controller)
        if bound is not None and hook == "customize" and bound.controller.customize is None:
            raise BadRequest(404, "NotFound", f"controller {controller!r} has no customize")
        raise BadRequest(404, "NotFound", f"no hook {hook!r} for controller {controller!r}")

    @app.get("/healthz")
    def healthz() -> Response:
        return json_response(200, {"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        state = readiness.state
        return json_response(
            200 if state == "ready" else 503,
            {"status": state, "controllers": sorted(controllers)},
        )

    @app.get("/metrics", endpoint="metrics")
    def metrics_route() -> Response:
        data, content_type = metrics.exposition()
        return Response(data, status=200, content_type=content_type)

    @app.get("/openapi.json", endpoint="openapi")
    def openapi_route() -> Response:
        return json_response(200, openapi_json())

    @cache
    def openapi_json() -> KubeObject:
        return openapi_document(settings, controllers, credentials)

    @app.before_request
    def start() -> Response | None:
        g.started = time.perf_counter()
        g.request_id = request_id(request.headers.get("X-Request-Id")) or secrets.token_hex(16)
        if "//" in request.environ.get("PATH_INFO", ""):  # werkzeug strips leading slashes
            raise BadRequest(404, "NotFound", "the path has an empty segment ('//')")
        if credentials.enabled and request.endpoint not in public:
            if not credentials.accepts(request.headers.get("Authorization")):
                g.error = "Unauthorized"
                return json_response(
                    401,
                    {"error": "Unauthorized", "message": "authentication required"},
                    headers={"WWW-Authenticate": credentials.challenge},
                )
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.method == "POST":
            response.call_on_close(call_record(response.status_code))
        return response

    def call_record(status: int) -> Callable[[], None]:
        """Capture what metrics and the log line need; they are written once the answer is sent."""
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        args = request.view_args or {}
        controller = args.get("controller") if args.get("controller") in controllers else None
        hook = args.get("hook") if controller is not None and args.get("hook") in HOOKS else None
        error, spec_error = g.get("error"), g.get("spec_error")
        children, parent, rid = g.get("children"), g.get("parent"), g.get("request_id")
        result = spec_error or error or ("NotModified" if status == 304 else "OK")

        def record() -> None:
            metrics.record_call(
                controller=controller or metrics.UNKNOWN,
                hook=hook or metrics.UNKNOWN,
                code=status,
                seconds=seconds,
                error=error,
                children=children,
                spec_error=spec_error,
            )
            log_hook_call(
                controller=controller,
                hook=hook,
                parent=parent,
                status=status,
                seconds=seconds,
                request_id=rid,
                children=children,
                result=result,
            )

        return record

    @app.errorhandler(BadRequest)
    def bad_request(err: BadRequest) -> Response:
        g.error = err.error
        body: dict[str, Any] = {"error": err.error, "message": err.message}
        if err.details is not None:
            body["details"] = err.details
        return json_response(err.status, body)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        code = err.code or 500
        name = (err.name or "Error").replace(" ", "")
        g.error = name
        message = err.description or err.name
        if code == 413:
            message = (
                f"request body is larger than the limit of {settings.limits.max_body_bytes} bytes"
            )
        # Keep what the error says beyond its body, such as the Allow of a 405 (RFC 9110).
        headers = {k: v for k, v in err.get_headers() if k.lower() != "content-type"}
        return json_response(code, {"error": name, "message": message}, headers)

    @app.errorhandler(Exception)
    def internal_error(err: Exception) -> Response:
        g.error = "InternalError"
        log.exception("hook failed", extra={"fields": {"requestId": g.get("request_id")}})
        return json_response(
            500,
            {
                "error": "InternalError",
                "message": "the hook failed; nothing was changed; see the server log",
                "requestId": g.get("request_id"),
            },
        )

    app.wsgi_app = hook_path = HookPath(  # type: ignore[method-assign]
        app.wsgi_app,
        settings=settings,
        controllers=controllers,
        credentials=credentials,
        etags=etags,
        in_flight=in_flight,
        clock=clock,
    )
    app.extensions["kubehooks"]["refusal"] = hook_path.refusal
    app.extensions["kubehooks"]["hook_path"] = hook_path
    readiness.ready()
    return app


def parse_json(raw: bytes, limits: Limits) -> dict[str, Any]:
    """Parse a body as a JSON object, enforcing size and nesting depth."""
    if len(raw) > limits.max_body_bytes:
        raise BadRequest(413, "RequestEntityTooLarge", "request body is too large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        if str(err).startswith("depth limit exceeded"):  # orjson's own limit: 1024 levels
            raise BadRequest(
                400, "TooDeep", f"request JSON nests deeper than orjson reads: {err}"
            ) from None
        raise BadRequest(400, "InvalidJSON", f"request body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "InvalidRequest", "request body must be a JSON object")
    # Only what controllers read as free-form data is walked: the parent (a custom resource, whose
    # preserve-unknown-fields parts may nest without bound) and the related objects. Observed
    # children are built-in kinds the API server decoded into Go structs of bounded depth, and
    # `controller` is Metacontroller's own object; walking them cost more than the rest of a
    # typical hook call (70 ms for 1000 Pods). orjson refuses input nested deeper than 1024
    # levels, and an answer echoing a child deeper than it writes (254) is a 400 TooDeep
    # (`dump_answer`), never a crash.
    limit = limits.max_json_depth
    depth = 1 + max(json_depth(body.get("parent"), limit), json_depth(body.get("related"), limit))
    if depth > limits.max_json_depth:
        raise BadRequest(
            400,
            "TooDeep",
            f"request JSON nests deeper than the limit of {limits.max_json_depth} levels",
        )
    return body


def json_depth(value: Any, limit: int) -> int:
    """Return the nesting depth of parsed JSON (a scalar is 1), stopping once past `limit`.

    Recursive, which is twice as fast as an explicit stack here, and bounded: it descends at
    most `limit` levels before giving up, so any depth under orjson's own limit (it refuses
    input 1024 levels deep) answers more than `limit` instead of exhausting Python's stack.
    """
    if limit <= 0:
        return 1  # past the limit: the callers add a level each, so the total exceeds it
    if type(value) is dict:
        items: Iterable[Any] = value.values()
    elif type(value) is list:
        items = value
    else:
        return 1
    deepest = 0
    for item in items:
        if type(item) is dict or type(item) is list:
            depth = json_depth(item, limit - 1)
            if depth > deepest:
                deepest = depth
                if deepest >= limit:
                    break
    return deepest + 1


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


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Call:
    """What one hook call leaves for its metrics and log line."""

    __slots__ = (
        "controller",
        "hook",
        "request_id",
        "started",
        "error",
        "spec_error",
        "children",
        "parent",
        "seconds",
        "held",
    )

    def __init__(self, controller: str, hook: str, rid: str) -> None:
        self.controller = controller
        self.hook = hook
        self.request_id = rid
        self.started = time.perf_counter()
        self.error: str | None = None
        self.spec_error: str | None = None
        self.children: int | None = None
        self.parent: Any = None
        self.seconds = 0.0
        self.held: Held | None = None

    def release(self) -> None:
        """Free the parsed request (see `Held`); the answer has been sent, or failed."""
        if self.held is not None:
            self.held.release()

    def note_spec_error(self, err: InvalidSpec) -> None:
        self.spec_error = err.reason

    def record(self, status: int) -> None:
        """Write the metrics and the log line (called once the answer has been sent)."""
        result = self.spec_error or self.error or ("NotModified" if status == 304 else "OK")
        metrics.record_call(
            controller=self.controller,
            hook=self.hook,
            code=status,
            seconds=self.seconds,
            error=self.error,
            children=self.children,
            spec_error=self.spec_error,
        )
        log_hook_call(
            controller=self.controller,
            hook=self.hook,
            parent=self.parent,
            status=status,
            seconds=self.seconds,
            request_id=self.request_id,
            children=self.children,
            result=result,
        )


class _Sent:
    """A WSGI answer body that records its call once the server has sent it (on close)."""

    __slots__ = ("_chunks", "_call", "_status")

    def __init__(self, payload: bytes, call: _Call, status: int) -> None:
        self._chunks = (payload,) if payload else ()
        self._call = call
        self._status = status

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        self._call.release()
        self._call.record(self._status)


_LOGGED_META = ("namespace", "name", "uid", "generation")


@dataclass(frozen=True)
class Serialised:
    """An answer already serialised (by the compute child)."""

    payload: bytes


@dataclass(frozen=True)
class Computed:
    """What the compute child sends back: the answer, and what the log line and metrics need."""

    status: int
    cacheable: bool
    error: str | None
    spec_error: str | None
    children: int | None
    parent: dict[str, Any]


class HookPath:
    """POST /<controller>/<hook> of the served controllers, as plain WSGI in front of Flask.

    For a typical 10 KB sync, Flask's machinery (request context, URL map, context-local
    proxies, Response objects, before/after hooks) cost more CPU than the hook itself; this path
    does the same work, in the same order and with the same answers, on the WSGI environ. It
    hands everything else to Flask: other routes and methods, and unknown controllers or hooks
    (whose 404s Flask's hook_route words).
    """

    def __init__(
        self,
        flask_app: WsgiApp,
        *,
        settings: Settings,
        controllers: dict[str, BoundController],
        credentials: Credentials,
        etags: Etags | None,
        in_flight: InFlight,
        clock: Clock,
    ) -> None:
        self._flask = flask_app
        self._settings = settings
        self._limits = settings.limits
        self._controllers = controllers
        self._credentials = credentials
        self._etags = etags
        self._in_flight = in_flight
        self._clock = clock
        self._gc_pause = GcPause()
        self.compute_child: ComputeChild | None = None
        """Computes the large calls in `kubehooks serve`'s workers (`hooks.compute`)."""
        self._computed_call: _Call | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self._flask(environ, start_response)
        parts = environ.get("PATH_INFO", "").split("/")
        if len(parts) != 3 or parts[0] or parts[2] not in HOOKS:
            return self._flask(environ, start_response)
        bound = self._controllers.get(parts[1])
        if bound is None or (parts[2] == "customize" and bound.controller.customize is None):
            return self._flask(environ, start_response)
        rid = request_id(environ.get("HTTP_X_REQUEST_ID")) or secrets.token_hex(16)
        call = _Call(parts[1], parts[2], rid)
        headers: dict[str, str] = {}
        try:
            status, body = self._answer(bound, call, environ, headers)
            # Inside the try: an answer that cannot be serialised is an error like any other.
            if isinstance(body, Serialised):
                payload = body.payload
            else:
                payload = b"" if body is None else dump_answer(body)
        except Exception as err:  # every failure gets a JSON answer; bugs are logged too
            status, body = self._failure(err, call)
            headers = {}
            payload = orjson.dumps(body)
        out = [] if body is None else [("Content-Type", "application/json")]
        if body is not None:
            out.append(("Content-Length", str(len(payload))))
        out.extend(headers.items())
        out.append(("X-Request-Id", rid))
        call.seconds = time.perf_counter() - call.started
        try:
            start_response(f"{status} {HTTPStatus(status).phrase}", out)
        except BaseException:
            call.release()
            raise
        return _Sent(payload, call, status)

    def _retry_after(self) -> str:
        limits = self._limits
        seconds = self._in_flight.retry_after(
            limits.retry_after_seconds, limits.retry_after_max_seconds
        )
        return str(seconds)

    def _too_many(self, retry_after: str) -> dict[str, str]:
        message = (
            f"the server holds its limit of {self._in_flight.limit} hook calls "
            "(computing, or waiting to be accepted); "
            f"retry after {retry_after}s"
        )
        return {"error": "TooManyRequests", "message": message}

    def refusal(self, head: bytes) -> bytes | None:
        """Return the whole 429 answer to a hook call refused from its headers alone, logged
        and counted like any call; None for what is not a hook call this app would refuse (an
        unknown route, missing credentials): a thread answers those as usual.

        The worker's event loop sends it (`hooks.worker`), so under a burst a refusal costs
        neither a thread nor a parse: the request line and a few headers are all it reads.
        """
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        parts = rest.partition(" ")[0].partition("?")[0].split("/")
        if method != "POST" or len(parts) != 3 or parts[0] or parts[2] not in HOOKS:
            return None
        bound = self._controllers.get(parts[1])
        if bound is None or (parts[2] == "customize" and bound.controller.customize is None):
            return None
        fields = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                fields[name.strip().lower()] = value.strip()
        credentials = self._credentials
        if credentials.enabled and not credentials.accepts(fields.get("authorization")):
            return None
        rid = request_id(fields.get("x-request-id")) or secrets.token_hex(16)
        call = _Call(parts[1], parts[2], rid)
        call.error = "TooManyRequests"
        retry_after = self._retry_after()
        payload = orjson.dumps(self._too_many(retry_after))
        answer = (
            "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Retry-After: {retry_after}\r\nX-Request-Id: {rid}\r\n\r\n"
        ).encode("latin-1") + payload
        call.seconds = time.perf_counter() - call.started
        call.record(429)
        return answer

    def _failure(self, err: Exception, call: _Call) -> tuple[int, dict[str, Any]]:
        """Return the JSON error answering an exception, as Flask's error handlers word it."""
        if isinstance(err, BadRequest):
            call.error = err.error
            return err.status, _error_body(err)
        if isinstance(err, HTTPException):
            return _http_error(err, call, self._limits)
        call.error = "InternalError"
        log.exception("hook failed", extra={"fields": {"requestId": call.request_id}})
        return 500, {
            "error": "InternalError",
            "message": "the hook failed; nothing was changed; see the server log",
            "requestId": call.request_id,
        }

    def _answer(
        self, bound: BoundController, call: _Call, environ: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any]:
        """Return the status and JSON body (None for none); headers to send go in `headers`."""
        credentials = self._credentials
        if credentials.enabled and not credentials.accepts(environ.get("HTTP_AUTHORIZATION")):
            call.error = "Unauthorized"
            headers["WWW-Authenticate"] = credentials.challenge
            return 401, {"error": "Unauthorized", "message": "authentication required"}
        raw = read_body(environ, self._limits.max_body_bytes)
        etags = self._etags
        etag = etags.of(call.controller, call.hook, raw) if etags is not None else None
        if (
            etag is not None
            and etag_matches(environ.get("HTTP_IF_NONE_MATCH"), etag)
            and etags is not None
            and etags.was_answered(etag)
        ):
            headers["ETag"] = etag
            return 304, None
        if not self._in_flight.enter(len(raw)):
            call.error = "TooManyRequests"
            headers["Retry-After"] = retry_after = self._retry_after()
            return 429, self._too_many(retry_after)
        answer: KubeObject | Serialised
        try:
            if self.compute_child is not None and len(raw) >= GcPause.LARGE:
                status, answer, cacheable = self._compute_in_child(call, raw)
            else:
                call.held = held = self._gc_pause.hold(len(raw))
                answer, cacheable = self._compute(bound, call, raw, held)
                status = 200
        finally:
            self._in_flight.leave()
        if status == 200 and etag is not None and etags is not None and cacheable:
            headers["ETag"] = etag
            etags.answered(etag)
        return status, answer

    def start_compute_child(self) -> None:
        """Fork the child that computes this process's large calls (`hooks.compute`); called
        in each gunicorn worker before its threads start."""
        limit = self._limits.max_body_bytes
        self.compute_child = ComputeChild(
            self.computed,
            request_bytes=limit,
            answer_bytes=4 * limit,
            after=self._release_computed,
        )

    def _compute_in_child(self, call: _Call, raw: bytes) -> tuple[int, Serialised, bool]:
        """Compute in the child; if it is gone, here (`hooks.compute`)."""
        child = self.compute_child
        assert child is not None
        try:
            outcome, payload = child.call((call.controller, call.hook, call.request_id), raw)
        except ComputeChildGone:
            self.compute_child = None
            bound = self._controllers[call.controller]
            call.held = held = self._gc_pause.hold(len(raw))
            answer, cacheable = self._compute(bound, call, raw, held)
            return 200, Serialised(dump_answer(answer)), cacheable
        call.error, call.spec_error = outcome.error, outcome.spec_error
        call.children, call.parent = outcome.children, outcome.parent
        return outcome.status, Serialised(payload), outcome.cacheable

    def computed(self, message: tuple[str, str, str], raw: bytes) -> tuple[Computed, bytes]:
        """Answer one call in the compute child: what `_answer` does once a call is admitted,
        with errors worded as `__call__` words them."""
        controller, hook, rid = message
        call = _Call(controller, hook, rid)
        call.held = held = self._gc_pause.hold(len(raw))
        self._computed_call = call  # released once the answer is sent (`Held`)
        try:
            answer, cacheable = self._compute(self._controllers[controller], call, raw, held)
            status, payload = 200, dump_answer(answer)
        except Exception as err:
            status, body = self._failure(err, call)
            payload, cacheable = orjson.dumps(body), False
        meta = call.parent.get("metadata") if isinstance(call.parent, dict) else None
        identity = {key: meta.get(key) for key in _LOGGED_META} if isinstance(meta, dict) else {}
        outcome = Computed(
            status, cacheable, call.error, call.spec_error, call.children, {"metadata": identity}
        )
        return outcome, payload

    def _release_computed(self) -> None:
        call, self._computed_call = self._computed_call, None
        if call is not None:
            call.release()

    def _compute(
        self, bound: BoundController, call: _Call, raw: bytes, held: Held
    ) -> tuple[KubeObject, bool]:
        """Return the answer, and whether it may be cached (it does not depend on the clock)."""
        if call.hook == "customize":
            customize_request = parse(CustomizeRequest, held.keep(parse_json(raw, self._limits)))
            check_parent_kind(bound, customize_request.parent)
            call.parent = customize_request.parent
            return run_customize(bound, customize_request).to_wire(), True
        sync_request, response = answer_sync(
            bound,
            raw,
            self._limits,
            held,
            now=self._clock(),
            finalizing=call.hook == "finalize",
            on_invalid_spec=call.note_spec_error,
        )
        call.parent = sync_request.parent
        call.children = len(response.children)
        return response.to_wire(), response.resyncAfterSeconds is None


def answer_sync(
    bound: BoundController,
    raw: bytes,
    limits: Limits,
    held: Held,
    *,
    now: datetime,
    finalizing: bool = False,
    on_invalid_spec: Callable[[InvalidSpec], None] | None = None,
) -> tuple[SyncRequest, SyncResponse]:
    """Answer the raw body of a sync or finalize call, as the hook path does (and the benchmark).

    `held` keeps the parsed body, to be freed once the answer has been sent.
    """
    sync_request = parse(SyncRequest, held.keep(parse_json(raw, limits)))
    check_parent_kind(bound, sync_request.parent)
    check_children_count(sync_request, limits)
    if finalizing:
        sync_request.finalizing = True
    return sync_request, run_sync(bound, sync_request, now=now, on_invalid_spec=on_invalid_spec)


def check_parent_kind(bound: BoundController, parent: KubeObject) -> None:
    """Refuse a parent of another kind: a request sent to the wrong route is not a bad spec."""
    kind = bound.controller.kind
    if parent.get("kind") != kind.kind or parent.get("apiVersion") != kind.api_version:
        raise BadRequest(
            400,
            "WrongKind",
            f"controller {bound.name!r} serves {kind.kind} ({kind.api_version}), not "
            f"{parent.get('kind')!r} ({parent.get('apiVersion')!r})",
        )


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Read the raw body of a JSON request: 415 for another content type, 413 over `limit`.

    The limit is enforced before reading when the length is declared, and while reading a
    chunked body (werkzeug's rules, which Flask applied to these routes before).
    """
    mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if mimetype != "application/json":
        raise BadRequest(
            415,
            "UnsupportedMediaType",
            f"Content-Type must be application/json, not {mimetype or 'missing'!r}",
        )
    stream = environ["wsgi.input"]
    try:
        length: int | None = max(int(environ.get("CONTENT_LENGTH") or ""), 0)
    except ValueError:
        length = None
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge()
        return bytes(stream.read(length)) if length else b""
    if not environ.get("wsgi.input_terminated"):
        return b""
    data = bytes(stream.read(limit + 1))
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def _error_body(err: BadRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"error": err.error, "message": err.message}
    if err.details is not None:
        body["details"] = err.details
    return body


def dump_answer(body: Any) -> bytes:
    """Serialise an answer; one that echoes an object of the request nested past orjson's limit
    of 254 levels (children are not depth-checked on the way in: walking a thousand Pods would
    cost more than the hook) is the request's fault, a 400 TooDeep, not a 500."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as err:
        if "Recursion limit" not in str(err):
            raise
        raise BadRequest(
            400,
            "TooDeep",
            "an observed object nests deeper than an answer can hold (254 levels)",
        ) from None


def _http_error(err: HTTPException, call: _Call, limits: Limits) -> tuple[int, dict[str, Any]]:
    code = err.code or 500
    name = (err.name or "Error").replace(" ", "")
    call.error = name
    message = err.description or err.name
    if code == 413:
        message = f"request body is larger than the limit of {limits.max_body_bytes} bytes"
    return code, {"error": name, "message": message}
