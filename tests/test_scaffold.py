"""`kubehooks new`: the written package installs, passes its own tests, renders and manifests.

The package is installed with pip into a folder of its own (`--target`), never into the
running environment, and used through PYTHONPATH by subprocesses: the real install path
(pyproject, entry point) is exercised while nothing global changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hooks.cli import main

ROOT = Path(__file__).parent.parent


def _run(args: list[str], cwd: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    env.pop("KUBEHOOKS_CONFIG", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Scaffold `shelf` (a Deployment, a Service and a ConfigMap) and pip-install it aside."""
    base = tmp_path_factory.mktemp("scaffold")
    children = "deployments,services,configmaps"
    assert (
        main(["new", "shelf", "--kind", "Shelf", "--children", children, "--dir", str(base)]) == 0
    )
    package, site = base / "shelf", base / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    flags = ["--no-deps", "--no-build-isolation", "--target", str(site), str(package)]
    subprocess.run([*pip, *flags], check=True, capture_output=True, timeout=600)
    return package, site


def test_the_scaffold_passes_its_own_tests(installed: tuple[Path, Path]) -> None:
    package, site = installed
    result = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider"], package, site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_the_installed_scaffold_renders_its_example(installed: tuple[Path, Path]) -> None:
    package, site = installed
    result = _run(["-m", "hooks", "render", "-f", "example.yaml"], package, site)
    assert result.returncode == 0, result.stderr
    (answer,) = yaml.safe_load_all(result.stdout)
    kinds = sorted(child["kind"] for child in answer["children"])
    assert kinds == ["ConfigMap", "Deployment", "Service"]


def test_the_installed_scaffold_is_in_the_manifests(installed: tuple[Path, Path]) -> None:
    package, site = installed
    result = _run(["-m", "hooks", "manifests"], package, site)
    assert result.returncode == 0, result.stderr
    names = {doc["metadata"]["name"] for doc in yaml.safe_load_all(result.stdout) if doc}
    assert "shelfs.shelf.example.com" in names
    assert "foos.kubehooks.dev" in names


def test_the_scaffold_renders_uninstalled_with_the_controller_flag(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    package, _ = installed
    flag = ["--controller", "shelf.controller:CONTROLLER"]
    result = _run(["-m", "hooks", "render", "-f", "example.yaml", *flag], package, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["new", "My-Op", "--kind", "Op"], "lower-case", id="name"),
        pytest.param(["new", "op", "--kind", "op"], "CamelCase", id="kind"),
        pytest.param(["new", "op", "--kind", "Op", "--children", "pods"], "choose from", id="kids"),
        pytest.param(
            ["new", "op", "--kind", "Op", "--children", "hpas"], "add deployments", id="hpa"
        ),
    ],
)
def test_bad_scaffold_arguments_are_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_scaffold_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "op").mkdir()
    (tmp_path / "op" / "mine.txt").write_text("keep")
    assert main(["new", "op", "--kind", "Op", "--dir", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
