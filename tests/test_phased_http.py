"""HTTP behaviour of the phase-machine controllers: finalize routes, resync, and their options."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from hooks.registry import CONTROLLERS
from hooks.runtime import bind
from hooks.server import create_app
from hooks.settings import Settings
from tests.goldens import FIXTURES

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
PHASED = ("redismigration", "aijob")
INSTANCES = {"ali-123": "10.0.0.5:6379", "tx-123": "10.1.0.7:6379"}


def _client() -> FlaskClient:
    settings = Settings.model_validate(
        {"controllers": {"redismigration": {"options": {"instances": INSTANCES}}}}
    )
    return create_app(settings, clock=lambda: NOW, environ={}).test_client()


def _request(controller: str, case: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / controller / case / "request.json").read_text())
    return body


def _ready(body: dict[str, Any]) -> dict[str, Any]:
    (ready,) = [c for c in body["status"]["conditions"] if c["type"] == "Ready"]
    return ready


@pytest.mark.parametrize("controller", PHASED)
def test_finalize_mid_run_asks_for_no_jobs_and_waits_for_them(controller: str) -> None:
    request = _request(controller, "finalize-with-children")
    observed = sum(len(group) for group in request["children"].values())
    assert observed >= 2, "the case must observe the Jobs still running"
    response = _client().post(f"/{controller}/finalize", json=request)
    assert response.status_code == 200
    body = response.get_json()
    assert body["children"] == [] and body["finalized"] is False
    assert body["status"]["phase"] == request["parent"]["status"]["phase"], "status survives"
    assert _ready(body)["reason"] == "Terminating"
    assert f"waiting for {observed} child object(s)" in _ready(body)["message"]
    assert "resyncAfterSeconds" not in body


@pytest.mark.parametrize("controller", PHASED)
def test_finalize_once_nothing_is_left_finalizes(controller: str) -> None:
    response = _client().post(f"/{controller}/finalize", json=_request(controller, "finalize-done"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["children"] == [] and body["finalized"] is True
    assert _ready(body)["message"] == "all children deleted"


@pytest.mark.parametrize("controller", PHASED)
def test_finalize_route_finalizes_even_without_the_flag(controller: str) -> None:
    request = _request(controller, "finalize-with-children")
    request["finalizing"] = False
    body = _client().post(f"/{controller}/finalize", json=request).get_json()
    assert body["children"] == [] and body["finalized"] is False


@pytest.mark.parametrize("controller", PHASED)
def test_sync_route_keeps_jobs_of_a_running_parent(controller: str) -> None:
    request = _request(controller, "steady-state")
    body = _client().post(f"/{controller}/sync", json=request).get_json()
    observed = {o["metadata"]["name"] for g in request["children"].values() for o in g.values()}
    assert observed <= {c["metadata"]["name"] for c in body["children"]}
    assert body["resyncAfterSeconds"] == 30
    assert "finalized" not in body


@pytest.mark.parametrize("controller", PHASED)
def test_a_terminal_parent_is_not_resynced(controller: str) -> None:
    body = _client().post(f"/{controller}/sync", json=_request(controller, "succeeded")).get_json()
    assert body["status"]["phase"] == "Succeeded"
    assert "resyncAfterSeconds" not in body and body["children"]


@pytest.mark.parametrize("controller", PHASED)
def test_phased_controllers_have_no_customize_route(controller: str) -> None:
    response = _client().post(f"/{controller}/customize", json={"parent": {}})
    assert response.status_code == 404


def test_an_instance_table_with_a_bad_address_refuses_to_start() -> None:
    settings = Settings.model_validate(
        {"controllers": {"redismigration": {"options": {"instances": {"ali-123": "10.0.0.5"}}}}}
    )
    with pytest.raises(ValueError, match="ali-123"):
        bind(
            CONTROLLERS["redismigration"],
            settings.controller("redismigration"),
            settings.policy,
            settings.limits,
        )


def test_aijob_options_change_the_gpu_resource_and_master_port() -> None:
    settings = Settings.model_validate(
        {"controllers": {"aijob": {"options": {"gpuResource": "amd.com/gpu", "masterPort": 23456}}}}
    )
    client = create_app(settings, clock=lambda: NOW, environ={}).test_client()
    body = client.post("/aijob/sync", json=_request("aijob", "fresh-distributed")).get_json()
    job, service = body["children"]
    worker = job["spec"]["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"]["amd.com/gpu"] == "1"
    assert {"name": "MASTER_PORT", "value": "23456"} in worker["env"]
    assert service["spec"]["ports"][0]["port"] == 23456
