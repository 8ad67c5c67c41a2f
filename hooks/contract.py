"""Pydantic models of Metacontroller's CompositeController hook wire format.

Requests are open (they carry whole Kubernetes objects, kept as plain dicts so that a request
with a thousand Pods is not validated field by field); responses are closed, because a v2 hook
response with an unknown top-level key fails the whole sync, and a v1 response with a misspelt
`children` would delete every child.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationInfo,
    field_validator,
    model_validator,
)

KubeObject = dict[str, Any]
ObjectMap = dict[str, KubeObject]
"""One child group: v1 keys it by `name`, v2 by `namespace/name`; controllers never read keys."""


class ObjectMeta(BaseModel):
    """The metadata fields hooks read, typed as the API server writes them.

    This model documents the contract (the server's OpenAPI document is generated from it);
    requests are checked by `check_object`, its hand-written twin that copies nothing, because
    validating every observed Pod with pydantic would cost as much as parsing the request.
    A test keeps the two in agreement.
    """

    model_config = ConfigDict(extra="allow", strict=True)

    name: str = Field(description="The object's name.")
    namespace: str = Field(default="", description="Its namespace; absent when cluster-scoped.")
    uid: str = Field(default="", description="Set by the API server.")
    resourceVersion: str = Field(default="", description="Set by the API server.")  # noqa: N815
    generation: int = Field(
        default=0, ge=-(2**63), le=2**63 - 1, description="Spec changes seen (an int64)."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")
    deletionTimestamp: str = Field(default="", description="Set once deletion started.")  # noqa: N815


class ObjectShape(BaseModel):
    """A Kubernetes object as a hook receives it: typed identity, everything else free-form."""

    model_config = ConfigDict(extra="allow", strict=True)

    apiVersion: str = Field(description="group/version, or v1.")  # noqa: N815
    kind: str = Field(description="The object's kind.")
    metadata: ObjectMeta


_META_STRINGS = ("name", "namespace", "uid", "resourceVersion", "deletionTimestamp")
_META_MAPS = ("labels", "annotations")
_ABSENT: Any = ""
"""Stands in for a metadata key that is absent: a string, so it passes the string checks."""
_NO_MAP: dict[str, str] = {}
_STR = {str}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def check_object(obj: Any, where: str) -> None:
    """Raise ValueError naming the field unless `obj` fits `ObjectShape` (without copying it).

    Metacontroller only sends objects the API server stored, so this never refuses one of its
    requests; it turns a malformed one into a 400 instead of a crash deep inside a controller.
    """
    problem = _shape_problem(obj)
    if problem is not None:
        raise ValueError(where + problem)


def _shape_problem(obj: Any) -> str | None:
    """Return what is wrong with an object's shape (a field path and why), or None.

    Runs for every observed object of every request, so the common case, every field of the
    exact type JSON parsing gives, is decided first with exact type checks that allocate
    nothing; anything else takes the field-by-field path, which also names the problem.
    """
    if type(obj) is dict:
        meta = obj.get("metadata")
        if (
            type(meta) is dict
            and type(obj.get("apiVersion")) is str
            and type(obj.get("kind")) is str
            and type(meta.get("name")) is str
            and type(meta.get("namespace", "")) is str
            and type(meta.get("uid", "")) is str
            and type(meta.get("resourceVersion", "")) is str
            and type(meta.get("deletionTimestamp", "")) is str
            and type(generation := meta.get("generation", 0)) is int
            and _INT64_MIN <= generation <= _INT64_MAX
            and _all_strings(meta.get("labels", _NO_MAP))
            and _all_strings(meta.get("annotations", _NO_MAP))
        ):
            return None
    return _shape_problem_in_detail(obj)


def _all_strings(mapping: Any) -> bool:
    if type(mapping) is not dict:
        return False
    for value in mapping.values():
        if type(value) is not str:
            return False
    return True


def _shape_problem_in_detail(obj: Any) -> str | None:
    """Check an object field by field: the exact rules, for what the fast path doubted."""
    if not isinstance(obj, dict):
        return ": must be an object"
    if not isinstance(obj.get("apiVersion"), str):
        return ".apiVersion: must be a string"
    if not isinstance(obj.get("kind"), str):
        return ".kind: must be a string"
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return ".metadata: must be an object"
    if not isinstance(meta.get("name"), str):
        return ".metadata.name: must be a string"
    for key in _META_STRINGS:
        if not isinstance(meta.get(key, _ABSENT), str):
            return f".metadata.{key}: must be a string"
    generation = meta.get("generation", 0)
    if type(generation) is not int:
        if isinstance(generation, float) and generation.is_integer() and abs(generation) <= 2**53:
            # JSON does not tell 3 from 3.0, and a JSON Schema integer may be written either
            # way; past 2**53 a float is no longer exact (parsers read huge integers as floats).
            meta["generation"] = int(generation)
        elif not isinstance(generation, int) or isinstance(generation, bool):
            return ".metadata.generation: must be an integer"
        elif not _INT64_MIN <= generation <= _INT64_MAX:
            return ".metadata.generation: must be a 64-bit integer"
    elif not _INT64_MIN <= generation <= _INT64_MAX:
        return ".metadata.generation: must be a 64-bit integer"
    for key in _META_MAPS:
        value = meta.get(key)
        if value is None and key not in meta:
            continue
        if not isinstance(value, dict) or not (
            # set(map(type, ...)) runs in C; the generator is the exact check for str subclasses.
            set(map(type, value.values())) <= _STR
            or all(isinstance(item, str) for item in value.values())
        ):
            return f".metadata.{key}: must map strings to strings"
    return None


# Fields of observed objects that controllers and the policy read, typed as the API server
# stores them: a dict is an object whose listed fields (each optional, null as absent) have
# those types, a one-item list a list of such items (never null), a type that JSON type, and
# `dict` any object. Every reader (hooks.builders.observe, hooks.policy through
# hooks.builders.workloads.pod_specs_of, the controllers) may then take these shapes for
# granted; anything else in an observed object is read by no one (or read defensively, such as
# hostNetwork, only ever tested for truth) and is not checked, which keeps the check of a
# thousand observed Pods cheap.
_Schema = Any
_CONTAINER: _Schema = {
    "securityContext": {"capabilities": {"add": [str]}},
    "ports": [dict],
}
_POD_SPEC: _Schema = {
    "volumes": [dict],
    "containers": [_CONTAINER],
    "initContainers": [_CONTAINER],
    "ephemeralContainers": [_CONTAINER],
}
_COMMON: _Schema = {
    "metadata": {"ownerReferences": [dict]},
    "status": {
        "conditions": [{"type": str, "status": str}],
        "loadBalancer": {"ingress": [dict]},
    },
}
_TEMPLATED: _Schema = {**_COMMON, "spec": {"template": {"metadata": dict, "spec": _POD_SPEC}}}
_BY_KIND: dict[str, _Schema] = {
    # A thousand Pods are the common large request: only what Pods' readers need (whether a
    # Pod is ready skips conditions that are not objects).
    "Pod": {
        "metadata": _COMMON["metadata"],
        "status": {"conditions": list},
        "spec": _POD_SPEC,
    },
    **dict.fromkeys(("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"), _TEMPLATED),
    "CronJob": {
        **_COMMON,
        "spec": {"jobTemplate": {"spec": {"template": {"metadata": dict, "spec": _POD_SPEC}}}},
    },
    "Ingress": {
        **_COMMON,
        "spec": {
            "rules": [{"host": str, "http": {"paths": [{"path": str}]}}],
            "tls": [{"hosts": [str]}],
        },
    },
    "HorizontalPodAutoscaler": {
        **_COMMON,
        "spec": {
            "scaleTargetRef": {"apiVersion": str, "kind": str, "name": str},
            "minReplicas": int,
            "maxReplicas": int,
        },
    },
}
_OTHER: _Schema = {**_COMMON, "spec": dict}
_JSON_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    dict: "an object",
    list: "a list",
}


_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", dict: "object", list: "array"}


def _json_schema(schema: _Schema) -> KubeObject:
    if type(schema) is dict:
        optional = {
            key: {"anyOf": [_json_schema(inner), {"type": "null"}]} for key, inner in schema.items()
        }
        return {"type": "object", "properties": optional}
    if type(schema) is list:
        return {"type": "array", "items": _json_schema(schema[0])}
    return {"type": _JSON_TYPES[schema]}


def observed_object_schema() -> KubeObject:
    """The JSON Schema of what `readable_problem` accepts, for the OpenAPI document: the types
    of the fields readers rely on, by kind (on top of `ObjectShape`)."""
    by_kind = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": _json_schema(schema),
        }
        for kind, schema in _BY_KIND.items()
    ]
    other = {
        "if": {"properties": {"kind": {"enum": list(_BY_KIND)}}, "required": ["kind"]},
        "else": _json_schema(_OTHER),
    }
    return {"allOf": [*by_kind, other]}


def readable_problem(obj: KubeObject) -> str | None:
    """Return where an observed object (of a checked shape) breaks the types hooks read, or
    None: ``.spec.template.spec.containers[0]: must be an object``."""
    kind = obj["kind"]
    if kind == "Pod" and _pod_fits(obj):
        return None
    return _schema_problem(obj, _BY_KIND.get(kind, _OTHER))


_DICT = {dict}
_CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")


def _pod_fits(pod: KubeObject) -> bool:
    """The Pod schema above, unrolled: a request holds up to thousands of Pods, and this runs in
    about a third of the generic walk's time. True only if the walk would find nothing (a test
    holds the two together); False sends the Pod to the walk, which names the problem."""
    owners = pod["metadata"].get("ownerReferences")
    if owners is not None and (type(owners) is not list or not set(map(type, owners)) <= _DICT):
        return False
    status = pod.get("status")
    if status is not None and (
        type(status) is not dict or type(status.get("conditions", [])) not in (list, type(None))
    ):
        return False
    spec = pod.get("spec")
    if spec is None:
        return True
    if type(spec) is not dict:
        return False
    volumes = spec.get("volumes")
    if volumes is not None and (type(volumes) is not list or not set(map(type, volumes)) <= _DICT):
        return False
    for field in _CONTAINER_FIELDS:
        containers = spec.get(field)
        if containers is None:
            continue
        if type(containers) is not list:
            return False
        for container in containers:
            if type(container) is not dict:
                return False
            context = container.get("securityContext")
            if context is not None and (
                type(context) is not dict or context.get("capabilities") is not None
            ):
                return False  # capabilities are rare: the walk checks them
            ports = container.get("ports")
            if ports is not None and (
                type(ports) is not list or not set(map(type, ports)) <= _DICT
            ):
                return False
    return True


def _schema_problem(value: Any, schema: _Schema) -> str | None:
    # Leaves (a JSON type) are tested inline, so a fitting object costs one call per object
    # or list it holds rather than one per field.
    if type(schema) is dict:
        if type(value) is not dict:
            return ": must be an object"
        for key, inner in schema.items():
            item = value.get(key)
            if item is None or type(item) is inner:
                continue
            problem = _schema_problem(item, inner)
            if problem is not None:
                return f".{key}{problem}"
        return None
    if type(schema) is list:
        if type(value) is not list:
            return ": must be a list"
        inner = schema[0]
        if type(inner) is not type:
            for index, item in enumerate(value):
                problem = _schema_problem(item, inner)
                if problem is not None:
                    return f"[{index}]{problem}"
            return None
        for index, item in enumerate(value):
            if type(item) is not inner:
                return f"[{index}]: must be {_JSON_NAMES[inner]}"
        return None
    if schema is int and type(value) is float and value.is_integer():
        return None  # JSON does not tell 3 from 3.0
    return f": must be {_JSON_NAMES[schema]}"


def _check_groups(groups: Any, where: str) -> None:
    if type(groups) is not dict:
        raise ValueError(f"{where}: must be an object")
    for group, objects in groups.items():
        if type(objects) is not dict:
            raise ValueError(f"{where}[{group!r}]: must be an object")
        for key, obj in objects.items():
            problem = _shape_problem(obj)
            if problem is None:
                problem = readable_problem(obj)
            if problem is not None:
                raise ValueError(f"{where}[{group!r}][{key!r}]{problem}")


def child_key(kind: str, api_version: str) -> str:
    """Return the group key: `Kind.version` for core, `Kind.group/version` otherwise."""
    return f"{kind}.{api_version}"


ReceivedObject = Annotated[KubeObject, SkipValidation]
"""A received object, not copied: `check_object` checks its shape instead (pydantic would copy
every one of a thousand Pods to check that it is a dict)."""
ReceivedGroups = Annotated[dict[str, dict[str, KubeObject]], SkipValidation]
"""A children or related map, not copied: `_check_groups` checks both levels and every object."""


class SyncRequest(BaseModel):
    """The body of a sync or finalize call (identical apart from `finalizing`)."""

    model_config = ConfigDict(extra="allow")

    controller: ReceivedObject = Field(default_factory=dict)
    parent: ReceivedObject
    children: ReceivedGroups = Field(default_factory=dict)
    related: ReceivedGroups = Field(default_factory=dict)
    finalizing: bool = Field(default=False, strict=True)

    @field_validator("controller")
    @classmethod
    def _controller_is_an_object(cls, value: Any) -> KubeObject:
        if type(value) is not dict:
            raise ValueError("must be an object")
        return value

    @field_validator("parent")
    @classmethod
    def _parent_has_identity(cls, value: Any) -> KubeObject:
        check_object(value, "parent")
        return value  # type: ignore[no-any-return]

    @field_validator("children", "related")
    @classmethod
    def _objects_have_identity(cls, value: Any, info: ValidationInfo) -> dict[str, ObjectMap]:
        _check_groups(value, str(info.field_name))
        return value  # type: ignore[no-any-return]

    def observed(self, key: str) -> list[KubeObject]:
        """Return the observed children of one group, ordered by namespace and name."""
        return Observed(self.children).all(key)

    def observed_named(self, key: str, name: str) -> KubeObject | None:
        """Return the observed child of that group and name, whatever the hook version's key."""
        return Observed(self.children).named(key, name)

    def all_observed(self) -> Iterator[KubeObject]:
        """Yield every observed child of every group, in a stable order."""
        yield from Observed(self.children).everything()


class Observed:
    """Typed access to a children or related map that does not depend on v1/v2 inner keys."""

    __slots__ = ("_groups",)

    def __init__(self, groups: dict[str, ObjectMap]) -> None:
        self._groups = groups

    def all(self, key: str) -> list[KubeObject]:
        """Return the objects of one group, ordered by namespace and name."""
        objects = self._groups.get(key) or {}
        return sorted(objects.values(), key=_namespaced_name)

    def unordered(self, key: str) -> list[KubeObject]:
        """Return the objects of one group in the order received: for counting, not for output."""
        return list((self._groups.get(key) or {}).values())

    def named(self, key: str, name: str) -> KubeObject | None:
        """Return the object of that group with `metadata.name == name`, if observed."""
        for obj in (self._groups.get(key) or {}).values():
            if (obj.get("metadata") or {}).get("name") == name:
                return obj
        return None

    def by_name(self, key: str) -> dict[str, KubeObject]:
        """Return the objects of one group indexed by `metadata.name`."""
        return {
            (obj.get("metadata") or {}).get("name", ""): obj
            for obj in (self._groups.get(key) or {}).values()
        }

    def everything(self) -> Iterator[KubeObject]:
        """Yield every object of every group, groups in key order."""
        for key in sorted(self._groups):
            yield from self.all(key)


def _namespaced_name(obj: KubeObject) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


class SyncResponse(BaseModel):
    """What a sync or finalize hook answers.

    `status` is always an object (null wipes the parent's status) and `children` always a list
    (a missing list deletes every child). `resyncAfterSeconds` and `finalized` are sent only
    when they mean something.
    """

    model_config = ConfigDict(extra="forbid")

    status: KubeObject
    children: Annotated[list[KubeObject], SkipValidation]
    """Not copied: a thousand built Pods are vetted by the runtime, which checks each is a dict."""
    resyncAfterSeconds: int | float | None = None  # noqa: N815 - wire name
    finalized: bool | None = None

    def to_wire(self) -> KubeObject:
        """Return the JSON-ready body, with the optional keys only when set."""
        body: KubeObject = {"status": self.status, "children": self.children}
        if self.resyncAfterSeconds is not None:
            body["resyncAfterSeconds"] = self.resyncAfterSeconds
        if self.finalized is not None:
            body["finalized"] = self.finalized
        return body


class LabelSelectorRequirement(BaseModel):
    """One `matchExpressions` entry of a metav1.LabelSelector."""

    model_config = ConfigDict(extra="forbid")

    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(BaseModel):
    """A metav1.LabelSelector."""

    model_config = ConfigDict(extra="forbid")

    matchLabels: dict[str, str] | None = None  # noqa: N815 - wire name
    matchExpressions: list[LabelSelectorRequirement] | None = None  # noqa: N815 - wire name

    def to_wire(self) -> KubeObject:
        """Return the selector as Kubernetes writes it, without unset fields."""
        return self.model_dump(exclude_none=True)


class CustomizeRequest(BaseModel):
    """The body of a customize call: the controller and the parent, nothing observed."""

    model_config = ConfigDict(extra="allow")

    controller: KubeObject = Field(default_factory=dict)
    parent: KubeObject

    @model_validator(mode="after")
    def _parent_has_identity(self) -> CustomizeRequest:
        check_object(self.parent, "parent")
        return self


class RelatedResourceRule(BaseModel):
    """One related-resource rule; `names` cannot be combined with the selectors."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: str  # noqa: N815 - wire name
    resource: str
    labelSelector: LabelSelector | None = None  # noqa: N815 - wire name
    namespaceSelector: LabelSelector | None = None  # noqa: N815 - wire name
    namespace: str | None = None
    names: list[str] | None = None


class CustomizeResponse(BaseModel):
    """What a customize hook answers."""

    model_config = ConfigDict(extra="forbid")

    relatedResources: list[RelatedResourceRule]  # noqa: N815 - wire name

    def to_wire(self) -> KubeObject:
        """Return the JSON-ready body."""
        return {
            "relatedResources": [
                rule.model_dump(exclude_none=True) for rule in self.relatedResources
            ]
        }
