"""The benchmark measures plugins like built-ins (`python -m bench --controller NAME`)."""

from __future__ import annotations

from bench.inprocess import measure_controller
from bench.plugins import plugin_requests
from bench.timing import Budget

TINY = Budget(rounds=1, seconds=0.001)


def test_a_named_plugin_and_the_plugin_path_control_are_measured_and_match() -> None:
    typicals = plugin_requests(["tests.plugins.samples:CONTROLLER"])
    assert [item.controller for item in typicals] == ["echo", "foo-plugin"]
    for item in typicals:
        figures = measure_controller(item, TINY)
        assert figures.matches_golden, item.controller


def test_no_plugin_named_adds_nothing() -> None:
    assert plugin_requests([]) == []
