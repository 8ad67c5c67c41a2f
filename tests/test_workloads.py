"""Unit tests of the Deployment-based kinds' building blocks: quantities, probes, specs, status."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from hooks.api.application import ApplicationSpec
from hooks.api.common import Probes
from hooks.api.modelbox import SIZE_PRESETS, ModelBoxSpec
from hooks.api.quantity import check_limits_cover_requests, parse_quantity
from hooks.builders.conditions import Conditions
from hooks.builders.meta import PARENT_GENERATION
from hooks.builders.observe import deployment_state, ingress_url, set_workload_conditions
from hooks.builders.workloads import (
    DEFAULT_LIVENESS_TIMING,
    DEFAULT_PROBE_TIMING,
    main_probes,
)
from tests.cases.modelbox import seed_spec

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,value",
    [
        pytest.param("500m", Fraction(1, 2), id="milli"),
        pytest.param("1", Fraction(1), id="plain"),
        pytest.param(2, Fraction(2), id="integer"),
        pytest.param("1.5Gi", Fraction(3 * 2**29), id="binary-fraction"),
        pytest.param("128Mi", Fraction(128 * 2**20), id="mebi"),
        pytest.param("1k", Fraction(1000), id="kilo"),
        pytest.param("2e3", Fraction(2000), id="exponent"),
        pytest.param("1E", Fraction(10**18), id="exa"),
        pytest.param(".5", Fraction(1, 2), id="leading-dot"),
        pytest.param("100n", Fraction(1, 10**7), id="nano"),
    ],
)
def test_quantities_parse_exactly(text: int | str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["lots", "1.2.3", " 1", "1 Gi", "1gi", "", "Mi", True])
def test_malformed_quantities_are_refused(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_limits_equal_to_requests_in_other_units_are_accepted() -> None:
    check_limits_cover_requests({"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1024Mi"})


def test_limit_below_request_names_the_resource() -> None:
    with pytest.raises(ValueError, match=r"limits.memory \(1000Mi\) is below requests.memory"):
        check_limits_cover_requests({"memory": "1Gi"}, {"memory": "1000Mi"})


def test_every_size_preset_has_limits_covering_its_requests() -> None:
    for name, preset in SIZE_PRESETS.items():
        assert preset.requests and preset.limits, name
        assert set(preset.requests) == set(preset.limits), name
        check_limits_cover_requests(preset.requests, preset.limits)


def test_default_probes_are_tcp_on_the_first_port() -> None:
    liveness, readiness = main_probes(8080, None)
    assert liveness == {"tcpSocket": {"port": 8080}, **DEFAULT_LIVENESS_TIMING}
    assert readiness == {"tcpSocket": {"port": 8080}, **DEFAULT_PROBE_TIMING}
    assert main_probes(None, None) == (None, None)


def test_a_given_probe_replaces_the_default_whole_and_disabled_ones_are_left_out() -> None:
    probes = Probes.model_validate(
        {"liveness": {"httpGet": {"path": "/live", "port": 80}}, "disable": ["readiness"]}
    )
    assert main_probes(80, probes) == ({"httpGet": {"path": "/live", "port": 80}}, None)


def test_a_probe_cannot_be_given_and_disabled() -> None:
    with pytest.raises(ValidationError, match="both given and disabled"):
        Probes.model_validate({"readiness": {"tcpSocket": {"port": 80}}, "disable": ["readiness"]})


def test_the_notes_sample_resolves_to_small_and_nodeport() -> None:
    spec = ModelBoxSpec.model_validate(seed_spec())
    assert spec.resolved_size == "small"
    assert spec.resolved_service_type == "NodePort"
    assert spec.container_name == "nginx"
    assert spec.rolling_update == "30%"


def test_resources_without_a_size_mean_custom() -> None:
    spec = ModelBoxSpec.model_validate({**seed_spec(), "resources": {"limits": {"cpu": "2"}}})
    assert spec.resolved_size == "custom"
    assert spec.resolved_resources.to_wire() == {"limits": {"cpu": "2"}}


@pytest.mark.parametrize(
    "change,message",
    [
        pytest.param(
            {"ports": [{"port": 80}, {"port": 81, "name": "b"}]},
            "every port needs a name",
            id="unnamed-ports",
        ),
        pytest.param(
            {"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
            "port 80/TCP is used more than once",
            id="same-port",
        ),
        pytest.param(
            {"ports": [{"port": 80, "targetPort": 70000}]},
            "targetPort 70000",
            id="target-out-of-range",
        ),
        pytest.param(
            {"ports": [{"port": 80, "targetPort": "web--ui"}]},
            "not a port name",
            id="target-bad-name",
        ),
        pytest.param(
            {"containers": [{"name": "nginx", "image": "busybox"}]},
            "container name nginx is used more than once",
            id="sidecar-named-like-main",
        ),
        pytest.param({"rollingUpdate": "101%"}, "rollingUpdate", id="percentage-over-100"),
        pytest.param({"rollingUpdate": "30"}, "rollingUpdate", id="percentage-without-sign"),
    ],
)
def test_inconsistent_modelbox_specs_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelBoxSpec.model_validate({**seed_spec(), **change})


def test_application_node_port_needs_a_node_port_service() -> None:
    with pytest.raises(ValidationError, match="nodePort needs type NodePort"):
        ApplicationSpec.model_validate({"image": "x", "service": {"nodePort": 30001}})


@pytest.mark.parametrize(
    "ingress,url",
    [
        pytest.param(
            {"spec": {"rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/x"}]}}]}},
            "http://a.example.com/x",
            id="host-and-path",
        ),
        pytest.param(
            {
                "spec": {
                    "rules": [{"host": "a.example.com"}],
                    "tls": [{"hosts": ["a.example.com"], "secretName": "s"}],
                }
            },
            "https://a.example.com/",
            id="tls-for-the-host",
        ),
        pytest.param(
            {
                "spec": {
                    "rules": [{"host": "a.example.com"}],
                    "tls": [{"hosts": ["b.example.com"], "secretName": "s"}],
                }
            },
            "http://a.example.com/",
            id="tls-for-another-host",
        ),
        pytest.param(
            {
                "spec": {"rules": [{"http": {"paths": [{"path": "/"}]}}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
            },
            "http://203.0.113.7/",
            id="no-host-load-balancer-address",
        ),
        pytest.param({"spec": {"rules": [{}]}}, None, id="no-host-no-address-yet"),
        pytest.param({"spec": {"rules": [{"host": "*.example.com"}]}}, None, id="wildcard"),
        pytest.param(None, None, id="not-observed"),
    ],
)
def test_ingress_url_comes_from_the_observed_ingress(
    ingress: dict[str, Any] | None, url: str | None
) -> None:
    assert ingress_url(ingress) == url


def _deployment(annotation: str | None, *, generation: int = 1, seen: int = 1) -> dict[str, Any]:
    annotations = {PARENT_GENERATION: annotation} if annotation is not None else {}
    return {
        "metadata": {"generation": generation, "annotations": annotations},
        "status": {
            "observedGeneration": seen,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }


def _ready(observed: dict[str, Any], parent_generation: int) -> dict[str, Any]:
    conditions = Conditions(None, parent_generation, NOW)
    state = deployment_state(observed)
    set_workload_conditions(conditions, state, wanted=2, generation=parent_generation)
    ready = conditions.get("Ready")
    assert ready is not None
    return ready


@pytest.mark.parametrize(
    "observed,parent_generation,reason",
    [
        pytest.param(_deployment("3"), 3, "AllReplicasAvailable", id="current"),
        pytest.param(_deployment("2"), 3, "DeploymentUpdating", id="older-parent-generation"),
        pytest.param(_deployment(None), 1, "DeploymentUpdating", id="no-annotation"),
        pytest.param(_deployment("x"), 1, "DeploymentUpdating", id="garbage-annotation"),
        pytest.param(
            _deployment("3", generation=5, seen=4), 3, "DeploymentUpdating", id="not-seen-yet"
        ),
    ],
)
def test_ready_waits_until_the_deployment_has_taken_the_parents_generation(
    observed: dict[str, Any], parent_generation: int, reason: str
) -> None:
    ready = _ready(observed, parent_generation)
    assert ready["reason"] == reason
    assert ready["status"] == ("True" if reason == "AllReplicasAvailable" else "False")
