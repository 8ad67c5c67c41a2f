"""Headless Chromium from Debian's `chromium` package, driven by Playwright (the PyPI package,
pointed at the system browser: `playwright install` is never run, it would download one).

Each browser gets a fresh profile folder. A missing browser or Playwright raises
`BrowserMissing`, which the tests turn into a failure saying what to install (as a missing
PostgreSQL is reported); scripts/test.sh installs Debian's chromium when run as root.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BrowserMissing(RuntimeError):
    """No Chromium or no Playwright: apt-get install chromium; pip install playwright."""


def chromium_path() -> Path:
    """Return Debian's chromium, or say how to get it."""
    found = CHROMIUM if CHROMIUM.exists() else None
    if found is None and shutil.which("chromium"):
        found = Path(str(shutil.which("chromium")))
    if found is None:
        raise BrowserMissing(
            "no /usr/bin/chromium: apt-get install chromium (scripts/test.sh does as root), "
            "or deselect -m 'not cluster'"
        )
    return found


@contextmanager
def chromium() -> Iterator[Callable[..., Any]]:
    """Yield a function that opens a headless Chromium with a fresh profile (one per user, so
    no cookie is shared) and returns its Playwright BrowserContext; all closed at the end."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        raise BrowserMissing("no playwright: pip install -e '.[test]'") from err
    profiles: list[str] = []
    with sync_playwright() as playwright:
        opened: list[Any] = []

        def open_context(**options: Any) -> Any:
            profiles.append(tempfile.mkdtemp(prefix="kubehooks-chromium-"))
            context = playwright.chromium.launch_persistent_context(
                profiles[-1], executable_path=str(executable), headless=True, args=ARGS, **options
            )
            opened.append(context)
            return context

        try:
            yield open_context
        finally:
            for context in opened:
                context.close()
            for profile in profiles:
                shutil.rmtree(profile, ignore_errors=True)
