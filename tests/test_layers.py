"""The pure layers never import the HTTP stack, read the environment, or read the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "hooks"
PURE = [
    "contract.py",
    "controller.py",
    "runtime.py",
    "policy.py",
    "phases.py",
    "api",
    "builders",
    "controllers",
]
FORBIDDEN_IMPORTS = {"flask", "werkzeug", "requests", "gunicorn", "os", "time"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "getenv"}


def _files() -> list[Path]:
    out: list[Path] = []
    for item in PURE:
        path = PACKAGE / item
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_has_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        assert not names & FORBIDDEN_IMPORTS, f"{path.name} imports {names & FORBIDDEN_IMPORTS}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{path.name} calls .{node.func.attr}()"
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hooks."):
            assert node.module.split(".")[1] not in {"server", "cli", "serve", "settings_io"}


PORTAL = PACKAGE / "portal"
HOOK_SERVER_WING = ["server.py", "edge.py", "serve.py", "registry.py", "runtime.py", *PURE]


def _hooks_imports(path: Path) -> set[str]:
    """Return the hooks.<module> names a file imports (at any depth: lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        found |= {m.split(".")[1] for m in modules if m.startswith("hooks.") and "." in m}
    return found


@pytest.mark.parametrize("path", sorted(PORTAL.rglob("*.py")), ids=lambda p: p.name)
def test_the_portal_never_imports_the_hook_server(path: Path) -> None:
    assert not _hooks_imports(path) & {"server", "edge", "serve", "cli"}


def test_the_hook_server_never_imports_the_portal() -> None:
    for item in HOOK_SERVER_WING:
        target = PACKAGE / item
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            assert "portal" not in _hooks_imports(path), f"{path.name} imports hooks.portal"
