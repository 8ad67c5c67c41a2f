"""The Dockerfile builds what the shipped manifests run: a pinned base, locked dependencies,
and the Deployment's port, with the healthcheck reading the port the server listens on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from hooks.manifests import all_manifests
from hooks.settings import Settings

ROOT = Path(__file__).parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
LOCK = (ROOT / "requirements.lock").read_text()


def _instructions(name: str) -> list[str]:
    """Return the arguments of every instruction `name` (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1].strip()
        for line in joined.splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def _locked() -> dict[str, tuple[str, list[str]]]:
    """Return package name -> (pinned version, its hashes) from requirements.lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", LOCK):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            entries[match[1].lower().replace("_", "-")] = (match[2], hashes)
    return entries


def test_every_base_image_is_pinned_by_digest() -> None:
    (base,) = [arg.split("=", 1)[1] for arg in _instructions("ARG") if arg.startswith("BASE=")]
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base)
    stages = _instructions("FROM")
    assert len(stages) == 2
    assert all(stage.split()[0] == "${BASE}" for stage in stages)


def test_exposed_port_is_the_deployments_container_port() -> None:
    (deployment,) = [
        obj
        for obj in all_manifests(Settings())["deploy/server.yaml"]
        if obj["kind"] == "Deployment"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {str(port["containerPort"]) for port in container["ports"]}
    assert set(_instructions("EXPOSE")) == ports
    assert f"KUBEHOOKS_PORT={ports.pop()}" in _instructions("ENV")


def test_the_healthcheck_probes_the_port_serve_listens_on() -> None:
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "os.environ.get('KUBEHOOKS_PORT','8443')" in healthcheck
    (command,) = _instructions("CMD")
    assert "--port" not in command, "--port would leave the healthcheck on KUBEHOOKS_PORT"
    assert "KUBEHOOKS_PORT" in DOCKERFILE.split("HEALTHCHECK")[0], "documented before use"


def test_dependencies_install_from_the_lock_with_hashes_only() -> None:
    runs = _instructions("RUN")
    assert any("--require-hashes" in run and "-r requirements.lock" in run for run in runs)
    project = [run for run in runs if "pip install" in run and " ." in run]
    assert project and all("--no-deps" in run for run in project)
    assert "COPY requirements.lock ./" in DOCKERFILE


def test_the_lock_pins_every_runtime_dependency_and_the_build_backend() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    locked = _locked()
    wanted = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    wanted += [Requirement(r) for r in pyproject["build-system"]["requires"]]
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{name} is not in requirements.lock: regenerate it"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version), f"{name}=={version} vs {requirement}"
    for name, (_, hashes) in locked.items():
        assert hashes, f"{name} has no hash"
