"""Golden cases of the cronscaler controller; each case fixes "now"."""

from __future__ import annotations

import copy

from tests.cases.common import (
    EARLIER,
    NOW,
    Case,
    Obj,
    condition,
    desired_children,
    observe,
    parent,
    request,
    uid_for,
)

C = "cronscaler"
NAME = "cronscaler-sample"
NGINX = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}
COURSE: Obj = {
    "scaleTarget": NGINX,
    "jobs": [{"name": "scale-up", "schedule": "*/1 * * * *", "size": 3}],
}
"""The operator course's sample spec, unchanged."""

DAY: Obj = {
    "scaleTarget": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "timeZone": "Europe/Berlin",
    "jobs": [
        {"name": "morning", "schedule": "0 8 * * *", "size": 5},
        {"name": "evening", "schedule": "0 20 * * *", "size": 2},
    ],
    "maxReplicas": 10,
}
"""A day's schedule: 5 replicas from 08:00, 2 from 20:00, Berlin time; CPU may add up to 10."""
DAY_NAME = "web-business-hours"

# The parents are created on Thursday 2026-01-15 (CREATED); Berlin is UTC+1 in January.
FRIDAY_MORNING = "2026-01-16T07:00:30Z"  # 08:00:30 CET, just after the morning fire
FRIDAY_EVENING = "2026-01-16T19:00:05Z"  # 20:00:05 CET, just after the evening fire
THURSDAY_EVENING_FIRE = "2026-01-15T19:00:00Z"

METRICS_UNAVAILABLE = (
    "the HPA was unable to compute the replica count: failed to get cpu utilization: unable "
    "to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the "
    "server could not find the requested resource (get pods.metrics.k8s.io)"
)


def hpa_status(
    current: int,
    *,
    able: tuple[str, str, str] = (
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    ),
    active: tuple[str, str, str] = ("False", "FailedGetResourceMetric", METRICS_UNAVAILABLE),
) -> Obj:
    """An HPA status as the HPA controller writes it on a cluster without metrics-server."""
    return {
        "observedGeneration": 1,
        "currentReplicas": current,
        "desiredReplicas": current,
        "conditions": [
            {
                "type": "AbleToScale",
                "status": able[0],
                "reason": able[1],
                "message": able[2],
                "lastTransitionTime": EARLIER,
            },
            {
                "type": "ScalingActive",
                "status": active[0],
                "reason": active[1],
                "message": active[2],
                "lastTransitionTime": EARLIER,
            },
        ],
    }


def _hpa(name: str, spec: Obj, at: str, status: Obj | None) -> Obj:
    """Our HPA as applied by a sync at `at`, observed with `status`."""
    owner = parent(C, name, spec)
    (desired,) = desired_children(C, owner, now=at)
    return observe(desired, owner, status=status)


def _foreign_hpa(name: str, target: Obj) -> Obj:
    """An HPA someone else created (no owner), as a related object."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": uid_for("HorizontalPodAutoscaler", "foreign", name),
            "resourceVersion": "77",
            "creationTimestamp": EARLIER,
        },
        "spec": {"scaleTargetRef": target, "minReplicas": 1, "maxReplicas": 4},
        "status": hpa_status(2),
    }


def _previous(active: str, at: str, ready: tuple[str, str] = ("True", "SizeApplied")) -> Obj:
    """A status the sync just after the fire at `at` left on the parent."""
    return {
        "activeJob": active,
        "lastScheduleTime": at,
        "conditions": [
            condition("Scheduled", "True", "JobFired", f"job {active!r} fired at {at}", when=at),
            condition("Ready", *ready, when=at),
        ],
    }


def cases() -> list[Case]:
    """Return every cronscaler case."""
    steady = _hpa(NAME, COURSE, NOW, hpa_status(3))
    evening_hpa = _hpa(DAY_NAME, DAY, "2026-01-15T19:00:05Z", hpa_status(2))
    morning_hpa = _hpa(DAY_NAME, DAY, FRIDAY_MORNING, hpa_status(7))
    course_before = _previous("scale-up", "2026-01-15T10:00:00Z")
    evening_before = _previous("evening", THURSDAY_EVENING_FIRE)
    return [
        Case(
            C,
            "fresh-parent",
            "The course's sample (every minute, size 3) at 10:00:00, a fire instant: the fire "
            "counts (at or before now); HPA min=max=3; resync just after 10:01:00.",
            request(C, parent(C, NAME, COURSE)),
        ),
        Case(
            C,
            "steady-state",
            "The HPA holds [3, 3] and the Deployment has 3 replicas: Ready, conditions stable.",
            request(C, parent(C, NAME, COURSE, status=course_before), [steady]),
            now="2026-01-15T10:00:30Z",
        ),
        Case(
            C,
            "v1-keys",
            "Steady state sent by a v1 hook (children keyed by name): same answer.",
            request(C, parent(C, NAME, COURSE, status=course_before), [steady], version="v1"),
            now="2026-01-15T10:00:30Z",
        ),
        Case(
            C,
            "max-replicas-added",
            "maxReplicas 10 added: the HPA keeps the floor 3 and may now scale up to 10.",
            request(
                C,
                parent(C, NAME, {**COURSE, "maxReplicas": 10}, generation=2, status=course_before),
                [steady],
            ),
            now="2026-01-15T10:00:30Z",
        ),
        Case(
            C,
            "before-first-fire-unmanaged",
            "The only job (29 February) last fired more than 367 days ago and no defaultSize: no "
            "HPA, Scheduled=False NoJobFired; no next fire within 367 days, so resync hourly.",
            request(
                C,
                parent(
                    C,
                    "leap-day",
                    {
                        "scaleTarget": NGINX,
                        "jobs": [{"name": "leap-day", "schedule": "0 9 29 2 *", "size": 6}],
                    },
                ),
            ),
        ),
        Case(
            C,
            "before-first-fire-default-size",
            "No job has fired yet but defaultSize is 2: the HPA holds [2, 2] until the first fire.",
            request(
                C,
                parent(
                    C,
                    "leap-day",
                    {
                        "scaleTarget": NGINX,
                        "jobs": [{"name": "leap-day", "schedule": "0 9 29 2 *", "size": 6}],
                        "defaultSize": 2,
                    },
                ),
            ),
        ),
        Case(
            C,
            "scale-up",
            "08:00:30 Berlin: the morning job (size 5) fired 30 s ago; the HPA observed still "
            "holds last evening's floor 2, so it is updated to [5, 10]; next: evening at 19:00Z.",
            request(C, parent(C, DAY_NAME, DAY, status=evening_before), [evening_hpa]),
            now=FRIDAY_MORNING,
        ),
        Case(
            C,
            "target-below-floor",
            "The HPA holds [5, 10] but has not scaled the Deployment up from 2 yet: Scaling.",
            request(
                C,
                parent(C, DAY_NAME, DAY, status=_previous("morning", "2026-01-16T07:00:00Z")),
                [_hpa(DAY_NAME, DAY, FRIDAY_MORNING, hpa_status(2))],
            ),
            now="2026-01-16T07:01:00Z",
        ),
        Case(
            C,
            "scale-down",
            "20:00:05 Berlin: the later evening job (size 2) wins over the morning one: the HPA "
            "floor drops from 5 to 2 (CPU had scaled to 7; within [2, 10] only metrics scale "
            "down); next: Saturday's morning fire.",
            request(
                C,
                parent(C, DAY_NAME, DAY, status=_previous("morning", "2026-01-16T07:00:00Z")),
                [morning_hpa],
            ),
            now=FRIDAY_EVENING,
        ),
        Case(
            C,
            "same-minute-tie",
            "Two jobs fire at 09:00 on a weekday: the one listed later (weekdays, size 6) wins, "
            "now and for the next fire.",
            request(
                C,
                parent(
                    C,
                    "tie",
                    {
                        "scaleTarget": NGINX,
                        "jobs": [
                            {"name": "daily", "schedule": "0 9 * * *", "size": 3},
                            {"name": "weekdays", "schedule": "0 9 * * 1-5", "size": 6},
                        ],
                    },
                ),
            ),
            now="2026-01-15T09:00:10Z",
        ),
        Case(
            C,
            "dst-spring-forward",
            "Berlin skips 02:00-03:00 on 2026-03-29: the 02:30 night job fires once, at 03:00 "
            "CEST (01:00Z); the day job comes at 07:00 CEST (05:00Z).",
            request(C, parent(C, "dst", _dst_spec())),
            now="2026-03-29T01:00:30Z",
        ),
        Case(
            C,
            "dst-fall-back",
            "Berlin repeats 02:00-03:00 on 2026-10-25: the 02:30 night job fires at both "
            "instants; this is the second one (01:30Z, 02:30 CET); next: 07:00 CET (06:00Z).",
            request(C, parent(C, "dst", _dst_spec())),
            now="2026-10-25T01:30:30Z",
        ),
        Case(
            C,
            "suspended",
            "suspend: true after the morning fire: the HPA is kept as applied (floor 2), "
            "Scheduled=False, the last reported fire stays, and no resync is asked for.",
            request(
                C,
                parent(
                    C,
                    DAY_NAME,
                    {**DAY, "suspend": True},
                    generation=2,
                    status=evening_before,
                ),
                [evening_hpa],
            ),
            now=FRIDAY_MORNING,
        ),
        Case(
            C,
            "excluded-date",
            "Saturday 08:00:30 Berlin with weekends and Monday 2026-01-19 excluded: Friday's "
            "evening size holds; the next fire is Tuesday morning.",
            request(
                C,
                parent(
                    C,
                    DAY_NAME,
                    {**DAY, "excludeDates": ["* * * * 6,0", "2026-01-19"]},
                    status=_previous("evening", "2026-01-16T19:00:00Z"),
                ),
                [_hpa(DAY_NAME, DAY, "2026-01-16T19:00:05Z", hpa_status(2))],
            ),
            now="2026-01-17T07:00:30Z",
        ),
        Case(
            C,
            "invalid-schedule-keeps-children",
            "The morning job's schedule names hour 25: Ready=False naming the job, the observed "
            "HPA kept as applied.",
            request(
                C,
                parent(
                    C,
                    DAY_NAME,
                    {**DAY, "jobs": [{**DAY["jobs"][0], "schedule": "0 25 * * *"}, DAY["jobs"][1]]},
                    generation=2,
                    status=evening_before,
                ),
                [evening_hpa],
            ),
            now=FRIDAY_MORNING,
        ),
        Case(
            C,
            "invalid-time-zone-keeps-children",
            "timeZone is not an IANA zone: Ready=False InvalidTimeZone, the HPA kept.",
            request(
                C,
                parent(
                    C,
                    DAY_NAME,
                    {**DAY, "timeZone": "Europe/Atlantis"},
                    generation=2,
                    status=evening_before,
                ),
                [evening_hpa],
            ),
            now=FRIDAY_MORNING,
        ),
        Case(
            C,
            "invalid-max-replicas-keeps-children",
            "maxReplicas 4 is below the morning job's size 5: Ready=False, the HPA kept.",
            request(
                C,
                parent(
                    C,
                    DAY_NAME,
                    {**DAY, "maxReplicas": 4},
                    generation=2,
                    status=evening_before,
                ),
                [evening_hpa],
            ),
            now=FRIDAY_MORNING,
        ),
        Case(
            C,
            "seconds-field",
            "6-field schedules (seconds first): size 2 at second 0, size 4 at second 30 of each "
            "minute; at 10:00:40 the 10:00:30 fire decides, next at 10:01:00 (resync 21 s).",
            request(
                C,
                parent(
                    C,
                    "seconds",
                    {
                        "scaleTarget": NGINX,
                        "jobs": [
                            {"name": "on-the-minute", "schedule": "0 * * * * *", "size": 2},
                            {"name": "half-past", "schedule": "30 * * * * *", "size": 4},
                        ],
                    },
                ),
            ),
            now="2026-01-15T10:00:40Z",
        ),
        Case(
            C,
            "foreign-hpa",
            "Another HPA (not ours) already scales Deployment nginx: no HPA is created, "
            "Ready=False TargetHasAutoscaler.",
            request(C, parent(C, NAME, COURSE), related=[_foreign_hpa("nginx", NGINX)]),
        ),
        Case(
            C,
            "foreign-hpa-keeps-ours",
            "A foreign HPA on the same target appears beside ours: ours is kept as applied "
            "(never deleted because of it), Ready=False TargetHasAutoscaler.",
            request(
                C,
                parent(C, NAME, COURSE, status=course_before),
                [steady],
                related=[_foreign_hpa("nginx", {**NGINX, "apiVersion": "apps/v1beta1"}), steady],
            ),
            now="2026-01-15T10:00:30Z",
        ),
        Case(
            C,
            "hpa-name-taken",
            "An HPA named like the CronScaler exists, not ours, scaling something else: "
            "ResourceExists, not claimed.",
            request(
                C,
                parent(C, NAME, COURSE),
                related=[_foreign_hpa(NAME, {**NGINX, "name": "other"})],
            ),
        ),
        Case(
            C,
            "target-missing",
            "The HPA cannot read the target's scale (Deployment nginx does not exist): "
            "Ready=False TargetNotScalable with the HPA's message.",
            request(
                C,
                parent(C, NAME, COURSE, status=course_before),
                [_missing_target(steady)],
            ),
            now="2026-01-15T10:00:30Z",
        ),
        Case(
            C,
            "target-at-zero",
            "Someone scaled nginx to 0: the HPA leaves it alone (ScalingDisabled), and so says "
            "the status.",
            request(
                C,
                parent(C, NAME, COURSE, status=course_before),
                [
                    _with_status(
                        steady,
                        hpa_status(
                            0,
                            active=(
                                "False",
                                "ScalingDisabled",
                                "scaling is disabled since the replica count of the target is zero",
                            ),
                        ),
                    )
                ],
            ),
            now="2026-01-15T10:00:30Z",
        ),
        Case(
            C,
            "finalize-with-children",
            "Being deleted and its HPA still exists: ask for none (the Deployment keeps its "
            "replicas), not finalized.",
            request(C, parent(C, NAME, COURSE, deleting=True), [steady], finalizing=True),
            hook="finalize",
        ),
        Case(
            C,
            "finalize-done",
            "Deleted and no HPA left: finalized.",
            request(C, parent(C, NAME, COURSE, deleting=True), [], finalizing=True),
            hook="finalize",
        ),
        Case(
            C,
            "customize",
            "Ask for every HPA in the namespace, to spot one that already scales the target.",
            {
                "controller": request(C, parent(C, NAME, COURSE))["controller"],
                "parent": parent(C, NAME, COURSE),
            },
            hook="customize",
        ),
    ]


def _dst_spec() -> Obj:
    return {
        "scaleTarget": NGINX,
        "timeZone": "Europe/Berlin",
        "jobs": [
            {"name": "night", "schedule": "30 2 * * *", "size": 1},
            {"name": "day", "schedule": "0 7 * * *", "size": 4},
        ],
    }


def _with_status(obj: Obj, status: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["status"] = status
    return out


def _missing_target(obj: Obj) -> Obj:
    """The HPA as its controller leaves it when the target does not exist: no replica count."""
    message = (
        "the HPA controller was unable to get the target's current scale: "
        'deployments/scale.apps "nginx" not found'
    )
    status = {
        "desiredReplicas": 0,
        "conditions": [
            {
                "type": "AbleToScale",
                "status": "False",
                "reason": "FailedGetScale",
                "message": message,
                "lastTransitionTime": EARLIER,
            }
        ],
    }
    return _with_status(obj, status)
