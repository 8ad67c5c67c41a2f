"""Shared fixtures: the --update-goldens flag and a clean KUBEHOOKS_* environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/fixtures/*/*/response.json from the hooks' answers",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("KUBEHOOKS_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture(autouse=True)
def _collector_resumed() -> Iterator[None]:
    """Fail a test that leaves the garbage collector paused (a large call never released)."""
    import gc

    yield
    if not gc.isenabled():
        gc.enable()
        pytest.fail("the garbage collector was left paused: a hook answer was never closed")
