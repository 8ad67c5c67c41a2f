"""The server's OpenAPI 3.1 document (GET /openapi.json), generated from the pydantic models.

Request bodies come from the contract (`SyncRequest`, `CustomizeRequest`, with objects typed by
`ObjectShape`), each parent's `spec` from its kind's spec model, answers from the response models.
The document states what the server enforces and no more: a parent's spec may be anything (a spec
that fails its model is answered with 200, the children kept and the error in status), so the
kind's model is offered as the first choice of an `anyOf` rather than required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

import hooks
from hooks.auth import Credentials
from hooks.contract import (
    CustomizeRequest,
    CustomizeResponse,
    ObjectShape,
    SyncRequest,
    SyncResponse,
    observed_object_schema,
)
from hooks.runtime import BoundController
from hooks.settings import Settings

REF = "#/components/schemas/{model}"
Schema = dict[str, Any]


class ErrorDetail(BaseModel):
    """One problem found in a request that does not follow the hook contract."""

    field: str = Field(description="Dotted path of the offending field.")
    message: str = Field(description="What is wrong with it.")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer; a 500 never carries a traceback."""

    error: str = Field(description="CamelCase name of the error, such as InvalidJSON.")
    message: str = Field(description="What went wrong, for a human.")
    details: list[ErrorDetail] | None = Field(default=None, description="Contract violations.")
    requestId: str | None = Field(default=None, description="To find the log line of a 500.")  # noqa: N815


def _ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


def _error(description: str, headers: Schema | None = None) -> Schema:
    response: Schema = {
        "description": description,
        "content": {"application/json": {"schema": _ref("ErrorBody")}},
    }
    if headers:
        response["headers"] = headers
    return response


def openapi_document(
    settings: Settings, controllers: dict[str, BoundController], credentials: Credentials
) -> Schema:
    """Return the OpenAPI document of every route the server answers with these settings."""
    kinds = {bound.controller.kind.spec for bound in controllers.values()}
    models: list[tuple[type[BaseModel], Any]] = [
        (SyncRequest, "validation"),
        (SyncResponse, "serialization"),
        (CustomizeRequest, "validation"),
        (CustomizeResponse, "serialization"),
        (ObjectShape, "validation"),
        (ErrorBody, "serialization"),
        *((spec, "validation") for spec in sorted(kinds, key=lambda model: model.__name__)),
    ]
    _, defs = models_json_schema(models, by_alias=True, ref_template=REF)
    schemas: Schema = dict(defs.get("$defs", {}))
    schemas["ObservedObject"] = {"allOf": [_ref("ObjectShape"), observed_object_schema()]}
    objects = {"type": "object", "additionalProperties": _ref("ObservedObject")}
    groups = {
        "type": "object",
        "description": "Kind.apiVersion -> key (v1: name, v2: namespace/name) -> object.",
        "additionalProperties": objects,
    }
    schemas["SyncRequest"]["properties"].update(children=groups, related=groups)
    schemas["SyncRequest"]["properties"]["parent"] = _ref("ObjectShape")
    schemas["CustomizeRequest"]["properties"]["parent"] = _ref("ObjectShape")
    schemas["SyncResponse"]["properties"]["children"] = {
        "type": "array",
        "items": _ref("ObjectShape"),
    }

    too_many = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    etag_header = {"ETag": {"description": "Hash of the request.", "schema": {"type": "string"}}}
    common = {
        "400": _error(
            "Not JSON, not an object, too deep, too many children, off-contract, or a parent "
            "of another kind (WrongKind)."
        ),
        "413": _error("The body is over the configured limit."),
        "415": _error("The content type is not application/json."),
        "429": _error("This worker is at its in-flight limit; retry after Retry-After.", too_many),
        "500": _error("A bug: nothing was changed, Metacontroller retries."),
    }
    if credentials.enabled:
        common["401"] = _error("Missing or wrong credentials.")
    parameters = [
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "An ETag of an earlier 200: answered 304 when the request is the same.",
            "schema": {"type": "string"},
        },
        {
            "name": "X-Request-Id",
            "in": "header",
            "required": False,
            "description": "Echoed back and logged when it is 1-128 of [A-Za-z0-9._:-].",
            "schema": {"type": "string"},
        },
    ]
    paths: Schema = {}
    for name, bound in controllers.items():
        spec_model = bound.controller.kind.spec.__name__
        request_name = f"{spec_model.removesuffix('Spec')}SyncRequest"
        kind = bound.controller.kind
        identity = {"kind": {"const": kind.kind}, "apiVersion": {"const": kind.api_version}}
        parent = {
            "allOf": [
                _ref("ObjectShape"),
                {
                    "type": "object",
                    "properties": {"spec": {"anyOf": [_ref(spec_model), {}]}, **identity},
                },
            ]
        }
        sync_request = {**schemas["SyncRequest"], "title": request_name}
        sync_request["properties"] = {**sync_request["properties"], "parent": parent}
        schemas[request_name] = sync_request
        hooks_of: list[tuple[str, str, str]] = [
            ("sync", request_name, "SyncResponse"),
            ("finalize", request_name, "SyncResponse"),
        ]
        if bound.controller.customize is not None:
            customize_name = f"{spec_model.removesuffix('Spec')}CustomizeRequest"
            customize_request = {**schemas["CustomizeRequest"], "title": customize_name}
            customize_parent = {
                "allOf": [_ref("ObjectShape"), {"type": "object", "properties": identity}]
            }
            customize_request["properties"] = {
                **customize_request["properties"],
                "parent": customize_parent,
            }
            schemas[customize_name] = customize_request
            hooks_of.append(("customize", customize_name, "CustomizeResponse"))
        for hook, request_schema, response_schema in hooks_of:
            paths[f"/{name}/{hook}"] = {
                "post": {
                    "operationId": f"{name}_{hook}",
                    "summary": f"The {hook} hook of the {bound.controller.kind.kind} controller.",
                    "parameters": parameters,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref(request_schema)}},
                    },
                    "responses": {
                        "200": {
                            "description": "The answer Metacontroller applies.",
                            "headers": etag_header,
                            "content": {"application/json": {"schema": _ref(response_schema)}},
                        },
                        "304": {
                            "description": "Same request as the If-None-Match ETag's.",
                            "headers": etag_header,
                        },
                        **common,
                    },
                }
            }
    paths.update(_probe_paths(settings, credentials))
    document: Schema = {
        "openapi": "3.1.0",
        "info": {
            "title": "kubehooks",
            "version": hooks.__version__,
            "description": "Metacontroller CompositeController hooks (v2 contract).",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if credentials.enabled:
        schemes: Schema = {}
        if credentials.bearer is not None:
            schemes["bearerAuth"] = {"type": "http", "scheme": "bearer"}
        if credentials.basic is not None:
            schemes["basicAuth"] = {"type": "http", "scheme": "basic"}
        document["components"]["securitySchemes"] = schemes
        document["security"] = [{name: []} for name in schemes]
    return document


def _probe_paths(settings: Settings, credentials: Credentials) -> Schema:
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
    }
    ready = {
        "type": "object",
        "required": ["status", "controllers"],
        "properties": {
            "status": {"type": "string", "enum": ["starting", "ready", "stopping"]},
            "controllers": {"type": "array", "items": {"type": "string"}},
        },
    }

    def get(summary: str, responses: Schema, public: bool = True) -> Schema:
        operation: Schema = {"summary": summary, "responses": responses}
        if public:
            operation["security"] = []
        return {"get": operation}

    def body(description: str, schema: Schema, media: str = "application/json") -> Schema:
        return {"description": description, "content": {media: {"schema": schema}}}

    metrics_responses: Schema = {
        "200": body("Prometheus text format.", {"type": "string"}, "text/plain")
    }
    protect = credentials.enabled and settings.auth.protect_metrics
    if protect:
        metrics_responses["401"] = _error("Missing or wrong credentials.")
    return {
        "/healthz": get("Liveness: the process answers.", {"200": body("Alive.", status)}),
        "/readyz": get(
            "Readiness: configured and not shutting down.",
            {"200": body("Ready.", ready), "503": body("Starting or stopping.", ready)},
        ),
        "/metrics": get("Prometheus metrics of every worker.", metrics_responses, not protect),
        "/openapi.json": get("This document.", {"200": body("OpenAPI 3.1.", {"type": "object"})}),
    }
