"""AIJob, from the AI task controller notes: a (distributed) training run as an Indexed Job."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from hooks.sdk import (
    AGE,
    PHASE_COLUMN,
    READY_COLUMN,
    REASON_COLUMN,
    EnvList,
    Image,
    Integer,
    Kind,
    KubeModel,
    PhasedStatus,
    PrinterColumn,
    ResourceRequirements,
    check_env,
)

RESERVED_ENV = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE")
"""Set by the controller for every worker, as torch.distributed and friends expect."""

AIJobPhase = Literal["Pending", "Running", "Suspended", "Succeeded", "Failed"]


class AIJobSpec(KubeModel):
    """What to run, on how many workers, with how many GPUs each."""

    image: Image = Field(description="Training image.")
    command: list[str] | None = Field(default=None, description="Entrypoint override.")
    args: list[str] | None = Field(default=None, description="Arguments.")
    env: EnvList | None = Field(
        default=None,
        description="Environment variables; WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT are "
        "set by the controller and may be referenced as $(RANK).",
    )
    workers: Integer = Field(default=1, ge=1, le=1000, description="Worker Pods, ranks 0..n-1.")
    gpus_per_worker: Integer = Field(
        default=0, ge=0, le=64, description="GPUs each worker requests (nvidia.com/gpu)."
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="CPU and memory of each worker."
    )
    backoff_limit: Integer | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="Pod failures tolerated across all workers before the job fails "
        "(Kubernetes' default: 6).",
    )
    active_deadline_seconds: Integer | None = Field(
        default=None, ge=1, description="Fail the job if it runs longer than this."
    )
    suspend: bool = Field(
        default=False, description="Stop the workers (they start again from scratch on resume)."
    )
    ttl_seconds_after_finished: Integer | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="Delete the Job and Service this long after the job ended (status stays); "
        "default: the server's setting, else keep them.",
    )

    @field_validator("env")
    @classmethod
    def _not_reserved(cls, env: EnvList | None) -> EnvList | None:
        check_env(env)
        taken = sorted({item.name for item in env or []} & set(RESERVED_ENV))
        if taken:
            raise ValueError(f"set by the controller for every worker: {', '.join(taken)}")
        return env


class AIJobStatus(PhasedStatus):
    """The phase machine's status plus the worker counts of the observed Job."""

    phase: AIJobPhase | None = Field(
        default=None, description="Pending, Running, Suspended, Succeeded or Failed."
    )
    active: int | None = Field(default=None, description="Worker Pods pending or running.")
    ready: int | None = Field(default=None, description="Worker Pods running and Ready.")
    succeeded: int | None = Field(default=None, description="Workers that completed.")
    failed: int | None = Field(default=None, description="Worker Pods that failed.")


class AIJobOptions(BaseModel):
    """Server-side settings of the aijob controller (`controllers.aijob.options`)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    gpu_resource: str = Field(default="nvidia.com/gpu", min_length=1)
    """Extended resource gpusPerWorker asks for; `amd.com/gpu` on AMD clusters."""
    master_port: int = Field(default=29500, ge=1, le=65535)
    """MASTER_PORT of every worker: torch.distributed's customary rendezvous port."""
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    """Delete a finished job's children this long after it ended, unless its spec says
    otherwise; None (the default) keeps them, so logs stay readable."""
    resync_seconds: int = Field(default=30, ge=1)
    """Resync period while the job is not finished; Job status changes also trigger syncs."""


AIJOB = Kind(
    kind="AIJob",
    plural="aijobs",
    spec=AIJobSpec,
    status=AIJobStatus,
    short_names=("aij",),
    description="An AIJob runs `workers` Pods of a training image as one Indexed Job, with the "
    "environment distributed frameworks expect.",
    printer_columns=(
        PrinterColumn("Workers", "integer", ".spec.workers"),
        PrinterColumn("Active", "integer", ".status.active"),
        PrinterColumn("Succeeded", "integer", ".status.succeeded"),
        PHASE_COLUMN,
        READY_COLUMN,
        REASON_COLUMN,
        AGE,
    ),
)
