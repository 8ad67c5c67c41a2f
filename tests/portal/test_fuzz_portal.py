"""Fuzzing the portal against its own OpenAPI 3.1 document: no 5xx and a JSON body whatever
the input, over a fake cluster and a SQLite history."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from hooks.api.aijob import AIJOB
from hooks.portal.app import build_portal, create_portal
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore
from tests.portal.fakes import FakeCluster
from tests.portal.objects import aijob

FOLDER = Path(tempfile.mkdtemp(prefix="kubehooks-portal-fuzz-"))
(FOLDER / "token.csv").write_text('fuzz-token,fuzzer,1,"admins"\n')
CLUSTER = FakeCluster()
CLUSTER.put(AIJOB, aijob("train", namespace="default"))
PORTAL = build_portal(
    PortalSettings.model_validate(
        {"tokenFile": str(FOLDER / "token.csv"), "tenancy": {"groups": {"admins": ["*"]}}}
    ),
    CLUSTER,
    HistoryStore.open(f"sqlite:///{FOLDER / 'history.sqlite3'}"),
    dev=False,
)
PORTAL.clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)
APP = create_portal(PORTAL)

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_always_json(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": "Bearer fuzz-token"})
    assert response.status_code < 500, response.text
    if response.content:  # an OPTIONS answer (Flask's own) has no body
        assert response.json() is not None, response.text
