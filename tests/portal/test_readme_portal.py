"""The portal's guide is real: its config loads, its routes exist in the OpenAPI."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hooks.api.aijob import AIJOB
from hooks.portal.api import ACTIONS
from hooks.portal.config import PortalSettings
from hooks.portal.openapi import portal_openapi

ROOT = Path(__file__).parent.parent.parent
SECTION = (ROOT / "docs" / "portal.md").read_text()


def test_the_portal_config_example_loads() -> None:
    match = re.search(r"```yaml\n(.*?)```", SECTION, flags=re.S)
    assert match
    settings = PortalSettings.model_validate(yaml.safe_load(match.group(1)))
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")
    assert settings.tenancy.groups["ml-admins"] == ("*",)
    assert settings.controllers == ("aijob", "redismigration")


def test_the_routes_in_the_table_are_served() -> None:
    paths = set(portal_openapi({"aijobs": AIJOB}, sorted(ACTIONS))["paths"])
    for route in ("/api/v1/history/{plural}", "/api/v1/stats/{plural}"):
        assert route in SECTION and route.replace("{plural}", "aijobs") in paths


def test_the_readme_says_how_to_start_configure_and_authenticate() -> None:
    readme = (ROOT / "README.md").read_text().split("## Portal", 1)[1].split("\n## ", 1)[0]
    for words in ("kubehooks portal", "databaseUrl", "tokenFile", "tenancy", "docs/portal.md"):
        assert words in readme


def test_the_readme_shows_the_uis_screenshots() -> None:
    readme = (ROOT / "README.md").read_text().split("## Portal", 1)[1].split("\n## ", 1)[0]
    for image in ("docs/images/portal-overview.png", "docs/images/portal-object.png"):
        assert f"]({image})" in readme
        assert (ROOT / image).read_bytes().startswith(b"\x89PNG")
