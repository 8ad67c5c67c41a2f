"""Plugins in the benchmark: `python -m bench --controller NAME` (repeatable).

NAME is an installed controller's name (a `kubehooks.controllers` entry point) or a
`package.module:ATTRIBUTE`. Its typical request is its steady-state golden when
tests/fixtures has one, else one made with the test kit: the default spec's children, observed
as the API server returns them. Two figures answer the issue's targets: plugin discovery at
start-up (fresh processes, median), and the hook cost of a plugin against the same controller
built in (`foo`, loaded a second time through `--controller` as `foo-plugin`), so the only
difference measured is the path a plugin takes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Any

import orjson

from bench.foo_plugin import FOO_AS_PLUGIN
from bench.inprocess import ControllerFigures
from bench.report import table
from bench.workload import FIXTURES, ROOT, TYPICAL_CASE, Typical, typical
from hooks.plugins import Source, load
from hooks.registry import load_controllers
from hooks.sdk import Controller
from hooks.settings import Settings
from hooks.testing import kit

CONTROL = "bench.foo_plugin:FOO_AS_PLUGIN"
DISCOVERY_TARGET_MS = 50.0
SAME_COST_NOISE = 0.10
"""Within 10%: the spread of repeated in-process figures on a shared machine."""


def plugin_specs(names: list[str]) -> tuple[str, ...]:
    """Return the `module:attr` names among `names` (installed names need no loading)."""
    return tuple(name for name in names if ":" in name)


def _controller_name(name: str) -> str:
    return load(Source(name, name)).name if ":" in name else name


def plugin_requests(names: list[str]) -> list[Typical]:
    """Return the typical request of each named plugin, and of the plugin-path control."""
    if not names:
        return []
    specs = (*plugin_specs(names), CONTROL)
    settings = Settings(plugins=specs)
    known = load_controllers(settings)
    found = []
    for name in [*names, CONTROL]:
        controller = known[_controller_name(name)]
        found.append(_typical(controller, {"plugins": list(specs)}))
    return found


def _typical(controller: Controller, config: dict[str, Any]) -> Typical:
    if controller is FOO_AS_PLUGIN:
        built_in = typical("foo")
        request = json.loads(built_in.body)
        request["parent"]["kind"] = FOO_AS_PLUGIN.kind.kind
        body = orjson.dumps(request)
        golden = json.loads(
            orjson.dumps(kit.render(controller, request["parent"], _observed(request)))
        )
        return replace(
            built_in, controller=controller.name, body=body, golden=golden, config=config
        )
    folder = FIXTURES / controller.name / TYPICAL_CASE
    if (folder / "request.json").is_file():
        request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
    else:
        request = _made_request(controller)
    now = kit.NOW
    settings = Settings.model_validate(config)
    answer = kit.render(controller, request["parent"], _observed(request), settings=settings)
    return Typical(
        controller=controller.name,
        hook="sync",
        body=orjson.dumps(request),
        now=now,
        golden=json.loads(orjson.dumps(answer)),
        config=config,
    )


def _made_request(controller: Controller) -> dict[str, Any]:
    """A steady state from the default spec: its own children, observed."""
    parent = kit.parent(controller, "bench", {})
    desired = kit.render(controller, parent)["children"]
    return kit.sync_request(controller, parent, [kit.observe(child, parent) for child in desired])


def _observed(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [obj for group in request["children"].values() for obj in group.values()]


_DISCOVERY = """
import sys, time
import hooks.registry as registry
from hooks.settings import Settings
start = time.perf_counter()
registry.load_controllers(Settings(plugins=tuple(sys.argv[1:])))
print((time.perf_counter() - start) * 1000)
"""


def discovery_ms(names: list[str], runs: int = 5) -> float:
    """Return the median milliseconds a fresh process spends finding and loading plugins.

    Measured after kubehooks itself is imported (its seven built-ins included), from reading
    the entry points to the last plugin checked: what plugins add to start-up.
    """
    specs = [*plugin_specs(names), CONTROL]
    figures = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _DISCOVERY, *specs],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        figures.append(float(done.stdout.strip()))
    return statistics.median(figures)


@dataclass(frozen=True)
class PluginFigures:
    """Discovery time, and the plugin-path control against the same hook built in."""

    discovery_ms: float
    built_in_us: float
    as_plugin_us: float

    @property
    def ratio(self) -> float:
        return self.as_plugin_us / self.built_in_us

    def to_json(self) -> dict[str, Any]:
        return {
            "discoveryMs": round(self.discovery_ms, 2),
            "discoveryTargetMs": DISCOVERY_TARGET_MS,
            "fooBuiltInUs": round(self.built_in_us, 2),
            "fooAsPluginUs": round(self.as_plugin_us, 2),
            "pluginVsBuiltIn": round(self.ratio, 3),
        }


def plugin_figures(names: list[str], measured: list[ControllerFigures]) -> PluginFigures:
    """Combine discovery with the in-process figures of foo and its plugin copy."""
    by_name = {item.controller: item for item in measured}
    return PluginFigures(
        discovery_ms=discovery_ms(names),
        built_in_us=by_name["foo"].core_us,
        as_plugin_us=by_name[FOO_AS_PLUGIN.name].core_us,
    )


def plugins_table(figures: PluginFigures) -> str:
    """Return the plugin targets as met or missed, with the numbers."""
    same = abs(figures.ratio - 1) <= SAME_COST_NOISE
    rows = [
        [
            "plugin discovery at start-up",
            f"{figures.discovery_ms:.1f} ms",
            f"<= {DISCOVERY_TARGET_MS:.0f} ms",
            "met" if figures.discovery_ms <= DISCOVERY_TARGET_MS else "MISSED",
        ],
        [
            "foo as a plugin vs built in (hook call)",
            f"{figures.as_plugin_us:.1f} / {figures.built_in_us:.1f} us = {figures.ratio:.2f}x",
            f"1.00x +- {SAME_COST_NOISE:.0%}",
            "met" if same else "MISSED",
        ],
    ]
    return table(["target", "measured", "target", "result"], rows)
