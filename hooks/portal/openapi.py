"""OpenAPI 3.1 of the portal, generated from the served Kinds' spec models (/api/openapi.json)."""

from __future__ import annotations

from typing import Any

from hooks.api.kind import Kind

Schema = dict[str, Any]

ERROR: Schema = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "status": {"type": "integer"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["error", "status"],
}


def _plain(spec_ref: str) -> Schema:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "uid": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "phase": {"type": ["string", "null"]},
            "ready": {"type": ["boolean", "null"]},
            "reason": {"type": ["string", "null"]},
            "message": {"type": ["string", "null"]},
            "children": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "ready": {"type": ["boolean", "null"]},
                    },
                },
            },
            "created": {"type": ["string", "null"], "format": "date-time"},
            "age": {"type": ["string", "null"]},
            "spec": {"$ref": spec_ref},
        },
    }


def _json(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> Schema:
    ref = {"$ref": "#/components/schemas/Error"}
    return {str(code): _json(ref, "error") for code in codes}


def _parameter(name: str, where: str = "query", required: bool = False) -> Schema:
    return {"name": name, "in": where, "required": required, "schema": {"type": "string"}}


def _kind_paths(kind: Kind) -> dict[str, Schema]:
    spec_ref = f"#/components/schemas/{kind.kind}Spec"
    plain_ref = {"$ref": f"#/components/schemas/{kind.kind}"}
    listing = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": plain_ref}, "continue": {}},
    }
    create_body = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "spec": {"$ref": spec_ref},
        },
        "required": ["name", "spec"],
    }
    ns = _parameter("namespace", "path", True)
    name = _parameter("name", "path", True)
    base = f"/api/v1/namespaces/{{namespace}}/{kind.plural}"
    tag = [kind.kind]
    return {
        base: {
            "parameters": [ns],
            "get": {
                "tags": tag,
                "summary": f"List {kind.plural}",
                "parameters": [
                    _parameter(p) for p in ("limit", "continue", "labelSelector", "phase")
                ],
                "responses": {"200": _json(listing), **_errors(400, 401, 404, 503)},
            },
            "post": {
                "tags": tag,
                "summary": f"Create a {kind.kind} (validated by its spec model first)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": create_body}},
                },
                "responses": {"201": _json(plain_ref), **_errors(400, 401, 403, 404, 409, 422)},
            },
        },
        f"{base}/{{name}}": {
            "parameters": [ns, name],
            "get": {
                "tags": tag,
                "summary": f"Get a {kind.kind}",
                "responses": {"200": _json(plain_ref), **_errors(401, 404)},
            },
            "patch": {
                "tags": tag,
                "summary": f"Merge-patch a {kind.kind}'s spec or labels",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": _json(plain_ref), **_errors(400, 401, 403, 404, 422)},
            },
            "delete": {
                "tags": tag,
                "summary": f"Delete a {kind.kind}",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404)},
            },
        },
        f"/api/v1/history/{kind.plural}": {
            "get": {
                "tags": tag,
                "summary": f"Recorded {kind.plural}, newest first",
                "parameters": [
                    _parameter(p)
                    for p in (
                        "namespace",
                        "phase",
                        "labelSelector",
                        "since",
                        "until",
                        "limit",
                        "continue",
                    )
                ],
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 404, 503)},
            }
        },
        f"/api/v1/history/{kind.plural}/{{uid}}": {
            "get": {
                "tags": tag,
                "summary": f"One recorded {kind.kind} with its timeline",
                "parameters": [_parameter("uid", "path", True)],
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404, 503)},
            }
        },
        f"/api/v1/stats/{kind.plural}": {
            "get": {
                "tags": tag,
                "summary": "Counts by phase, p50/p95 duration, GPU-hours by namespace",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404, 503)},
            }
        },
    }


def action_paths(actions: list[tuple[str, str]]) -> dict[str, Schema]:
    """Return the paths of the kinds' actions (AIJob suspend and resume)."""
    paths: dict[str, Schema] = {}
    for plural, action in actions:
        paths[f"/api/v1/namespaces/{{namespace}}/{plural}/{{name}}/{action}"] = {
            "post": {
                "summary": f"{action} ({plural})",
                "parameters": [
                    _parameter("namespace", "path", True),
                    _parameter("name", "path", True),
                ],
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404, 422)},
            }
        }
    return paths


def portal_openapi(kinds: dict[str, Kind], actions: list[tuple[str, str]]) -> Schema:
    """Return the OpenAPI 3.1 document of the facade and history over these kinds."""
    schemas: dict[str, Schema] = {"Error": ERROR}
    paths: dict[str, Schema] = {}
    for kind in kinds.values():
        spec_schema = kind.spec.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        schemas.update(spec_schema.pop("$defs", {}))
        schemas[f"{kind.kind}Spec"] = spec_schema
        schemas[kind.kind] = _plain(f"#/components/schemas/{kind.kind}Spec")
        paths.update(_kind_paths(kind))
    paths.update(action_paths([a for a in actions if a[0] in kinds]))
    return {
        "openapi": "3.1.0",
        "info": {"title": "kubehooks portal", "version": "v1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
