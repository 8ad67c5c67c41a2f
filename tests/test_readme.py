"""The README's examples are real: its configuration loads and its quick-start request exists."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from hooks.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()
DOCS = Path(__file__).parent.parent / "docs"


def _block_after(heading: str, language: str, text: str = README) -> str:
    section = text.split(heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, flags=re.S)
    assert match, f"no {language} block after {heading}"
    return match.group(1)


def test_readme_fits_a_newcomers_screen_and_its_links_resolve() -> None:
    assert len(README.splitlines()) <= 250
    root = Path(__file__).parent.parent
    for page in [root / "README.md", *DOCS.rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page}: broken link {target}"


def test_configuration_example_is_valid() -> None:
    config = yaml.safe_load(
        _block_after("# Configuration", "yaml", (DOCS / "configuration.md").read_text())
    )
    settings = Settings.model_validate(config)
    assert settings.enabled == ("foo", "podcluster")
    assert settings.controller("foo").parent_selector is not None


def test_quick_start_request_exists() -> None:
    command = _block_after("## Quick start", "sh").split("```sh\n")[-1]
    fixture = re.search(r"--data @(\S+)", _block_after("In another terminal", "sh"))
    assert fixture and (Path(__file__).parent.parent / fixture.group(1)).exists(), command


def test_quick_start_runs_literally(tmp_path: Path) -> None:
    """Run the Quick start's commands as written, in a copy of the repository, then its curl.

    The server is the last command; it runs in the background while the curl of the second
    block is sent, and its answer must be the fixture's response (the pinned clock aside).
    """
    import shutil
    import signal
    import subprocess
    import time

    import requests

    from tests.servers import free_port

    root = Path(__file__).parent.parent
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.split(b"\0")
    clone = tmp_path / "kubehooks"
    for name in filter(None, tracked):
        source = root / name.decode()
        if source.is_file():
            target = clone / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    port = free_port()
    commands = _block_after("## Quick start", "sh").strip().replace("--port 8080", f"--port {port}")
    log = tmp_path / "quick-start.log"
    with log.open("wb") as sink:
        shell = subprocess.Popen(
            ["bash", "-euc", commands],
            cwd=clone,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert shell.poll() is None, log.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(1)
        else:
            raise AssertionError(f"the Quick start never served: {log.read_text()[-2000:]}")
        curl = _block_after("In another terminal", "sh").replace(
            "localhost:8080", f"localhost:{port}"
        )
        answer = subprocess.run(
            ["bash", "-euc", curl], cwd=clone, capture_output=True, check=True, timeout=30
        )
        body = yaml.safe_load(answer.stdout)
        assert [child["kind"] for child in body["children"]] == ["Deployment"]
        assert "kubehooks" in log.read_text()
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(timeout=60)
