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


def _bad_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


FOO = str(ROOT / "examples" / "foo.yaml")
REQUEST = str(FIXTURES / "foo" / "fresh-parent" / "request.json")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["render", "-f", "nope.yaml"], "nope.yaml: No such file or directory"),
        (["render", "-f", str(ROOT)], "Is a directory"),
        (["render", "-f", FOO, "--observed", "nope.yaml"], "nope.yaml: No such file"),
        (["manifests", "--out", str(ROOT / "README.md")], "Not a directory"),
        (["render", "-f", REQUEST], "is a hook request, not a parent"),
    ],
)
def test_a_users_mistake_gets_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("enabled: [podcluster]\n", "controller foo is not enabled"),
        ("enabled: [fooo]\n", "unknown controllers ['fooo']"),
        ("auth: {bearerToken: s3cret}\n", "auth.bearerToken: unknown key (name a file with"),
        (
            "controllers: {redismigration: {options: {instances: 5}}}\n",
            "controllers.redismigration.options.instances: Input should be a valid dictionary",
        ),
    ],
)
def test_config_errors_name_the_key_and_never_echo_the_input(
    tmp_path: Path, config: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["render", "-f", FOO], ["manifests"]):
        if "enabled: [podcluster]" in config and command[0] == "manifests":
            continue
        assert main([*command, "--config", _bad_config(tmp_path, config)]) == 2
        err = capsys.readouterr().err
        assert expected in err, err
        assert "s3cret" not in err and "input_value" not in err and "errors.pydantic" not in err


def test_log_level_is_accepted_in_any_case(tmp_path: Path) -> None:
    assert main(["manifests", "--config", _bad_config(tmp_path, "logLevel: info\n")]) == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: Foo", "kind: Fooo"), "kinds served: AIJob, Application"),
        (("kubehooks.dev/v1alpha1", "example.com/v1"), "kubehooks serves kubehooks.dev/v1alpha1"),
    ],
)
def test_render_refuses_an_unknown_kind_or_api_version(
    tmp_path: Path, change: tuple[str, str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(Path(FOO).read_text().replace(*change))
    assert main(["render", "-f", str(parent)]) == 2
    assert expected in capsys.readouterr().err


def test_render_exits_1_on_a_refused_spec_and_still_prints_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(Path(FOO).read_text().replace("replicas: 1", "replicas: 50"))
    assert main(["render", "-f", str(parent)]) == 1
    captured = capsys.readouterr()
    assert "the hook refused the spec (InvalidSpec): spec.replicas" in captured.err
    assert yaml.safe_load(captured.out)["status"]["conditions"][-1]["reason"] == "InvalidSpec"


def test_render_takes_its_own_answer_as_observed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "-f", FOO]) == 0
    answer = tmp_path / "answer.yaml"
    answer.write_text(capsys.readouterr().out)
    assert main(["render", "-f", FOO, "--observed", str(answer)]) == 0
    again = yaml.safe_load(capsys.readouterr().out)
    assert [child["kind"] for child in again["children"]] == ["Deployment"]


@pytest.mark.parametrize("case", ["foo/fresh-parent", "cronscaler/steady-state"])
def test_replay_reproduces_a_golden_case_and_notices_a_difference(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(FIXTURES / case)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(
        (FIXTURES / case / "response.json").read_text()
    )
    changed = tmp_path / case
    changed.mkdir(parents=True)
    for name in ("case.json", "request.json"):
        (changed / name).write_text((FIXTURES / case / name).read_text())
    (changed / "response.json").write_text('{"status": {}, "children": []}')
    assert main(["replay", str(changed)]) == 1


def test_version_and_bad_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("kubehooks ")
    with pytest.raises(SystemExit) as done:
        main(["serve", "--workers", "-3"])
    assert done.value.code == 2 and "must be 1 or more" in capsys.readouterr().err


def test_manifests_keep_the_users_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def image(argv: list[str]) -> str:
        assert main(["manifests", *argv]) == 0
        docs = list(yaml.safe_load_all(capsys.readouterr().out))
        (deployment,) = [doc for doc in docs if doc and doc["kind"] == "Deployment"]
        return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])

    config = _bad_config(tmp_path, "image: registry.local/kubehooks:1.2\n")
    assert image(["--config", config]) == "registry.local/kubehooks:1.2"
    assert image(["--config", config, "--image", "other/kubehooks:2"]) == "other/kubehooks:2"
