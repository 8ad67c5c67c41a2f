"""CronScaler: one HorizontalPodAutoscaler whose minReplicas follows the latest fired job.

Metacontroller only applies objects the parent owns, and the target belongs to someone else, so
the target is scaled through an HPA the CronScaler owns (named like it). Level-triggered: every
sync works out from the spec and `now` alone which fire is the latest (`hooks.schedule`), so
restarts, missed syncs and several hook replicas all give the same answer, and the answer asks
to be called back just after the next fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from hooks.api.cronscaler import CRONSCALER, CronScalerSpec
from hooks.sdk import (
    DEFAULT_CPU_UTILIZATION,
    HPA,
    HPAS,
    AutoscalerState,
    Conditions,
    Controller,
    CustomizeResponse,
    HookRequest,
    InvalidSpec,
    KubeObject,
    NoOptions,
    ParentMeta,
    RelatedResourceRule,
    SyncResponse,
    as_desired,
    autoscaler_state,
    format_time,
    horizontal_pod_autoscaler,
    is_terminating,
    name_of,
    resource_utilization_metric,
    scale_target_ref,
    schedule,
    standard_labels,
)
from hooks.sdk import conditions as c

NAME = "cronscaler"
RESYNC_CAP_SECONDS = 3600
"""Longest wait between two syncs: a far-off next fire is approached hourly, which also heals a
lost resync and bounds the clock drift between the server's replicas that matters."""
RESYNC_MARGIN_SECONDS = 1.0
"""How long after the next fire the callback is asked for, so it lands after the fire even when
the resync timer runs a little early; a callback that still comes too early finds no new fire
and simply asks again."""

REASON_INVALID_SCHEDULE = "InvalidSchedule"
REASON_INVALID_TIME_ZONE = "InvalidTimeZone"
REASON_TARGET_HAS_AUTOSCALER = "TargetHasAutoscaler"

Request = HookRequest[CronScalerSpec, NoOptions]


@dataclass(frozen=True)
class Plan:
    """What the schedule says at `now`: the deciding fire, the next one, and the size."""

    last: schedule.Fire | None
    upcoming: schedule.Fire | None
    size: int | None
    """The latest fire's size, else defaultSize; None leaves the target unmanaged."""


@dataclass(frozen=True)
class Conflict:
    """An HPA we do not own that stands in the way: reported, never touched."""

    reason: str
    message: str


def sync(request: Request) -> SyncResponse:
    """Return the HPA for the size of the latest fire, and a status judged on the observed HPA.

    While suspended, or while another HPA scales the same target, the observed HPA is answered
    as it was applied: nothing changes until the spec or the other HPA does.
    """
    spec = request.spec
    jobs = schedule_jobs(spec)
    ours = autoscaler_state(request.children.named(HPA, request.parent.name))
    conflict = find_conflict(request)
    plan = None if spec.suspend else cronscaler_plan(request, jobs)
    if plan is None or conflict is not None:
        children: list[KubeObject] = [as_desired(hpa) for hpa in request.children.all(HPA)]
        desired = None
    else:
        desired = cronscaler_hpa(request, plan.size) if plan.size is not None else None
        children = [desired] if desired is not None else []
    status = cronscaler_status(request, plan, ours, desired, conflict)
    resync = None
    if plan is not None:
        resync = schedule.resync_after(
            plan.upcoming, now=request.now, margin=RESYNC_MARGIN_SECONDS, cap=RESYNC_CAP_SECONDS
        )
    return SyncResponse(status=status, children=children, resyncAfterSeconds=resync)


def customize(parent: ParentMeta, spec: CronScalerSpec) -> CustomizeResponse:
    """Ask for every HPA in the namespace, so one that already scales the target is reported.

    Their names are unknown, so the rule selects them all; it depends on the parent's namespace
    only, as Metacontroller caches it per parent generation.
    """
    rule = RelatedResourceRule(
        apiVersion="autoscaling/v2", resource="horizontalpodautoscalers", namespace=parent.namespace
    )
    return CustomizeResponse(relatedResources=[rule])


def schedule_jobs(spec: CronScalerSpec) -> list[schedule.Job]:
    """Return the spec's jobs for `hooks.schedule`; raise InvalidSpec naming what is unusable.

    The time zone, each job and the exclusions are checked separately so that the message names
    the field, whatever the jobs are called.
    """
    try:
        schedule.validate_time_zone(spec.time_zone)
    except schedule.ScheduleError as err:
        raise InvalidSpec(f"spec.timeZone: {err.message}", REASON_INVALID_TIME_ZONE) from None
    jobs = [schedule.Job(job.name, job.schedule, job.size) for job in spec.jobs]
    for index, job in enumerate(jobs):
        try:
            schedule.validate([job], spec.time_zone)
        except schedule.ScheduleError as err:
            message = f"job {job.name!r} (spec.jobs[{index}]): {err.message}"
            raise InvalidSpec(message, REASON_INVALID_SCHEDULE) from None
    try:
        schedule.validate([], spec.time_zone, spec.exclude_dates or ())
    except schedule.ScheduleError as err:
        raise InvalidSpec(f"spec.{err.job}: {err.message}", REASON_INVALID_SCHEDULE) from None
    return jobs


def cronscaler_plan(request: Request, jobs: list[schedule.Job]) -> Plan:
    """Find the latest fire at or before now (it decides the size) and the next one.

    A spec whose evaluation would exceed `hooks.schedule.STEP_BUDGET` is refused as invalid,
    which keeps the children as they are."""
    spec = request.spec
    exclude = spec.exclude_dates or ()
    try:
        last, upcoming = schedule.fires_around(
            jobs, now=request.now, time_zone=spec.time_zone, exclude=exclude
        )
    except schedule.ScheduleError as err:
        raise InvalidSpec(f"spec.{err.job}: {err.message}", REASON_INVALID_SCHEDULE) from None
    size = last.job.size if last is not None else spec.default_size
    return Plan(last=last, upcoming=upcoming, size=size)


def find_conflict(request: Request) -> Conflict | None:
    """Return the first HPA we do not own that scales our target, or that has our HPA's name.

    Two HPAs on one target fight (each pulls the replicas into its own bounds, and the HPA
    controller turns off their metrics, AmbiguousSelector), so no HPA of ours is created beside a
    foreign one; one that already exists is kept as applied, never deleted because of an object
    we do not own, and removing the foreign HPA is all it takes to recover. HPAs being deleted
    do not count.
    """
    target = request.spec.scale_target
    foreign = [
        hpa
        for hpa in request.related.all(HPA)
        if not is_terminating(hpa) and not _owned_by(hpa, request.parent)
    ]
    for hpa in foreign:
        if autoscaler_state(hpa).targets(target.api_version, target.kind, target.name):
            return Conflict(
                REASON_TARGET_HAS_AUTOSCALER,
                f"HorizontalPodAutoscaler {name_of(hpa)!r}, not managed by this CronScaler, "
                f"already scales {target.kind} {target.name!r}; delete it to let the schedule "
                "apply",
            )
    for hpa in foreign:
        if name_of(hpa) == request.parent.name:
            return Conflict(
                c.REASON_RESOURCE_EXISTS,
                f"HorizontalPodAutoscaler {name_of(hpa)!r} already exists and is not managed by "
                "this CronScaler",
            )
    return None


def cronscaler_hpa(request: Request, size: int) -> KubeObject:
    """Build the HPA: minReplicas is the scheduled size, maxReplicas spec.maxReplicas or the same.

    CPU utilization (the API server's default metric, written out) only matters when
    maxReplicas leaves room above the floor, and needs metrics-server; the bounds do not.
    """
    spec = request.spec
    target = spec.scale_target
    labels = standard_labels(NAME, request.parent.name, component="autoscaler")
    return horizontal_pod_autoscaler(
        request.meta(request.parent.name, labels),
        target=scale_target_ref(target.api_version, target.kind, target.name),
        min_replicas=size,
        max_replicas=spec.max_replicas or size,
        metrics=[resource_utilization_metric("cpu", DEFAULT_CPU_UTILIZATION)],
    )


def cronscaler_status(
    request: Request,
    plan: Plan | None,
    ours: AutoscalerState,
    desired: KubeObject | None,
    conflict: Conflict | None,
) -> KubeObject:
    """Report the schedule's decision and judge the observed HPA against it.

    Every field changes only when a job fires or the spec or the observed objects change, never
    with the mere passing of time, so an unchanged world writes no new status.
    """
    conditions = request.conditions()
    _set_scheduled(conditions, request.spec, plan)
    conditions.set(c.READY, *_readiness(request, ours, desired, conflict))
    status: KubeObject = {}
    if desired is not None:
        status["currentSize"] = desired["spec"]["minReplicas"]
    elif (plan is None or conflict is not None) and ours.exists:
        status["currentSize"] = ours.min_replicas  # kept as applied
    if ours.current_replicas is not None:
        status["currentReplicas"] = ours.current_replicas
    if plan is None:  # suspended: the fire that set the kept HPA, as reported before
        status.update(_previous_fire(request.parent.status))
    elif plan.last is not None:
        status["activeJob"] = plan.last.job.name
        status["lastScheduleTime"] = format_time(plan.last.at)
    if plan is not None and plan.upcoming is not None:
        status["nextJob"] = plan.upcoming.job.name
        status["nextScheduleTime"] = format_time(plan.upcoming.at)
    status["conditions"] = conditions.to_list()
    return status


def _set_scheduled(conditions: Conditions, spec: CronScalerSpec, plan: Plan | None) -> None:
    if plan is None:
        message = "spec.suspend is true: fires are not applied and the HPA is kept as it is"
        conditions.set(c.SCHEDULED, False, "Suspended", message)
    elif plan.last is not None:
        fire = plan.last
        message = f"job {fire.job.name!r} fired at {format_time(fire.at)}: size {fire.job.size}"
        conditions.set(c.SCHEDULED, True, "JobFired", message)
    elif spec.default_size is not None:
        days, size = schedule.LOOKBACK.days, spec.default_size
        message = f"no job has fired in the last {days} days: defaultSize {size} applies"
        conditions.set(c.SCHEDULED, True, "DefaultSize", message)
    else:
        message = (
            f"no job has fired in the last {schedule.LOOKBACK.days} days and there is no "
            "defaultSize: the target is not managed until the first fire"
        )
        conditions.set(c.SCHEDULED, False, "NoJobFired", message)


def _readiness(
    request: Request,
    ours: AutoscalerState,
    desired: KubeObject | None,
    conflict: Conflict | None,
) -> tuple[bool, str, str]:
    """Judge the observed HPA: Ready once it holds the scheduled bounds, the target inside them."""
    target = request.spec.scale_target
    what = f"{target.kind} {target.name!r}"
    if conflict is not None:
        return False, conflict.reason, conflict.message
    if request.spec.suspend:
        kept = f"minReplicas {ours.min_replicas}" if ours.exists else "no HPA"
        return True, "Suspended", f"suspended; {what} is kept at {kept}"
    if desired is None:
        if ours.exists:
            return False, "AutoscalerDeleting", "the HPA is being deleted: no size applies"
        return True, "Unmanaged", f"no size applies yet: {what} is not managed"
    if not ours.exists:
        return False, "AutoscalerCreating", "the HorizontalPodAutoscaler is being created"
    low, high = desired["spec"]["minReplicas"], desired["spec"]["maxReplicas"]
    if (ours.min_replicas, ours.max_replicas, ours.target) != (
        low,
        high,
        desired["spec"]["scaleTargetRef"],
    ):
        return False, "AutoscalerUpdating", f"the HPA is being updated to [{low}, {high}]"
    unable = ours.condition_false("AbleToScale")
    if unable is not None:
        return False, "TargetNotScalable", f"the HPA cannot scale {what}: {unable.get('message')}"
    inactive = ours.condition_false("ScalingActive")
    if inactive is not None and inactive.get("reason") == "ScalingDisabled":
        return False, "ScalingDisabled", f"{what} has 0 replicas, which the HPA leaves alone"
    current = ours.current_replicas
    if current is None:
        return False, "AutoscalerPending", f"waiting for the HPA to read the scale of {what}"
    if not low <= current <= high:
        return (
            False,
            "Scaling",
            f"{what} has {current} replicas; the HPA moves it into [{low}, {high}]",
        )
    return True, "SizeApplied", f"{what} has {current} replicas, within [{low}, {high}]"


def _previous_fire(previous: KubeObject) -> KubeObject:
    """The activeJob and lastScheduleTime the parent reported before it was suspended."""
    return {
        key: previous[key]
        for key in ("activeJob", "lastScheduleTime")
        if isinstance(previous.get(key), str)
    }


def _owned_by(obj: KubeObject, parent: ParentMeta) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(
        isinstance(ref, dict) and ref.get("uid") == parent.uid and ref.get("controller")
        for ref in refs
    )


CONTROLLER = Controller(
    name="cronscaler",
    kind=CRONSCALER,
    children=(HPAS,),
    sync=sync,
    customize=customize,
)
"""Registered as the `cronscaler` entry point of the `kubehooks.controllers` group."""
