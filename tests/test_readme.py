"""The README's examples are real: its configuration loads and its quick-start request exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hooks.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def _block_after(heading: str, language: str) -> str:
    section = README.split(heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, flags=re.S)
    assert match, f"no {language} block after {heading}"
    return match.group(1)


def test_configuration_example_is_valid() -> None:
    config = yaml.safe_load(_block_after("## Configuration", "yaml"))
    settings = Settings.model_validate(config)
    assert settings.enabled == ("foo", "podcluster")
    assert settings.controller("foo").parent_selector is not None


def test_quick_start_request_exists() -> None:
    command = _block_after("## Quick start", "sh").split("```sh\n")[-1]
    fixture = re.search(r"--data @(\S+)", _block_after("In another terminal", "sh"))
    assert fixture and (Path(__file__).parent.parent / fixture.group(1)).exists(), command
