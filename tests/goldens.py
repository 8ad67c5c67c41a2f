"""Discovering golden cases and comparing answers with them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from hooks.server import create_app
from hooks.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
KUBERNETES_VERSION = "1.37.0"
"""The Kubernetes version children are validated against (kubernetes-validate's schemas)."""


@dataclass(frozen=True)
class GoldenCase:
    """One folder under tests/fixtures/<controller>/<case>/."""

    folder: Path

    @property
    def controller(self) -> str:
        return self.folder.parent.name

    @property
    def id(self) -> str:
        return f"{self.controller}/{self.folder.name}"

    @property
    def meta(self) -> dict[str, Any]:
        return load(self.folder / "case.json")

    @property
    def hook(self) -> str:
        return str(self.meta.get("hook", "sync"))

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(str(self.meta["now"]).replace("Z", "+00:00"))

    @property
    def request(self) -> dict[str, Any]:
        return load(self.folder / "request.json")

    @property
    def response_path(self) -> Path:
        return self.folder / "response.json"

    def client(self) -> FlaskClient:
        settings = Settings.model_validate(self.meta.get("config", {}))
        now = self.now
        return create_app(settings, clock=lambda: now).test_client()

    def call(self) -> tuple[int, Any]:
        response = self.client().post(f"/{self.controller}/{self.hook}", json=self.request)
        return response.status_code, response.get_json()


@cache
def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def discover_cases() -> list[GoldenCase]:
    return [GoldenCase(folder.parent) for folder in sorted(FIXTURES.glob("*/*/request.json"))]


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


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


def golden_responses() -> list[tuple[GoldenCase, dict[str, Any]]]:
    out = []
    for case in discover_cases():
        if case.response_path.exists():
            out.append((case, load(case.response_path)))
    return out
