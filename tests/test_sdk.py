"""The public SDK: the built-in controllers use only it, and it keeps its promises."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

import hooks.sdk as sdk
from hooks.plugins import BUILTIN_ENTRY_POINTS, ENTRY_POINT_GROUP
from hooks.registry import CONTROLLERS

ROOT = Path(__file__).parent.parent
KINDS = sorted(BUILTIN_ENTRY_POINTS)
USERS = [
    ROOT / "hooks" / folder / f"{kind}.py" for folder in ("controllers", "api") for kind in KINDS
]


def _hooks_imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hooks"):
            modules.add(node.module or "")
        elif isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names if alias.name.startswith("hooks")}
    return modules


@pytest.mark.parametrize("path", USERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_builtin_controllers_import_only_the_sdk_and_their_own_kind(path: Path) -> None:
    own_kind = f"hooks.api.{path.stem}"
    assert _hooks_imports(path) - {"hooks.sdk", own_kind} == set()


def test_every_promised_name_exists() -> None:
    missing = [name for name in sdk.__all__ if not hasattr(sdk, name)]
    assert missing == []
    assert len(set(sdk.__all__)) == len(sdk.__all__)


def test_the_sdk_defines_nothing_of_its_own() -> None:
    tree = ast.parse(Path(sdk.__file__).read_text())
    defined = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Assign)
        and not (isinstance(node, ast.Assign) and node.targets[0].id == "__all__")  # type: ignore[attr-defined]
    ]
    assert defined == []


def test_the_changelog_states_the_promise() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "hooks.sdk" in text and "breaking change" in text


def test_pyproject_registers_the_seven_as_entry_points() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][ENTRY_POINT_GROUP] == BUILTIN_ENTRY_POINTS


def test_the_builtins_are_loaded_through_their_entry_points() -> None:
    assert list(CONTROLLERS) == list(BUILTIN_ENTRY_POINTS)
    for name, controller in CONTROLLERS.items():
        module, _, attribute = BUILTIN_ENTRY_POINTS[name].partition(":")
        assert controller.name == name
        assert controller is getattr(__import__(module, fromlist=[attribute]), attribute)
