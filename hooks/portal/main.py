"""`kubehooks portal`: read the portal's settings and logging, then run it."""

from __future__ import annotations

import logging

from hooks.portal.config import load_portal_settings


def main(config: str | None, *, dev: bool) -> int:
    """Run the portal until interrupted; settings errors surface as the CLI's one line."""
    from hooks.portal.app import run_portal

    settings = load_portal_settings(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return run_portal(settings, dev=dev)
