"""Finding controllers: the `kubehooks.controllers` entry points, and `module:attr` names.

Discovery follows pytest's `pytest11` and Flask's CLI commands: an installed package names a
`Controller` value under the entry point group, and kubehooks' own seven are entries of the
same group in its own pyproject.toml. A controller can also be named directly, as
`package.module:ATTRIBUTE`, by `--controller` or the config's `plugins:` list.

Every controller is checked once, here, before anything is served: a bad plugin stops the
start with one line naming it (`PluginError`), never a traceback from a worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel, ValidationError

from hooks.api.common import KubeModel, StatusBase
from hooks.api.kind import Kind
from hooks.contract import SyncRequest
from hooks.controller import ChildResource, Controller
from hooks.runtime import BoundController, ControllerBug, run_sync
from hooks.settings import describe_config_error

ENTRY_POINT_GROUP = "kubehooks.controllers"
OWN_DISTRIBUTION = "kubehooks"
BUILTIN_ENTRY_POINTS = {
    "foo": "hooks.controllers.foo:CONTROLLER",
    "podcluster": "hooks.controllers.podcluster:CONTROLLER",
    "application": "hooks.controllers.application:CONTROLLER",
    "modelbox": "hooks.controllers.modelbox:CONTROLLER",
    "redismigration": "hooks.controllers.redismigration:CONTROLLER",
    "aijob": "hooks.controllers.aijob:CONTROLLER",
    "cronscaler": "hooks.controllers.cronscaler:CONTROLLER",
}
"""kubehooks' own entries of the group, as pyproject.toml declares them (a test keeps the two
equal). Used only when the installed metadata predates them (an editable install made before
the group existed), so that an old install still serves the built-ins."""

NAME_RULE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
"""A controller name is a URL path segment, a metrics label and a file name: keep it plain."""
SPEC_RULE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PluginError(ValueError):
    """A controller cannot be served; the message is the one line the user sees."""


@dataclass(frozen=True)
class Source:
    """Where a controller comes from: the value to load, and how to name it in an error."""

    value: str
    origin: str


def own_sources() -> list[Source]:
    """Return kubehooks' own entry points, in the order pyproject.toml lists them.

    The installed metadata does not keep that order (setuptools sorts it), and the order is
    what every listing shows (routes, manifests, the start line), so it is restored here.
    """
    declared = [ep for ep in _group() if _distribution(ep) == OWN_DISTRIBUTION]
    if not declared:
        declared = [EntryPoint(n, v, ENTRY_POINT_GROUP) for n, v in BUILTIN_ENTRY_POINTS.items()]
    order = {name: index for index, name in enumerate(BUILTIN_ENTRY_POINTS)}
    declared.sort(key=lambda ep: (order.get(ep.name, len(order)), ep.name))
    return [_entry_point_source(ep) for ep in declared]


def installed_sources() -> list[Source]:
    """Return the entry points of every other installed distribution, sorted by name."""
    others = [ep for ep in _group() if _distribution(ep) != OWN_DISTRIBUTION]
    return [_entry_point_source(ep) for ep in sorted(others, key=lambda ep: (ep.name, ep.value))]


def named_sources(specs: Iterable[str], where: str) -> list[Source]:
    """Return sources for `module:attr` names given by a flag or the config."""
    return [Source(spec, f"{where} {spec}") for spec in specs]


def _group() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return re.sub(r"[-_.]+", "-", dist.name).lower() if dist is not None else ""


def _entry_point_source(ep: EntryPoint) -> Source:
    dist = _distribution(ep) or "an unknown distribution"
    return Source(ep.value, f"entry point {ep.name!r} of {dist} ({ep.value})")


def load(source: Source) -> Controller:
    """Import one controller and check its shape; any failure is one `PluginError` line."""
    if not SPEC_RULE.match(source.value):
        raise PluginError(f"{source.origin}: expected 'package.module:ATTRIBUTE'")
    module_name, _, attribute = source.value.partition(":")
    try:
        value: object = import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except Exception as err:  # noqa: BLE001 - any import failure is reported, in one line
        raise PluginError(f"{source.origin} cannot be loaded: {_one_line(err)}") from None
    if not isinstance(value, Controller):
        raise PluginError(
            f"{source.origin} is a {type(value).__name__}, not a hooks.sdk.Controller"
        )
    check_controller(value, source.origin)
    return value


def check_controller(controller: Controller, origin: str) -> None:
    """Refuse a controller whose declaration cannot be served as it stands."""
    if not NAME_RULE.match(controller.name):
        raise PluginError(
            f"{origin}: controller name {controller.name!r} must match {NAME_RULE.pattern}"
        )
    kind = controller.kind
    if not isinstance(kind, Kind):
        raise PluginError(f"{origin}: kind must be a hooks.sdk.Kind")
    for model, base in ((kind.spec, KubeModel), (kind.status, StatusBase)):
        if not (isinstance(model, type) and issubclass(model, base)):
            raise PluginError(
                f"{origin}: {kind.kind} models must subclass hooks.sdk.{base.__name__}"
            )
    if not (isinstance(controller.options, type) and issubclass(controller.options, BaseModel)):
        raise PluginError(f"{origin}: options must be a pydantic model class")
    children = controller.children
    if not children or not all(isinstance(child, ChildResource) for child in children):
        raise PluginError(f"{origin}: children must be a non-empty tuple of ChildResource")
    keys = [child.key for child in children]
    if len(set(keys)) != len(keys):
        raise PluginError(f"{origin}: a child type is declared twice in {keys}")
    for hook in ("sync", "finalize", "customize"):
        function = getattr(controller, hook)
        if function is not None and not callable(function):
            raise PluginError(f"{origin}: {hook} must be a function")


def add(controllers: dict[str, Controller], controller: Controller, origin: str) -> None:
    """Add a controller, refusing one whose name, kind or CRD another controller already has.

    The same value named twice (an entry point and a flag) is added once.
    """
    existing = controllers.get(controller.name)
    if existing is controller:
        return
    if existing is not None:
        raise PluginError(f"{origin}: controller name {controller.name!r} is already taken")
    for other in controllers.values():
        if other is controller:
            raise PluginError(f"{origin}: the same controller is already served as {other.name!r}")
        if other.kind.kind == controller.kind.kind and other.kind.group == controller.kind.group:
            raise PluginError(
                f"{origin}: kind {controller.kind.group}/{controller.kind.kind} is already "
                f"handled by controller {other.name!r}"
            )
        if other.kind.crd_name == controller.kind.crd_name:
            raise PluginError(
                f"{origin}: CRD {controller.kind.crd_name} already belongs to controller "
                f"{other.name!r}"
            )
    controllers[controller.name] = controller


def discover(sources: Iterable[Source]) -> dict[str, Controller]:
    """Load every source in order into one checked mapping."""
    controllers: dict[str, Controller] = {}
    for source in sources:
        add(controllers, load(source), source.origin)
    return controllers


def check_options(controller: Controller, options: Mapping[str, object]) -> BaseModel:
    """Validate a controller's options from the config, as one line on failure."""
    try:
        return controller.options.model_validate(dict(options))
    except ValidationError as err:
        where = ("controllers", controller.name, "options")
        raise PluginError(
            f"controller {controller.name!r}: options rejected by {controller.options.__name__}: "
            f"{describe_config_error(err, where)}"
        ) from None


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


PROBE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""A fixed time for the start-up probe: its answer is thrown away, and no clock is read."""


def probe_children(bound: BoundController) -> None:
    """Run sync once on a fresh parent with the default spec, when the spec model has one.

    An undeclared child type is otherwise found on the first real parent (the runtime's
    `ControllerBug`, a 500 on every call); here it stops the start instead. A spec model with
    required fields has no default parent to try, and is left to that runtime check.
    """
    kind = bound.controller.kind
    try:
        kind.spec.model_validate({})
    except ValidationError:
        return
    parent = {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"name": "start-up-probe", "namespace": "default", "generation": 1},
        "spec": {},
    }
    children: dict[str, dict[str, object]] = {c.key: {} for c in bound.controller.children}
    request = SyncRequest(parent=parent, children=children)
    try:
        run_sync(bound, request, now=PROBE_TIME)
    except ControllerBug as err:
        raise PluginError(f"{err} (add its type to the controller's children)") from None
    except Exception as err:  # noqa: BLE001 - reported in one line, the start refused
        raise PluginError(
            f"controller {bound.name!r} fails on a default {kind.kind}: {_one_line(err)}"
        ) from None
