"""Shared fixtures: a clean KUBEHOOKS_* environment (--update-goldens is the test kit's)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
