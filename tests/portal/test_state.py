"""The pure half of the portal: object + now -> plain state and history rows."""

from __future__ import annotations

from datetime import UTC, datetime

from hooks.api.aijob import AIJOB
from hooks.portal.state import age_text, gpu_hours, plain_state, record, transition_key
from tests.portal.objects import aijob

NOW = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def test_plain_state_of_a_running_job() -> None:
    obj = aijob(phase="Running", ready="True", reason="Running")
    assert plain_state(obj, now=NOW) == {
        "name": "train",
        "namespace": "team-a",
        "uid": "uid-1",
        "labels": {},
        "phase": "Running",
        "ready": True,
        "reason": "Running",
        "message": "Running message",
        "children": [],
        "created": "2026-01-01T00:00:00Z",
        "age": "2h",
        "spec": {"image": "trainer:1", "workers": 4, "gpusPerWorker": 2},
    }


def test_plain_state_without_status_is_unknown_not_an_error() -> None:
    state = plain_state(aijob(), now=NOW)
    assert (state["phase"], state["ready"], state["reason"]) == (None, None, None)


def test_age_text_is_kubectls() -> None:
    assert [age_text(s) for s in (5, 61, 3600 * 3, 86400 * 2 + 5)] == ["5s", "1m", "3h", "2d"]


def test_gpu_hours_are_workers_times_gpus_times_hours() -> None:
    assert gpu_hours({"workers": 4, "gpusPerWorker": 2}, 1800) == 4.0
    assert gpu_hours({"image": "x"}, 1800) is None


def test_a_finished_job_records_duration_and_gpu_hours() -> None:
    obj = aijob(
        phase="Succeeded",
        ready="False",
        reason="Succeeded",
        start="2026-01-01T00:00:30Z",
        completion="2026-01-01T00:30:30Z",
    )
    row = record(AIJOB, "MODIFIED", obj, now=NOW).object
    assert row.duration_seconds == 1800
    assert row.gpu_hours == 4.0
    assert row.workers == 4 and row.deleted is None


def test_added_records_creation_and_the_current_state() -> None:
    pending = aijob(phase="Pending", ready="False", reason="Pending")
    events = record(AIJOB, "ADDED", pending, now=NOW)
    assert [t.event for t in events.transitions] == ["created", "changed"]


def test_deleted_marks_the_record_and_adds_a_deleted_entry() -> None:
    events = record(AIJOB, "DELETED", aijob(phase="Running", ready="True"), now=NOW)
    assert events.object.deleted == NOW
    assert events.transitions[-1].event == "deleted"


def test_the_transition_key_depends_on_the_object_only() -> None:
    one = aijob(phase="Running", ready="True", reason="Running", rv="5")
    again = aijob(phase="Running", ready="True", reason="Running", rv="9")
    later = aijob(phase="Failed", ready="False", reason="Failed", transition="2026-01-01T01:00:00Z")
    assert transition_key(one) == transition_key(again) != transition_key(later)
    first = record(AIJOB, "MODIFIED", one, now=NOW).transitions
    replay = record(AIJOB, "MODIFIED", again, now=datetime(2026, 1, 2, tzinfo=UTC)).transitions
    assert [t.key for t in first] == [t.key for t in replay]


def test_child_readiness_as_kubectl_judges_it() -> None:
    from hooks.portal.state import child_ready

    assert child_ready({"kind": "Deployment", "spec": {"replicas": 2}, "status": {}}) is False
    assert (
        child_ready({"kind": "Deployment", "spec": {"replicas": 2}, "status": {"readyReplicas": 2}})
        is True
    )
    complete = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert child_ready({"kind": "Job", "status": complete}) is True
    assert child_ready({"kind": "Job", "status": {"active": 3}}) is False
    assert child_ready({"kind": "ConfigMap"}) is None
