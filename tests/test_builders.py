"""Small unit tests of the shared builders and helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hooks.builders.conditions import Conditions
from hooks.builders.meta import LAST_APPLIED, as_desired
from hooks.contract import Observed

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def test_condition_keeps_transition_time_when_status_is_unchanged() -> None:
    first = Conditions(None, 1, T0)
    first.set("Ready", True, "Fine", "ok")
    second = Conditions(first.to_list(), 2, T1)
    second.set("Ready", True, "StillFine", "ok")
    (ready,) = second.to_list()
    assert ready["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert ready["observedGeneration"] == 2 and ready["reason"] == "StillFine"


def test_condition_moves_transition_time_when_status_changes() -> None:
    first = Conditions(None, 1, T0)
    first.set("Ready", True, "Fine", "ok")
    second = Conditions(first.to_list(), 1, T1)
    second.set("Ready", False, "Broken", "no")
    assert second.to_list()[0]["lastTransitionTime"] == "2026-01-02T00:00:00Z"


def test_conditions_ignore_garbage_from_the_parent() -> None:
    conditions = Conditions([1, {"no": "type"}, None], 1, T0)
    conditions.set("Ready", "Unknown", "Waiting", "")
    assert conditions.to_list()[0]["status"] == "Unknown"


def test_as_desired_prefers_the_last_applied_configuration() -> None:
    applied = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {}}
    observed = {
        **applied,
        "metadata": {"name": "a", "uid": "u", "annotations": {LAST_APPLIED: json.dumps(applied)}},
        "status": {"loadBalancer": {}},
    }
    assert as_desired(observed) == applied


def test_as_desired_falls_back_to_the_observed_object_without_server_fields() -> None:
    observed = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "a",
            "uid": "u",
            "resourceVersion": "9",
            "managedFields": [],
            "ownerReferences": [{}],
            "labels": {"x": "y"},
            "annotations": {LAST_APPLIED: "not json"},
        },
        "spec": {"ports": []},
        "status": {},
    }
    assert as_desired(observed) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "a", "labels": {"x": "y"}},
        "spec": {"ports": []},
    }


def test_observed_does_not_depend_on_v1_or_v2_keys() -> None:
    obj = {"metadata": {"name": "a", "namespace": "ns"}}
    v1 = Observed({"Pod.v1": {"a": obj}})
    v2 = Observed({"Pod.v1": {"ns/a": obj}})
    assert v1.named("Pod.v1", "a") == v2.named("Pod.v1", "a") == obj
    assert v1.all("Pod.v1") == v2.all("Pod.v1")
    assert v1.all("Missing.v1") == []
