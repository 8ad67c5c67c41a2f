"""CronScaler, the operator course's "Hpa" kind: scale a workload to set sizes at set times.

The course's spec (`scaleTarget{apiVersion, kind, name}`, `jobs[{name, schedule, size}]`) is
accepted unchanged; the other fields are optional. Whether a schedule or time zone can actually
be used is judged by `hooks.schedule` in the controller; the patterns here only keep obviously
malformed values out of the API server.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from hooks.sdk import AGE, READY_COLUMN, REASON_COLUMN, Kind, KubeModel, PrinterColumn, StatusBase

MAX_REPLICAS = 2**31 - 1
"""An HPA's replica bounds are int32."""

_CRON_FIELD = r"[0-9A-Za-z*?/,#-]+"
SCHEDULE_PATTERN = rf"^\s*{_CRON_FIELD}(\s+{_CRON_FIELD}){{4,5}}\s*$"
"""5 or 6 whitespace-separated fields of cron characters (digits, names such as MON/JAN, `L`,
`W`, `*`, `?`, `/`, `,`, `#`, `-`): the shape of every schedule `hooks.schedule` accepts, and
no more. Values are judged by the cron library in the controller."""

EXCLUSION_PATTERN = rf"^\s*(\d{{4}}-\d{{2}}-\d{{2}}|{_CRON_FIELD}(\s+{_CRON_FIELD}){{4,5}})\s*$"
"""A `YYYY-MM-DD` date or a cron expression of the same shape as a schedule."""

OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A DNS subdomain: what Deployment, StatefulSet and most object names must be."""

API_VERSION_PATTERN = "^" + OBJECT_NAME_PATTERN[1:-1] + "/v[0-9]+((alpha|beta)[0-9]+)?$"
"""`apps/v1`, `example.com/v1beta2`: a DNS-subdomain group, then a version. An HPA's
scaleTargetRef must name a group (ValidateAPIVersion in pkg/apis/autoscaling/validation)."""

KIND_PATTERN = r"^[A-Z][A-Za-z0-9]*$"

MAX_JOBS = 20
MAX_EXCLUSIONS = 50
"""Bounds on the work of one sync: every job's last and next fire is searched on every call, and
a day that an exclusion rules out is skipped one at a time (about 70 ms per job per call when
every date of a year is excluded)."""

Exclusion = Annotated[str, Field(pattern=EXCLUSION_PATTERN, max_length=128)]


class ScaleTarget(KubeModel):
    """The workload to scale: anything with a scale subresource, in the CronScaler's namespace."""

    api_version: str = Field(
        pattern=API_VERSION_PATTERN,
        max_length=253,
        description="API version of the target, such as apps/v1.",
    )
    kind: str = Field(
        pattern=KIND_PATTERN,
        max_length=63,
        description="Kind of the target: Deployment, StatefulSet, ReplicaSet, or a custom kind "
        "with a scale subresource.",
    )
    name: str = Field(
        pattern=OBJECT_NAME_PATTERN, max_length=253, description="Name of the target."
    )


class CronScalerJob(KubeModel):
    """One scaling action: at every fire of `schedule`, the target's floor becomes `size`."""

    name: str = Field(
        min_length=1, max_length=63, description="Job name, unique within the CronScaler."
    )
    schedule: str = Field(
        pattern=SCHEDULE_PATTERN,
        max_length=128,
        description="Cron expression read on the wall clock of timeZone. 5 fields: minute hour "
        "day-of-month month day-of-week; 6 fields: SECOND minute hour day-of-month month "
        "day-of-week (seconds first). Supports *, lists, ranges, */N, names (MON, JAN), L, W "
        "and #.",
    )
    size: int = Field(
        ge=1,
        le=MAX_REPLICAS,
        description="Replicas from this fire on: the HorizontalPodAutoscaler's minReplicas (at "
        "least 1: an HPA cannot scale to zero).",
    )


class CronScalerSpec(KubeModel):
    """The course's `scaleTarget` and `jobs`, plus time zone, bounds, exclusions and suspend."""

    scale_target: ScaleTarget = Field(description="The workload to scale.")
    jobs: list[CronScalerJob] = Field(
        min_length=1,
        max_length=MAX_JOBS,
        description="Scaling actions. The latest fire decides the size; when two fire at the "
        "same instant, the job listed later wins.",
    )
    max_replicas: int | None = Field(
        default=None,
        ge=1,
        le=MAX_REPLICAS,
        description="The HPA's maxReplicas, so CPU load can scale above the scheduled floor; "
        "at least every job's size. Default: the floor itself (the size is exact).",
    )
    default_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_REPLICAS,
        description="Size while no job has fired within the last 367 days; unset leaves the "
        "target unmanaged (no HPA) until the first fire.",
    )
    time_zone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone the schedules and excludeDates are read in, such as "
        "Europe/Berlin.",
    )
    exclude_dates: list[Exclusion] | None = Field(
        default=None,
        max_length=MAX_EXCLUSIONS,
        description="Local dates on which no job fires: YYYY-MM-DD, or a cron expression that "
        "excludes every day it would fire on (such as '* * * * 6,0' for weekends).",
    )
    suspend: bool = Field(
        default=False,
        description="Stop applying fires: the HPA is kept as it is until suspend is false again.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CronScalerSpec:
        names = [job.name for job in self.jobs]
        twins = sorted({name for name in names if names.count(name) > 1})
        if twins:
            raise ValueError(f"job names must be unique: {', '.join(map(repr, twins))}")
        if self.max_replicas is not None:
            sizes = [("defaultSize", self.default_size)] if self.default_size else []
            sizes += [(f"job {job.name!r}", job.size) for job in self.jobs]
            over = [f"{what} ({size})" for what, size in sizes if size > self.max_replicas]
            if over:
                raise ValueError(
                    f"maxReplicas {self.max_replicas} is below the size of {', '.join(over)}"
                )
        return self


class CronScalerStatus(StatusBase):
    """What the schedule decides now, and what the observed HPA reports."""

    current_size: int | None = Field(
        default=None,
        description="Replicas the schedule holds the target at now (the HPA's minReplicas); "
        "absent while the target is unmanaged.",
    )
    current_replicas: int | None = Field(
        default=None, description="Replicas of the target, as the HPA last read them."
    )
    active_job: str | None = Field(
        default=None, description="The job whose fire set the current size."
    )
    last_schedule_time: str | None = Field(
        default=None,
        description="When the active job fired.",
        json_schema_extra={"format": "date-time"},
    )
    next_job: str | None = Field(default=None, description="The job that fires next.")
    next_schedule_time: str | None = Field(
        default=None,
        description="When the next job fires (within the next 367 days).",
        json_schema_extra={"format": "date-time"},
    )


CRONSCALER = Kind(
    kind="CronScaler",
    plural="cronscalers",
    spec=CronScalerSpec,
    status=CronScalerStatus,
    short_names=("csc",),
    description="A CronScaler scales a workload to set sizes at set times, through a "
    "HorizontalPodAutoscaler whose minReplicas follows the latest fired job.",
    printer_columns=(
        PrinterColumn("Target", "string", ".spec.scaleTarget.name"),
        PrinterColumn("Size", "integer", ".status.currentSize"),
        PrinterColumn("Replicas", "integer", ".status.currentReplicas"),
        PrinterColumn("Active", "string", ".status.activeJob"),
        PrinterColumn("Last Schedule", "date", ".status.lastScheduleTime"),
        PrinterColumn("Next Job", "string", ".status.nextJob"),
        # A string, not a date: kubectl prints a future date as "<invalid>".
        PrinterColumn("Next Schedule", "string", ".status.nextScheduleTime"),
        PrinterColumn("Suspend", "boolean", ".spec.suspend", priority=1),
        READY_COLUMN,
        REASON_COLUMN,
        AGE,
    ),
)
