"""The pytest plugin of the test kit (entry point `pytest11`): `--update-goldens`.

Loaded for every pytest run once kubehooks is installed; kubehooks' own tests load it with
`-p hooks.testing.plugin` too, which is the same plugin name, so it is registered once.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden response.json files from the hooks' answers (kubehooks)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """Whether this run rewrites goldens instead of comparing with them."""
    return bool(request.config.getoption("--update-goldens"))
