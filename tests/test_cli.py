"""The kubehooks command: render offline, print manifests, start a real server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from hooks.cli import main
from tests.goldens import FIXTURES
from tests.servers import free_port

ROOT = Path(__file__).parent.parent


def test_render_prints_children_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "render",
                "-f",
                str(ROOT / "examples" / "foo.yaml"),
                "--now",
                "2026-01-15T10:00:00+00:00",
            ]
        )
        == 0
    )
    answer = yaml.safe_load(capsys.readouterr().out)
    (deployment,) = answer["children"]
    assert deployment["kind"] == "Deployment"
    assert deployment["metadata"]["name"] == "example-foo"
    assert answer["status"]["conditions"][-1]["type"] == "Ready"


def test_render_with_observed_children_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = json.loads((FIXTURES / "podcluster" / "steady-state" / "request.json").read_text())
    pods = list(request["children"]["Pod.v1"].values())
    observed = tmp_path / "pods.yaml"
    observed.write_text(yaml.safe_dump_all(pods))
    parent = tmp_path / "parent.json"
    parent.write_text(json.dumps(request["parent"]))
    assert main(["render", "-f", str(parent), "--observed", str(observed), "-o", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"]["readyReplicas"] == 3


def test_render_rejects_an_unknown_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parent = tmp_path / "p.yaml"
    parent.write_text("apiVersion: v1\nkind: Nope\nmetadata: {name: x}\n")
    assert main(["render", "-f", str(parent)]) == 2
    assert "Nope" in capsys.readouterr().err


def test_manifests_prints_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests"]) == 0
    kinds = [obj["kind"] for obj in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds.count("CustomResourceDefinition") >= 2
    assert "CompositeController" in kinds and "Deployment" in kinds


def test_manifests_respects_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("enabled: [podcluster]\n")
    assert main(["manifests", "--config", str(config)]) == 0
    names = [obj["metadata"]["name"] for obj in yaml.safe_load_all(capsys.readouterr().out)]
    assert "kubehooks-podcluster" in names and "kubehooks-foo" not in names


def test_bad_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("enabled: [nosuch]\n")
    assert main(["manifests", "--config", str(config)]) == 2
    assert "nosuch" in capsys.readouterr().err


def test_serve_answers_a_fixture_over_http() -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hooks",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
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
        body = (FIXTURES / "foo" / "fresh-parent" / "request.json").read_bytes()
        response = requests.post(
            f"{url}/foo/sync", data=body, headers={"Content-Type": "application/json"}, timeout=5
        )
        assert response.status_code == 200
        assert response.json()["children"][0]["kind"] == "Deployment"
    finally:
        server.terminate()
        server.wait(timeout=30)
