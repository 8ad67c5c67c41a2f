"""Controller plugins: found, served everywhere the built-ins are, and refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

import hooks.registry as registry
from hooks.cli import main
from hooks.plugins import ENTRY_POINT_GROUP
from hooks.server import create_app
from hooks.settings import Settings
from tests.servers import free_port

ROOT = Path(__file__).parent.parent
GOOD = "tests.plugins.samples:CONTROLLER"
ECHO = {"apiVersion": "samples.example.com/v1alpha1", "kind": "Echo"}


@pytest.fixture(autouse=True)
def _fresh_discovery() -> Iterator[None]:
    """Entry points are read once per process; tests that install one read them again."""
    registry._plugins.cache_clear()
    yield
    registry._plugins.cache_clear()


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, str]) -> None:
    """Make a distribution with these entry points visible, as `pip install` would."""
    dist = tmp_path / "site" / "sample_operator-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sample-operator\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entries.items())
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_installed_entry_point_is_served_beside_the_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, monkeypatch, {"echo": GOOD})
    controllers = registry.load_controllers(Settings())
    assert list(controllers)[: len(registry.CONTROLLERS)] == list(registry.CONTROLLERS)
    assert "echo" in controllers
    client = create_app(Settings()).test_client()
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/echo/sync" in paths
    parent = {**ECHO, "metadata": {"name": "a", "namespace": "default", "uid": "u1"}, "spec": {}}
    body = {"parent": parent, "children": {"Deployment.apps/v1": {}}}
    answer = client.post("/echo/sync", json=body, buffered=True).get_json()
    assert [child["kind"] for child in answer["children"]] == ["Deployment"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'controller="echo"' in metrics


def test_the_controller_flag_serves_renders_and_manifests_a_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = tmp_path / "echo.yaml"
    parent.write_text(yaml.safe_dump({**ECHO, "metadata": {"name": "a"}, "spec": {"replicas": 2}}))
    argv = ["render", "-f", str(parent), "-o", "json", "--controller", GOOD]
    assert main([*argv, "--now", "2026-01-15T10:00:00+00:00"]) == 0
    (child,) = json.loads(capsys.readouterr().out)["children"]
    assert child["kind"] == "Deployment" and child["spec"]["replicas"] == 2
    assert main(["manifests", "--controller", GOOD]) == 0
    kinds = [
        (doc["kind"], doc["metadata"]["name"])
        for doc in yaml.safe_load_all(capsys.readouterr().out)
    ]
    assert ("CustomResourceDefinition", "echoes.samples.example.com") in kinds
    assert ("CompositeController", "kubehooks-echo") in kinds or any(
        kind == "CompositeController" and "echo" in name for kind, name in kinds
    )


def test_the_config_plugins_list_loads_a_controller(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"plugins": [GOOD], "enabled": ["echo"]}))
    from hooks.settings import load_settings

    assert list(registry.bind_enabled(load_settings(config))) == ["echo"]


def test_an_entry_point_that_cannot_be_imported_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(tmp_path, monkeypatch, {"broken": "no_such_operator.controller:CONTROLLER"})
    err = _refused(capsys, ["manifests"])
    assert "entry point 'broken' of sample-operator" in err
    assert "ModuleNotFoundError" in err and "no_such_operator" in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("tests.plugins.samples:NAME_CLASH", "name 'foo' is already taken", id="name"),
        pytest.param(
            "tests.plugins.samples:KIND_CLASH",
            "kind kubehooks.dev/Foo is already handled by controller 'foo'",
            id="kind",
        ),
        pytest.param(
            "tests.plugins.samples:UNDECLARED_CHILD", "undeclared child Service.v1", id="child"
        ),
        pytest.param(
            "tests.plugins.samples:NOT_A_CONTROLLER", "not a hooks.sdk.Controller", id="type"
        ),
        pytest.param("tests.plugins.samples:BAD_NAME", "must match", id="bad-name"),
        pytest.param("tests.plugins.samples:MISSING", "AttributeError", id="no-attribute"),
        pytest.param("tests.plugins.samples", "expected 'package.module:ATTRIBUTE'", id="no-colon"),
    ],
)
@pytest.mark.parametrize("command", ["manifests", "serve"])
def test_a_bad_plugin_is_refused_at_start_in_one_line(
    spec: str, message: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(capsys, [command, "--controller", spec])
    assert message in err and spec.split(":")[0] in err


def test_options_the_plugin_model_rejects_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"controllers": {"strict": {"options": {"zone": "x"}}}}))
    argv = ["manifests", "--config", str(config), "--controller", "tests.plugins.samples:STRICT"]
    err = _refused(capsys, argv)
    assert "options rejected by StrictOptions" in err
    assert "controllers.strict.options.region: Field required" in err
    assert "controllers.strict.options.zone: unknown key" in err


def test_the_same_plugin_named_twice_is_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, monkeypatch, {"echo": GOOD})
    settings = Settings(plugins=(GOOD,))
    assert list(registry.load_controllers(settings)).count("echo") == 1


def test_serve_answers_a_plugin_over_http() -> None:
    port = free_port()
    argv = ["-m", "hooks", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(
        [sys.executable, *argv, "--controller", GOOD],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert "echo" in requests.get(f"{url}/readyz", timeout=5).json()["controllers"]
        parent = {**ECHO, "metadata": {"name": "a", "namespace": "default", "uid": "u"}, "spec": {}}
        body = {"parent": parent, "children": {"Deployment.apps/v1": {}}}
        response = requests.post(f"{url}/echo/sync", json=body, timeout=5)
        assert response.status_code == 200
        assert [child["kind"] for child in response.json()["children"]] == ["Deployment"]
    finally:
        server.terminate()
        server.wait(timeout=30)
