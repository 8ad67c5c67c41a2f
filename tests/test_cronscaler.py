"""The cronscaler controller beyond its goldens: the course's sample, the CRD patterns, the HPA
builder, suspend/resume, and a property test against a brute-force minute-by-minute model.

The brute-force model is the one of tests/test_schedule.py (no cron library involved); here it
judges the whole controller: the HPA's minReplicas, the reported fires, resyncAfterSeconds, and
that an unchanged world between two fires writes an unchanged status (no hot loop).
"""

from __future__ import annotations

import copy
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hooks.api.cronscaler import EXCLUSION_PATTERN, SCHEDULE_PATTERN, CronScalerSpec
from hooks.builders.autoscaling import horizontal_pod_autoscaler, scale_target_ref
from hooks.builders.conditions import format_time
from hooks.contract import SyncRequest
from hooks.controllers.cronscaler import RESYNC_CAP_SECONDS, RESYNC_MARGIN_SECONDS
from hooks.registry import CONTROLLERS
from hooks.runtime import bind, run_sync
from hooks.schedule import Job, ScheduleError, validate
from hooks.server import create_app
from hooks.settings import Settings
from tests.cases.common import observe, parent, request, uid_for
from tests.test_schedule import (
    SEARCH,
    Model,
    brute_force,
    exclusion_model,
    scenarios,
    schedules,
)

ROOT = Path(__file__).parent.parent
C = "cronscaler"
HPA_KEY = "HorizontalPodAutoscaler.autoscaling/v2"
NGINX = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def answer(
    spec: dict[str, Any],
    now: datetime,
    *,
    observed: list[dict[str, Any]] = (),  # type: ignore[assignment]
    related: list[dict[str, Any]] = (),  # type: ignore[assignment]
    status: dict[str, Any] | None = None,
    name: str = "scaler",
) -> dict[str, Any]:
    """Run the controller as the server does, at `now`."""
    settings_ = Settings()
    bound = bind(CONTROLLERS[C], settings_.controller(C), settings_.policy, settings_.limits)
    body = request(C, parent(C, name, spec, status=status), observed, related=related)
    return run_sync(bound, SyncRequest.model_validate(body), now=now).to_wire()


def hpa_of(result: dict[str, Any]) -> dict[str, Any] | None:
    hpas = [child for child in result["children"] if child["kind"] == "HorizontalPodAutoscaler"]
    assert len(hpas) <= 1
    return hpas[0] if hpas else None


def ready(result: dict[str, Any]) -> dict[str, Any]:
    (condition,) = [c for c in result["status"]["conditions"] if c["type"] == "Ready"]
    return condition


def applied(result: dict[str, Any], spec: dict[str, Any], current: int) -> dict[str, Any]:
    """The answer's HPA as the API server hands it back, its controller reporting `current`."""
    hpa = hpa_of(result)
    assert hpa is not None
    status = {"currentReplicas": current, "desiredReplicas": current}
    return observe(hpa, parent(C, "scaler", spec), status=status)


# --- the course's sample ----------------------------------------------------------------------


def test_the_course_sample_is_accepted_unchanged_and_scales_every_minute() -> None:
    (sample,) = yaml.safe_load_all((ROOT / "examples" / "cronscaler.yaml").read_text())
    assert sample["kind"] == "CronScaler"
    assert sample["spec"]["jobs"] == [{"name": "scale-up", "schedule": "*/1 * * * *", "size": 3}]
    assert sample["spec"]["scaleTarget"] == NGINX
    result = answer(sample["spec"], utc(2026, 5, 6, 12, 34, 56))
    hpa = hpa_of(result)
    assert hpa is not None
    assert hpa["spec"]["scaleTargetRef"] == NGINX
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 3)
    assert result["status"]["lastScheduleTime"] == "2026-05-06T12:34:00Z"
    assert result["status"]["nextScheduleTime"] == "2026-05-06T12:35:00Z"
    assert result["resyncAfterSeconds"] == pytest.approx(4 + RESYNC_MARGIN_SECONDS)


def test_the_days_schedule_example() -> None:
    (day,) = yaml.safe_load_all((ROOT / "examples" / "cronscaler-business-hours.yaml").read_text())
    spec = day["spec"]
    sizes = {
        # Friday 2026-01-16, Berlin (UTC+1): before 08:00 the Thursday evening size holds.
        utc(2026, 1, 16, 6, 59): 2,
        utc(2026, 1, 16, 7, 0): 5,
        utc(2026, 1, 16, 18, 59): 5,
        utc(2026, 1, 16, 19, 0): 2,
        # The weekend is excluded: Friday's evening size holds until Monday 08:00.
        utc(2026, 1, 17, 12): 2,
        utc(2026, 1, 19, 7, 0): 5,
        # Summer time: 08:00 CEST is 06:00Z.
        utc(2026, 7, 1, 6, 0): 5,
        # 2026-12-25 is a Friday and excluded: Thursday evening's size holds all day.
        utc(2026, 12, 25, 12): 2,
    }
    for now, size in sizes.items():
        hpa = hpa_of(answer(spec, now))
        assert hpa is not None
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (size, 10), now


# --- spec validation and the CRD patterns -------------------------------------------------------


VALID_SCHEDULES = [
    "*/1 * * * *",
    "0 9 * JAN-MAR MON-FRI",
    "0 9 15W * *",
    "0 9 * * MON#2",
    "0 0 L * *",
    "*/10 * * * * *",
    "0 0 29 2 *",
    "  0   9 * * *  ",
    "0\t9 * * *",
    "0 9 ? * mon",
    "30 0 8 * * *",
]


@pytest.mark.parametrize("schedule", VALID_SCHEDULES)
def test_the_schedule_pattern_admits_what_the_library_accepts(schedule: str) -> None:
    validate([Job("j", schedule, 1)])
    assert re.fullmatch(SCHEDULE_PATTERN, schedule)
    assert re.fullmatch(EXCLUSION_PATTERN, schedule)


@settings(max_examples=200, deadline=None)
@given(st.one_of(schedules, schedules.map(lambda s: f"{s.split()[0]} {s}")))
def test_every_generated_valid_schedule_fits_the_pattern(schedule: str) -> None:
    validate([Job("j", schedule, 1)])  # five fields, or six with seconds first
    assert re.fullmatch(SCHEDULE_PATTERN, schedule)


@pytest.mark.parametrize("schedule", ["@daily", "* * * *", "0 0 0 1 1 * 2030", "", "0 9 * * 1;2"])
def test_the_schedule_pattern_rejects_wrong_shapes(schedule: str) -> None:
    assert not re.fullmatch(SCHEDULE_PATTERN, schedule)
    with pytest.raises(ValidationError):
        CronScalerSpec.model_validate(
            {"scaleTarget": NGINX, "jobs": [{"name": "j", "schedule": schedule, "size": 1}]}
        )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"jobs": [{"name": "a", "schedule": "0 8 * * *", "size": 1}] * 2},
            "job names must be unique: 'a'",
        ),
        (
            {
                "jobs": [{"name": "a", "schedule": "0 8 * * *", "size": 1}],
                "maxReplicas": 1,
                "defaultSize": 2,
            },
            "below the size of defaultSize (2)",
        ),
        ({"jobs": [{"name": "a", "schedule": "0 8 * * *", "size": 0}]}, "greater than or equal"),
        ({"jobs": []}, "at least 1 item"),
    ],
)
def test_spec_model_rejects(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        CronScalerSpec.model_validate({"scaleTarget": NGINX, **spec})


def test_a_bad_job_is_named_whatever_it_is_called() -> None:
    spec = {
        "scaleTarget": NGINX,
        "jobs": [
            {"name": "ok", "schedule": "0 8 * * *", "size": 1},
            {"name": "timeZone", "schedule": "0 8 31 2 *", "size": 2},
        ],
    }
    result = answer(spec, utc(2026, 5, 6))
    assert ready(result)["reason"] == "InvalidSchedule"
    assert ready(result)["message"].startswith("job 'timeZone' (spec.jobs[1]): schedule ")
    assert result["children"] == [] and "resyncAfterSeconds" not in result


def test_a_bad_exclusion_is_named_by_its_index() -> None:
    spec = {
        "scaleTarget": NGINX,
        "jobs": [{"name": "a", "schedule": "0 8 * * *", "size": 1}],
        "excludeDates": ["2026-12-25", "2026-02-30"],
    }
    assert ready(answer(spec, utc(2026, 5, 6)))["message"].startswith("spec.excludeDates[1]: ")


# --- the HPA builder ------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(0, 3), (4, 3), (-1, 1)])
def test_the_hpa_builder_refuses_bounds_an_hpa_cannot_hold(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="minReplicas"):
        horizontal_pod_autoscaler(
            {"name": "x"},
            target=scale_target_ref("apps/v1", "Deployment", "x"),
            min_replicas=low,
            max_replicas=high,
            metrics=[],
        )


# --- suspend, conflicts ---------------------------------------------------------------------


DAY = {
    "scaleTarget": NGINX,
    "jobs": [
        {"name": "morning", "schedule": "0 8 * * *", "size": 5},
        {"name": "evening", "schedule": "0 20 * * *", "size": 2},
    ],
}


def test_resuming_applies_the_latest_fire_even_one_that_fired_while_suspended() -> None:
    evening = answer(DAY, utc(2026, 5, 5, 20, 0, 5))
    kept = applied(evening, DAY, 2)
    paused = {**DAY, "suspend": True}
    suspended = answer(paused, utc(2026, 5, 6, 9), observed=[kept], status=evening["status"])
    assert hpa_of(suspended)["spec"]["minReplicas"] == 2  # type: ignore[index]
    assert "resyncAfterSeconds" not in suspended
    assert suspended["status"]["activeJob"] == "evening"
    assert "nextScheduleTime" not in suspended["status"]
    resumed = answer(DAY, utc(2026, 5, 6, 9), observed=[kept], status=suspended["status"])
    assert hpa_of(resumed)["spec"]["minReplicas"] == 5  # type: ignore[index]
    assert resumed["status"]["activeJob"] == "morning"


def _foreign(target: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "theirs", "namespace": "default", "uid": "x", **meta},
        "spec": {"scaleTargetRef": target, "maxReplicas": 3},
    }


@pytest.mark.parametrize(
    ("foreign", "conflict"),
    [
        pytest.param(_foreign(NGINX), True, id="same-target"),
        pytest.param(_foreign({**NGINX, "apiVersion": "apps/v1beta2"}), True, id="other-version"),
        pytest.param(_foreign({**NGINX, "name": "web"}), False, id="other-name"),
        pytest.param(_foreign({**NGINX, "apiVersion": "example.com/v1"}), False, id="other-group"),
        pytest.param(_foreign(NGINX, deletionTimestamp="2026-05-06T00:00:00Z"), False, id="going"),
        pytest.param(
            _foreign(
                NGINX,
                ownerReferences=[
                    {
                        "uid": uid_for("CronScaler", "scaler"),
                        "controller": True,
                        "kind": "CronScaler",
                    }
                ],
            ),
            False,
            id="ours",
        ),
    ],
)
def test_only_a_live_foreign_hpa_on_the_same_target_is_a_conflict(
    foreign: dict[str, Any], conflict: bool
) -> None:
    result = answer(DAY, utc(2026, 5, 6, 9), related=[foreign])
    assert (ready(result)["reason"] == "TargetHasAutoscaler") is conflict
    assert (hpa_of(result) is None) is conflict


# --- HTTP: a clock-dependent answer is never cached ---------------------------------------------


def test_an_answer_with_a_resync_carries_no_etag_but_a_suspended_one_may() -> None:
    client = create_app(Settings(), clock=lambda: utc(2026, 5, 6, 9)).test_client()
    body = request(C, parent(C, "scaler", DAY))
    live = client.post(f"/{C}/sync", json=body)
    assert live.status_code == 200 and live.get_json()["resyncAfterSeconds"] > 0
    assert "ETag" not in live.headers
    paused = client.post(
        f"/{C}/sync", json=request(C, parent(C, "scaler", {**DAY, "suspend": True}))
    )
    assert paused.status_code == 200 and "ETag" in paused.headers


# --- property: the controller against a brute-force minute-by-minute model ----------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(),
    sizes=st.lists(st.integers(1, 20), min_size=3, max_size=3),
    headroom=st.one_of(st.none(), st.integers(0, 5)),
    default_size=st.one_of(st.none(), st.integers(1, 20)),
    later=st.floats(0, 1),
)
def test_controller_matches_brute_force(
    scenario: tuple[str, datetime, list[str], list[str]],
    sizes: list[int],
    headroom: int | None,
    default_size: int | None,
    later: float,
) -> None:
    zone, now, schedule_list, exclude = scenario
    jobs = [
        {"name": f"job{i}", "schedule": s, "size": sizes[i]} for i, s in enumerate(schedule_list)
    ]
    spec: dict[str, Any] = {"scaleTarget": NGINX, "jobs": jobs, "timeZone": zone}
    if exclude:
        spec["excludeDates"] = exclude
    if default_size is not None:
        spec["defaultSize"] = default_size
    if headroom is not None:
        spec["maxReplicas"] = max(sizes + [default_size or 1]) + headroom
    models = [Model.parse(s) for s in schedule_list]
    tz, excluded = ZoneInfo(zone), exclusion_model(exclude)

    result = answer(spec, now)
    status, hpa = result["status"], hpa_of(result)

    # The latest fire decides minReplicas (ties: the job listed later).
    expected_last = brute_force(models, tz, now, excluded, forward=False)
    if expected_last is not None:
        index, at = expected_last
        size: int | None = sizes[index]
        assert status["activeJob"] == f"job{index}"
        assert status["lastScheduleTime"] == format_time(at)
    elif "lastScheduleTime" in status:  # a fire older than the brute force's search window
        last = datetime.fromisoformat(status["lastScheduleTime"].replace("Z", "+00:00"))
        assert last < now - SEARCH
        size = sizes[int(status["activeJob"].removeprefix("job"))]
    else:
        size = default_size
    if size is None:
        assert hpa is None
    else:
        assert hpa is not None
        assert hpa["spec"]["minReplicas"] == size == status["currentSize"]
        assert hpa["spec"]["maxReplicas"] == spec.get("maxReplicas", size)

    # resyncAfterSeconds lands just after the next fire, never later, never past the cap.
    expected_next = brute_force(models, tz, now, excluded, forward=True)
    wait = result["resyncAfterSeconds"]
    assert 0 < wait <= RESYNC_CAP_SECONDS
    if expected_next is None:
        assert wait == RESYNC_CAP_SECONDS
    else:
        index, at = expected_next
        assert status["nextJob"] == f"job{index}"
        assert status["nextScheduleTime"] == format_time(at)
        until = (at - now).total_seconds()
        assert wait <= until + RESYNC_MARGIN_SECONDS + 1e-6
        assert math.isclose(wait, min(RESYNC_CAP_SECONDS, until + RESYNC_MARGIN_SECONDS))

        # Between two fires an unchanged world gives an unchanged answer: no status churn.
        moment = now + timedelta(seconds=later * (until - 1)) if until > 1 else now
        observed = [applied(result, spec, size)] if size is not None else []
        again = answer(spec, moment, observed=observed, status=status)
        settled = answer(
            spec, moment + timedelta(microseconds=1), observed=observed, status=again["status"]
        )
        assert settled["status"] == again["status"]
        assert settled["children"] == again["children"]
        assert {k: v for k, v in again["status"].items() if k != "conditions"} == {
            k: v for k, v in status.items() if k != "conditions"
        } | ({"currentReplicas": size} if size is not None else {})


def test_every_answer_is_the_same_whatever_replica_or_restart_computes_it() -> None:
    """Nothing is kept between calls: fresh apps (a restart, another replica) answer alike."""
    body = request(C, parent(C, "scaler", DAY))
    now = utc(2026, 5, 6, 9, 30)
    first = create_app(Settings(), clock=lambda: now).test_client().post(f"/{C}/sync", json=body)
    second = (
        create_app(Settings(), clock=lambda: now)
        .test_client()
        .post(f"/{C}/sync", json=copy.deepcopy(body))
    )
    assert first.get_data() == second.get_data()


def test_schedule_errors_do_not_escape_as_server_errors() -> None:
    # Exclusions are validated before the queries that would raise ScheduleError.
    spec = {**DAY, "excludeDates": ["99 * * * *"]}
    result = answer(spec, utc(2026, 5, 6))
    assert ready(result)["reason"] == "InvalidSchedule"
    with pytest.raises(ScheduleError):
        validate([], "UTC", ["99 * * * *"])


def test_a_spec_too_costly_to_evaluate_is_refused_and_keeps_its_hpa() -> None:
    # 20 jobs firing only on the dates excluded: each query would walk 183 runs per job.
    jobs = [{"name": f"j{m}", "schedule": f"{m} 0 */2 * *", "size": 2} for m in range(20)]
    spec = {"scaleTarget": NGINX, "jobs": jobs, "excludeDates": ["0 0 */2 * *"]}
    kept = applied(answer(DAY, utc(2026, 5, 5, 20, 0, 5)), DAY, 2)
    result = answer(spec, utc(2026, 5, 6), observed=[kept])
    assert ready(result)["reason"] == "InvalidSchedule"
    assert "search steps" in ready(result)["message"]
    assert [child["metadata"]["name"] for child in result["children"]] == ["scaler"]
