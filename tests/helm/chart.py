"""Run the helm CLI on the committed chart: built once by tests/helm/install.sh, then cached.

Shared by tests/test_helm.py (lint, template, schema checks, equivalence with
`kubehooks manifests`) and tests/cluster/test_helm_dry_run.py (server-side dry run).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from hooks.helm import CHART_DIR
from hooks.manifests import NAMESPACE

ROOT = Path(__file__).resolve().parent.parent.parent
CHART = ROOT / CHART_DIR
INSTALL_SH = Path(__file__).resolve().parent / "install.sh"
VALUES = Path(__file__).resolve().parent / "values"
GO_FALLBACK = Path("/usr/local/go/bin")
RELEASE = "kubehooks"


class HelmError(Exception):
    """helm exited non-zero; the message is its stderr."""


def values_files() -> list[Path]:
    return sorted(VALUES.glob("*.yaml"))


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    if shutil.which("go") is None and (GO_FALLBACK / "go").exists():
        env["PATH"] = f"{GO_FALLBACK}{os.pathsep}{env.get('PATH', '')}"
    return env


@functools.cache
def helm_binary() -> Path:
    """Build helm (once per machine, cached under ~/.cache/kubehooks) and return its path."""
    env = _environment()
    try:
        proc = subprocess.run(
            ["bash", str(INSTALL_SH)],
            stdout=subprocess.PIPE,
            stderr=None,  # build progress goes straight to our stderr
            text=True,
            check=True,
            env=env,
        )
    except subprocess.CalledProcessError as err:
        has_go = shutil.which("go", path=env.get("PATH")) is not None
        hint = "its output is above" if has_go else "install Go >= 1.26 to build helm"
        message = f"tests/helm/install.sh exited with {err.returncode}: {hint}"
        raise HelmError(f'{message} (or deselect these tests: -m "not helm")') from err
    return Path(proc.stdout.strip().splitlines()[-1])


def helm(*args: str) -> str:
    """Run helm with a clean, throwaway home (no repositories, no plugins); return stdout."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "HELM_CACHE_HOME": "/tmp/kubehooks-helm/cache",
        "HELM_CONFIG_HOME": "/tmp/kubehooks-helm/config",
        "HELM_DATA_HOME": "/tmp/kubehooks-helm/data",
    }
    proc = subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip())
    return proc.stdout


def _value_args(values: list[Path], sets: list[str]) -> list[str]:
    args: list[str] = []
    for path in values:
        args += ["--values", str(path)]
    for item in sets:
        args += ["--set", item]
    return args


def template(
    *values: Path,
    sets: tuple[str, ...] = (),
    namespace: str = NAMESPACE,
    crds: bool = False,
    kube_version: str | None = None,
) -> list[dict[str, Any]]:
    """Return the objects `helm template` renders, CRDs included when asked."""
    args = ["template", RELEASE, str(CHART), "--namespace", namespace]
    if crds:
        args.append("--include-crds")
    if kube_version:
        args += ["--kube-version", kube_version]
    text = helm(*args, *_value_args(list(values), list(sets)))
    return [doc for doc in yaml.safe_load_all(text) if doc]


def lint(*values: Path) -> str:
    return helm(
        "lint", "--strict", str(CHART), "--namespace", NAMESPACE, *_value_args(list(values), [])
    )
