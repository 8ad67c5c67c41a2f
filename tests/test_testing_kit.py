"""The test kit (hooks.testing) catches what it promises to, and says what is missing."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import testing
from hooks.registry import CONTROLLERS
from hooks.sdk import HookRequest, SyncResponse
from tests.plugins.samples import CONTROLLER as ECHO
from tests.plugins.samples import sync as echo_sync

ROOT = Path(__file__).parent.parent
FOO = CONTROLLERS["foo"]


def test_a_builtin_keeps_every_property_through_the_kit() -> None:
    (parent,) = yaml.safe_load_all((ROOT / "examples" / "foo.yaml").read_text())
    testing.check_all_properties(FOO, parent["spec"])


def test_a_controller_that_answers_differently_each_time_is_caught() -> None:
    counter = itertools.count()

    def restless(request: HookRequest[Any, Any]) -> SyncResponse:
        answer = echo_sync(request)
        return SyncResponse(
            status={**answer.status, "calls": next(counter)}, children=answer.children
        )

    with pytest.raises(AssertionError, match="two different answers"):
        testing.check_all_properties(replace(ECHO, sync=restless), {})


def test_a_refused_spec_check_needs_a_spec_the_model_refuses() -> None:
    parent = testing.parent(ECHO, "a", {})
    with pytest.raises(AssertionError, match="accepts"):
        testing.check_refused_spec_keeps_children(ECHO, parent, [], {"replicas": 2})


def test_the_crd_drift_check_fails_on_a_changed_file_and_update_rewrites_it(tmp_path: Path) -> None:
    path = tmp_path / "crd.yaml"
    testing.check_crd_matches(ECHO, path, update=True)
    testing.check_crd_matches(ECHO, path)
    path.write_text(path.read_text().replace("Pods to run.", "Pods."))
    with pytest.raises(AssertionError, match="drifted"):
        testing.check_crd_matches(ECHO, path)


def test_a_missing_test_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)
    with pytest.raises(testing.MissingExtra, match="kubernetes-validate"):
        testing.validate_children([])


def test_children_are_validated_against_the_kubernetes_schemas() -> None:
    (child,) = testing.render(ECHO, testing.parent(ECHO, "a", {}))["children"]
    testing.validate_children([child])
    child["spec"]["replicaz"] = 1
    with pytest.raises(Exception, match="replicaz"):
        testing.validate_children([child])
