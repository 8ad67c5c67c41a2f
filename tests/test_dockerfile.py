"""The Dockerfile builds what the shipped manifests run: a pinned base, locked dependencies,
and the Deployment's port, with the healthcheck reading the port the server listens on; the
same for the portal's target (`docker build --target portal .`), whose dependencies stay out of
the hook server's image. Docker does not run here: these tests read the files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from hooks.manifests import PORTAL_FILE, all_manifests
from hooks.settings import Settings

ROOT = Path(__file__).parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
LOCK = (ROOT / "requirements.lock").read_text()
PORTAL_LOCK = (ROOT / "requirements-portal.lock").read_text()


def _stages() -> dict[str, str]:
    """Return each stage's text by name (continuation lines joined); the last one is also ''."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    stages: dict[str, str] = {}
    for part in re.split(r"\n(?=FROM )", joined)[1:]:
        words = part.split(None, 4)
        stages[words[3] if len(words) > 3 and words[2] == "AS" else ""] = part
    stages[""] = part
    return stages


def _instructions(name: str, stage: str | None = "server") -> list[str]:
    """Return the arguments of every instruction `name` of a stage (None: of every stage)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE) if stage is None else _stages()[stage]
    return [
        line.split(None, 1)[1].strip()
        for line in text.splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def _locked(lock: str = LOCK) -> dict[str, tuple[str, list[str]]]:
    """Return package name -> (pinned version, its hashes) from a lock file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", lock):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            entries[match[1].lower().replace("_", "-")] = (match[2], hashes)
    return entries


def test_every_base_image_is_pinned_by_digest() -> None:
    args = _instructions("ARG", None)
    (base,) = [arg.split("=", 1)[1] for arg in args if arg.startswith("BASE=")]
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base)
    stages = _instructions("FROM", None)
    assert [stage.split()[-1] for stage in stages] == ["build", "portal-build", "portal", "server"]
    assert all(stage.split()[0] == "${BASE}" for stage in stages)
    assert _stages()[""] == _stages()["server"], "the hook server is the default target (last)"


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
    server = _stages()["server"]
    assert "KUBEHOOKS_PORT:" in server.split("HEALTHCHECK")[0], "documented before use"


def test_dependencies_install_from_the_lock_with_hashes_only() -> None:
    runs = _instructions("RUN", "build")
    assert any("--require-hashes" in run and "-r requirements.lock" in run for run in runs)
    project = [run for run in runs if "pip install" in run and " ." in run]
    assert project and all("--no-deps" in run for run in project)
    assert "COPY requirements.lock ./" in _stages()["build"]


def _assert_covers(lock_name: str, extras: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check a lock pins every runtime dependency, the extras' and the build backend, each
    within its specifier and with hashes; return what it locks."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    locked = _locked((ROOT / lock_name).read_text())
    wanted = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in pyproject["project"]["optional-dependencies"][extra]]
    wanted += [Requirement(r) for r in pyproject["build-system"]["requires"]]
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{name} is not in {lock_name}: regenerate it"
        version, _ = locked[name]
        assert requirement.specifier.contains(version), f"{name}=={version} vs {requirement}"
    for name, (_, hashes) in locked.items():
        assert hashes, f"{name} has no hash"
    return locked


def test_the_lock_pins_every_runtime_dependency_and_the_build_backend() -> None:
    _assert_covers("requirements.lock")


def _portal_deployment_container() -> dict[str, Any]:
    (deployment,) = [
        obj for obj in all_manifests(Settings())[PORTAL_FILE] if obj["kind"] == "Deployment"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_the_portal_lock_pins_the_portal_extra_and_everything_with_hashes() -> None:
    _assert_covers("requirements-portal.lock", ("portal",))
    for line in PORTAL_LOCK.splitlines():
        assert not line.startswith(("-e", "--index-url", "--extra-index-url")), line
        assert not line.strip().startswith("#   -c "), f"a local constraint left: {line}"


def test_the_hook_server_image_stays_lean() -> None:
    portal_only = {"sqlalchemy", "alembic", "kubernetes", "psycopg", "pymysql"}
    assert not portal_only & set(_locked()), "the portal's packages stay out of requirements.lock"
    assert "requirements-portal.lock" not in _stages()["build"]
    assert _instructions("COPY") == ["--from=build /opt/kubehooks /opt/kubehooks"]


def test_the_portal_stage_installs_its_lock_with_hashes_only() -> None:
    runs = _instructions("RUN", "portal-build")
    assert any("--require-hashes" in r and "-r requirements-portal.lock" in r for r in runs)
    project = [run for run in runs if "pip install" in run and " ." in run]
    assert project and all("--no-deps" in run for run in project)
    assert _instructions("COPY", "portal")[0] == "--from=portal-build /opt/kubehooks /opt/kubehooks"


def test_the_portal_stage_runs_kubehooks_portal_non_root_on_the_deployments_port() -> None:
    assert _instructions("USER", "portal") == ["10001:10001"]
    assert _instructions("ENTRYPOINT", "portal") == ['["kubehooks", "portal"]']
    assert _instructions("CMD", "portal") == []
    container = _portal_deployment_container()
    assert container["image"].endswith("-portal"), "the portal target's tag"
    assert container["args"][0] == "--config", "the image's entrypoint says `portal`"
    (port,) = [str(p["containerPort"]) for p in container["ports"]]
    assert _instructions("EXPOSE", "portal") == [port]
    (env,) = [e for e in _instructions("ENV", "portal") if "KUBEHOOKS_PORTAL_PORT" in e]
    assert f"KUBEHOOKS_PORTAL_PORT={port}" in env and "KUBEHOOKS_PORTAL_HOST=0.0.0.0" in env


def test_the_portal_healthcheck_probes_the_portals_healthz_on_its_port() -> None:
    (healthcheck,) = _instructions("HEALTHCHECK", "portal")
    assert "os.environ.get('KUBEHOOKS_PORTAL_PORT','8099')" in healthcheck
    assert "/healthz" in healthcheck
    from hooks.portal.config import ENV_DEFAULTS

    assert ENV_DEFAULTS["port"] == "KUBEHOOKS_PORTAL_PORT"
