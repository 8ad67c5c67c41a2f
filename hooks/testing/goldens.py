"""Golden cases: a request, the answer reviewed once, and `case.json` with `now` and config.

A case is a folder `<root>/<controller>/<case>/` holding `request.json` (what Metacontroller
sends), `case.json` (`{"now": ..., "hook": "sync", "config": {...}}`) and `response.json` (the
golden answer). The answer is computed through the real HTTP app, so routing, parsing and
serialisation are covered too. Without `--update-goldens` a missing or different golden fails;
with it, the file is rewritten in canonical form (sorted keys, two spaces, final newline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from hooks.settings import Settings

KUBERNETES_VERSION = "1.37.0"
"""The Kubernetes version children are validated against (kubernetes-validate's schemas)."""


@dataclass(frozen=True)
class GoldenCase:
    """One folder `<root>/<controller>/<case>/`.

    `plugins` are `module:attr` controllers to load beside the installed ones, for an operator
    whose package is on the path but not installed.
    """

    folder: Path
    plugins: tuple[str, ...] = ()

    @property
    def controller(self) -> str:
        return self.folder.parent.name

    @property
    def id(self) -> str:
        return f"{self.controller}/{self.folder.name}"

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = load(self.folder / "case.json")
        return meta

    @property
    def hook(self) -> str:
        return str(self.meta.get("hook", "sync"))

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(str(self.meta["now"]).replace("Z", "+00:00"))

    @property
    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = load(self.folder / "request.json")
        return request

    @property
    def response_path(self) -> Path:
        return self.folder / "response.json"

    def settings(self) -> Settings:
        """Return the case's settings (its `config`), with the kit's plugins added."""
        settings = Settings.model_validate(self.meta.get("config", {}))
        if self.plugins:
            settings = settings.model_copy(update={"plugins": (*settings.plugins, *self.plugins)})
        return settings

    def client(self) -> FlaskClient:
        from hooks.server import create_app

        now = self.now
        return create_app(self.settings(), clock=lambda: now).test_client()

    def call(self) -> tuple[int, Any]:
        response = self.client().post(f"/{self.controller}/{self.hook}", json=self.request)
        return response.status_code, response.get_json()


@cache
def load(path: Path) -> Any:
    """Read a JSON file once per test session (goldens are read by many tests)."""
    return json.loads(path.read_text(encoding="utf-8"))


def discover_cases(root: Path, plugins: tuple[str, ...] = ()) -> list[GoldenCase]:
    """Return every case under `root`, sorted by controller and case name."""
    return [GoldenCase(folder.parent, plugins) for folder in sorted(root.glob("*/*/request.json"))]


def dumps(data: Any) -> str:
    """Return JSON the way every golden is written: sorted keys, two spaces, final newline."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_json(path: Path, data: Any) -> None:
    """Write a request or case file in canonical form, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(data), encoding="utf-8")


def assert_golden(path: Path, got: Any, *, update: bool) -> None:
    """Compare with the golden file; rewrite it only when asked to."""
    text = dumps(got)
    if update:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; run pytest --update-goldens and review the diff"
    want = path.read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(want), f"{path} differs; see the diff above"
    assert text == want, f"{path} is not in canonical form; run pytest --update-goldens"


def golden_responses(root: Path) -> list[tuple[GoldenCase, dict[str, Any]]]:
    """Return every case that has a golden answer, with that answer."""
    return [
        (case, load(case.response_path))
        for case in discover_cases(root)
        if case.response_path.exists()
    ]
