"""Kubernetes' naming rules (hooks/api/names.py), strict spec types, and names derived from the
parent: what the API server refuses, the hook refuses first (issue 13, items 4 and 5)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hooks.api import names
from hooks.contract import SyncRequest
from hooks.registry import CONTROLLERS
from hooks.runtime import bind, run_sync
from hooks.settings import Settings
from tests.goldens import discover_cases

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)

# The rules, written the way k8s.io/apimachinery/pkg/util/validation/validation.go states them
# (plain Python, no shared regex), to check the RE2 patterns of names.py against.


def go_is_valid_port_name(port: str) -> bool:
    """IsValidPortName."""
    return (
        len(port) <= 15
        and re.fullmatch(r"[-a-z0-9]+", port) is not None
        and re.search(r"[a-z]", port) is not None
        and "--" not in port
        and not port.startswith("-")
        and not port.endswith("-")
    )


def go_is_env_var_name(value: str) -> bool:
    """IsEnvVarName: the format, then hasChDirPrefix."""
    if re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", value) is None:
        return False
    return value not in {".", ".."} and not value.startswith("..")


def go_is_config_map_key(value: str) -> bool:
    """IsConfigMapKey."""
    if len(value) > 253 or re.fullmatch(r"[-._a-zA-Z0-9]+", value) is None:
        return False
    return value not in {".", ".."} and not value.startswith("..")


NAME_CHARS = st.text(alphabet="-._aZ09/ =", max_size=20)


@settings(max_examples=500, deadline=None)
@given(NAME_CHARS | st.text(alphabet="-a0", max_size=17))
def test_port_name_pattern_is_is_valid_port_name(value: str) -> None:
    assert names.is_port_name(value) == go_is_valid_port_name(value)


@settings(max_examples=500, deadline=None)
@given(NAME_CHARS)
def test_env_var_name_pattern_is_is_env_var_name(value: str) -> None:
    pattern_says = re.fullmatch(names.ENV_VAR_NAME[1:-1], value) is not None
    assert pattern_says == go_is_env_var_name(value)


@settings(max_examples=500, deadline=None)
@given(NAME_CHARS)
def test_config_map_key_pattern_is_is_config_map_key(value: str) -> None:
    pattern_says = re.fullmatch(names.CONFIG_MAP_KEY[1:-1], value) is not None
    assert pattern_says == go_is_config_map_key(value)


@pytest.mark.parametrize(
    "check,value,valid",
    [
        (names.is_dns1123_label, "my-name", True),
        (names.is_dns1123_label, "123-abc", True),
        (names.is_dns1123_label, "my.cluster-0", False),
        (names.is_dns1123_label, "a" * 63, True),
        (names.is_dns1123_label, "a" * 64, False),
        (names.is_dns1123_subdomain, "example.com", True),
        (names.is_dns1123_subdomain, "Bad_Class", False),
        (names.is_dns1123_subdomain, "a" * 253, True),
        (names.is_dns1123_subdomain, "a" * 254, False),
        (names.is_dns1035_label, "abc-123", True),
        (names.is_dns1035_label, "1st-app", False),
        (names.is_label_value, "", True),
        (names.is_label_value, "MyValue_1.x", True),
        (names.is_label_value, "a" * 64, False),
        (names.is_label_value, "-a", False),
        (names.is_label_key, "example.com/MyName", True),
        (names.is_label_key, "app.kubernetes.io/name", True),
        (names.is_label_key, "bad key!", False),
        (names.is_label_key, "/name", False),
        (names.is_label_key, "a/b/c", False),
        (names.is_label_key, "Example.com/name", False),
        (names.is_label_key, "x/" + "a" * 64, False),
        (names.is_port_name, "http", True),
        (names.is_port_name, "UPPER", False),
        (names.is_port_name, "123", False),
        (names.is_port_name, "web--ui", False),
        (names.is_port_name, "a" * 16, False),
    ],
)
def test_names_follow_apimachinery(check: Any, value: str, valid: bool) -> None:
    assert check(value) is valid


def test_annotation_keys_are_label_keys_whatever_the_case_of_their_prefix() -> None:
    assert names.check_annotations({"Example.com/Rewrite": "x"})
    with pytest.raises(ValueError, match="bad key!"):
        names.check_annotations({"bad key!": "x"})
    with pytest.raises(ValueError, match="more than"):
        names.check_annotations({"a": "x" * names.TOTAL_ANNOTATION_SIZE})


# The issue's examples: each was accepted by the hook and refused by the API server -------------

SPECS = {
    "modelbox": {"image": "nginx", "ports": [{"port": 80}]},
    "podcluster": {"podReplicas": 1},
    "application": {"image": "nginx"},
    "redismigration": {"source": "redis-a:6379", "dest": "redis-b:6379"},
    "aijob": {"image": "trainer"},
    "cronscaler": {
        "scaleTarget": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "jobs": [{"name": "day", "schedule": "0 8 * * *", "size": 2}],
    },
}


def _template(**fields: Any) -> dict[str, Any]:
    return {"podReplicas": 1, "template": fields}


REFUSED = [
    pytest.param(
        "modelbox",
        {
            "ports": [
                {"port": 80, "name": "web", "targetPort": "web"},
                {"port": 81, "name": "api", "targetPort": "web"},
            ]
        },
        "targetPort web names one container port",
        id="modelbox-two-container-ports-named-web",
    ),
    pytest.param(
        "modelbox",
        {
            "ports": [{"port": 80, "name": "web"}],
            "containers": [{"name": "side", "image": "busybox", "ports": [{"containerPort": 80}]}],
        },
        "container port 80/TCP is used more than once",
        id="modelbox-sidecar-on-the-main-port",
    ),
    pytest.param(
        "podcluster",
        _template(ports=[{"containerPort": 80, "name": "UPPER"}]),
        "ports.0.name",
        id="podcluster-port-name-upper",
    ),
    pytest.param(
        "podcluster",
        _template(ports=[{"containerPort": 80, "name": "a"}, {"containerPort": 81, "name": "a"}]),
        "port name a is used more than once",
        id="podcluster-port-names-twice",
    ),
    pytest.param(
        "podcluster", _template(env=[{"name": "A=B", "value": "x"}]), "env.0.name", id="env-a=b"
    ),
    pytest.param(
        "podcluster",
        _template(env=[{"name": "A", "value": "x"}, {"name": "A", "value": "y"}]),
        "env name A is used more than once",
        id="env-twice",
    ),
    pytest.param(
        "podcluster",
        _template(resources={"limits": {"cpu": "-1"}}),
        "limits.cpu",
        id="podcluster-cpu--1",
    ),
    pytest.param(
        "podcluster",
        _template(resources={"limits": {"cpu": -1}}),
        "limits.cpu",
        id="podcluster-cpu-int--1",
    ),
    pytest.param(
        "podcluster",
        _template(resources={"limits": {"memory": "0.5"}}),
        "must be a whole number",
        id="fractional-bytes",
    ),
    pytest.param(
        "podcluster",
        _template(resources={"limits": {"gpu": "1"}}),
        "limits.gpu",
        id="not-a-resource-name",
    ),
    pytest.param(
        "podcluster",
        _template(resources={"requests": {"example.com/dongle": "1"}}),
        "needs an equal limit",
        id="extended-resource-without-limit",
    ),
    pytest.param(
        "podcluster",
        _template(resources={"limits": {"cpu": "1e999999"}}),
        "limits.cpu",
        id="huge-exponent",
    ),
    pytest.param("podcluster", {"podReplicas": 1, "image": " nginx"}, "image", id="image-space"),
    pytest.param(
        "application",
        {"ingress": {"enabled": True, "className": "Bad_Class"}},
        "ingress.className",
        id="application-class-name",
    ),
    pytest.param(
        "application",
        {"ingress": {"enabled": True, "annotations": {"bad key!": "x"}}},
        "bad key!",
        id="application-annotation-key",
    ),
    pytest.param(
        "application",
        {"probes": {"readiness": {"tcpSocket": {"port": 0}}}},
        "port 0 is not between 1 and 65535",
        id="application-probe-port-0",
    ),
    pytest.param(
        "application",
        {"probes": {"liveness": {"tcpSocket": {"port": 80}, "successThreshold": 2}}},
        "successThreshold must be 1",
        id="liveness-success-threshold",
    ),
    pytest.param(
        "application",
        {"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.secret"}}}]},
        "fieldPath",
        id="unsupported-field-path",
    ),
    pytest.param(
        "redismigration",
        {"sourcePassword": {"name": "Bad_Name", "key": "password"}},
        "sourcePassword.name",
        id="redismigration-secret-name",
    ),
    pytest.param(
        "redismigration",
        {"sourcePassword": {"name": "redis", "key": "../password"}},
        "sourcePassword.key",
        id="redismigration-secret-key",
    ),
    pytest.param(
        "cronscaler",
        {"scaleTarget": {"apiVersion": "v5", "kind": "Deployment", "name": "web"}},
        "scaleTarget.apiVersion",
        id="hpa-target-without-group",
    ),
    # Item 5: strict types, as the CRD has them.
    pytest.param("podcluster", {"podReplicas": False}, "podReplicas", id="replicas-false"),
    pytest.param("podcluster", {"podReplicas": "2"}, "podReplicas", id="replicas-string"),
    pytest.param("podcluster", {"podReplicas": 2.5}, "podReplicas", id="replicas-fraction"),
    pytest.param("aijob", {"suspend": "yes"}, "suspend", id="suspend-yes"),
    pytest.param("aijob", {"suspend": 1}, "suspend", id="suspend-1"),
    pytest.param("cronscaler", {"suspend": "true"}, "suspend", id="cronscaler-suspend-string"),
    pytest.param("modelbox", {"image": 5}, "image", id="image-number"),
]


@pytest.mark.parametrize("controller,change,message", REFUSED)
def test_specs_the_api_server_would_refuse_are_refused(
    controller: str, change: dict[str, Any], message: str
) -> None:
    model = CONTROLLERS[controller].kind.spec
    with pytest.raises(ValidationError, match=re.escape(message)):
        model.model_validate({**SPECS[controller], **change})


def test_a_whole_json_number_is_not_an_integer_either_as_the_api_server_says() -> None:
    with pytest.raises(ValidationError, match="podReplicas"):
        CONTROLLERS["podcluster"].kind.spec.model_validate({"podReplicas": 2.0})


@pytest.mark.parametrize("controller", sorted(SPECS))
def test_the_base_specs_are_valid(controller: str) -> None:
    CONTROLLERS[controller].kind.spec.model_validate(SPECS[controller])


# Names derived from the parent ------------------------------------------------------------------


def _steady(controller: str) -> Any:
    (case,) = [
        case
        for case in discover_cases()
        if case.controller == controller and case.folder.name == "steady-state"
    ]
    return case


def _sync(controller: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    case = _steady(controller)
    request = copy.deepcopy(case.request)
    request["parent"]["metadata"]["name"] = name
    settings_ = Settings.model_validate(case.meta.get("config", {}))
    bound = bind(
        CONTROLLERS[controller],
        settings_.controller(controller),
        settings_.policy,
        settings_.limits,
    )
    answer = run_sync(bound, SyncRequest.model_validate(request), now=NOW).to_wire()
    return request, answer


@pytest.mark.parametrize(
    "controller,name,message",
    [
        pytest.param("podcluster", "my.cluster", "hostname 'my.cluster-0'", id="dotted-podcluster"),
        pytest.param("podcluster", "p" * 62, "hostname", id="62-character-podcluster"),
        pytest.param("foo", "f" * 64, "label", id="64-character-foo"),
        pytest.param("cronscaler", "c" * 64, "label", id="64-character-cronscaler"),
    ],
)
def test_a_parent_name_that_makes_bad_child_names_keeps_the_children(
    controller: str, name: str, message: str
) -> None:
    request, answer = _sync(controller, name)
    ready = [c for c in answer["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "False"
    assert ready[0]["reason"] == "InvalidName"
    assert message in ready[0]["message"]
    observed = {
        (obj["kind"], obj["metadata"]["name"])
        for group in request["children"].values()
        for obj in group.values()
    }
    assert observed
    assert {(c["kind"], c["metadata"]["name"]) for c in answer["children"]} == observed


@pytest.mark.parametrize("controller", sorted(CONTROLLERS))
@settings(max_examples=20, deadline=None)
@given(name=st.from_regex(names.DNS1123_SUBDOMAIN, fullmatch=True).filter(lambda n: len(n) <= 253))
def test_any_parent_name_gives_children_the_api_server_names_accept(
    controller: str, name: str
) -> None:
    """Whatever its (valid) name, a parent's answer holds only children whose names, labels,
    hostnames and subdomains Kubernetes accepts; otherwise Ready=False, InvalidName."""
    case = [c for c in discover_cases() if c.controller == controller and c.hook == "sync"][0]
    request = copy.deepcopy(case.request)
    request["parent"]["metadata"]["name"] = name
    settings_ = Settings.model_validate(case.meta.get("config", {}))
    bound = bind(
        CONTROLLERS[controller],
        settings_.controller(controller),
        settings_.policy,
        settings_.limits,
    )
    answer = run_sync(bound, SyncRequest.model_validate(request), now=NOW).to_wire()
    ready = [
        c for c in (answer.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"
    ]
    if ready and ready[0].get("reason") == "InvalidName":
        return
    for child in answer["children"]:
        assert names.child_name_problems(child) == [], child["metadata"]["name"]
