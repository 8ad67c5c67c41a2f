"""Controller name -> Controller: which controllers exist, and which are served.

Discovery lives in `hooks.plugins`: kubehooks' own seven are entry points of the
`kubehooks.controllers` group like any plugin's. `CONTROLLERS` holds the built-ins;
`load_controllers(settings)` adds every installed plugin and the `module:attr` names of the
config's `plugins:` list, checked once and cached per list.
"""

from __future__ import annotations

from functools import lru_cache

from hooks.controller import (
    CONFIGMAPS,
    DEPLOYMENTS,
    HPAS,
    INGRESSES,
    JOBS,
    PODS,
    SERVICES,
    Controller,
)
from hooks.plugins import (
    PluginError,
    add,
    check_options,
    discover,
    installed_sources,
    load,
    named_sources,
    own_sources,
    probe_children,
)
from hooks.runtime import BoundController, bind
from hooks.settings import Settings

__all__ = [
    "CONTROLLERS",
    "CONFIGMAPS",
    "DEPLOYMENTS",
    "HPAS",
    "INGRESSES",
    "JOBS",
    "PODS",
    "SERVICES",
    "PluginError",
    "UnknownController",
    "bind_enabled",
    "controller_for_kind",
    "enabled_names",
    "load_controllers",
]

CONTROLLERS: dict[str, Controller] = discover(own_sources())
"""The built-in controllers, loaded through their entry points."""


class UnknownController(ValueError):
    """The configuration names a controller that does not exist."""


@lru_cache(maxsize=16)
def _plugins(named: tuple[str, ...]) -> tuple[tuple[Controller, str], ...]:
    """Import the plugins once per process and list: importing is the cost worth caching."""
    sources = installed_sources() + named_sources(named, "plugin")
    return tuple((load(source), source.origin) for source in sources)


def load_controllers(settings: Settings) -> dict[str, Controller]:
    """Return the built-ins, then installed plugins, then the config's `plugins:`, checked.

    Raises `PluginError` (one line) for a plugin that cannot be loaded or clashes with another.
    The built-ins are read from `CONTROLLERS` on every call, so a test may replace one.
    """
    controllers = dict(CONTROLLERS)
    for controller, origin in _plugins(tuple(settings.plugins)):
        add(controllers, controller, origin)
    return controllers


def enabled_names(settings: Settings) -> list[str]:
    """Return the enabled controller names, in discovery order; unknown names are an error."""
    known = load_controllers(settings)
    named = set(settings.controllers) | set(settings.enabled or ())
    unknown = sorted(named - set(known))
    if unknown:
        raise UnknownController(f"unknown controllers {unknown}; known: {', '.join(known)}")
    if settings.enabled is None:
        return list(known)
    return [name for name in known if name in settings.enabled]


def bind_enabled(settings: Settings) -> dict[str, BoundController]:
    """Bind every enabled controller to its settings, validating its options once."""
    known = load_controllers(settings)
    origins = {controller.name: origin for controller, origin in _plugins(settings.plugins)}
    bound: dict[str, BoundController] = {}
    for name in enabled_names(settings):
        config = settings.controller(name)
        try:
            check_options(known[name], config.options)
            bound[name] = bind(known[name], config, settings.policy, settings.limits)
            probe_children(bound[name])
        except PluginError as err:
            raise PluginError(f"{origins.get(name, 'built-in')}: {err}") from None
    return bound


def controller_for_kind(kind: str, settings: Settings | None = None) -> Controller:
    """Return the controller whose parent kind this is (for `kubehooks render`)."""
    known = load_controllers(settings or Settings())
    for controller in known.values():
        if controller.kind.kind == kind:
            return controller
    kinds = ", ".join(sorted(controller.kind.kind for controller in known.values()))
    raise UnknownController(f"no controller handles kind {kind!r} (kinds served: {kinds})")
