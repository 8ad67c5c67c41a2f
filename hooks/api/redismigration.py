"""RedisMigration, from the kubecontroller notes: copy keys from one Redis to another with Jobs."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from hooks.sdk import (
    AGE,
    PHASE_COLUMN,
    READY_COLUMN,
    REASON_COLUMN,
    Image,
    Integer,
    KeySelector,
    Kind,
    KubeModel,
    PhasedStatus,
    PrinterColumn,
)

ENDPOINT_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(:[0-9]{1,5})?$"
"""An instance ID of the server's table (`ali-123`) or `host:port` (`redis.db.svc:6379`)."""

ADDRESS_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?:[0-9]{1,5}$"

RedisMigrationPhase = Literal["Pending", "Precheck", "Run", "Succeeded", "PreFailed", "Failed"]


class RedisMigrationSpec(KubeModel):
    """The seed's `source` and `dest`, plus what a real migration needs."""

    source: str = Field(
        max_length=253,
        pattern=ENDPOINT_PATTERN,
        description="Redis to copy from: an instance ID of the server's table, or host:port.",
    )
    dest: str = Field(
        max_length=253,
        pattern=ENDPOINT_PATTERN,
        description="Redis to copy to: an instance ID of the server's table, or host:port.",
    )
    source_password: KeySelector | None = Field(
        default=None, description="Secret key holding the source's password, if it has one."
    )
    dest_password: KeySelector | None = Field(
        default=None, description="Secret key holding the dest's password, if it has one."
    )
    image: Image | None = Field(
        default=None,
        description="Image with sh and redis-cli; the server's default (redis:7-alpine) if unset.",
    )
    key_pattern: str = Field(
        default="*",
        min_length=1,
        description="Copy only the keys matching this glob (SCAN MATCH); every key by default.",
    )
    source_database: Integer = Field(
        default=0, ge=0, le=2**31 - 1, description="Database number at the source."
    )
    dest_database: Integer = Field(
        default=0, ge=0, le=2**31 - 1, description="Database number at the dest."
    )
    batch_size: Integer = Field(
        default=100, ge=1, le=10000, description="Keys copied by one MIGRATE command."
    )
    timeout_milliseconds: Integer = Field(
        default=5000,
        ge=100,
        le=600000,
        description="MIGRATE timeout: the longest the source may wait on the dest for one batch.",
    )
    backoff_limit: Integer = Field(
        default=2, ge=0, le=20, description="Retries of each Job before its phase fails."
    )
    active_deadline_seconds: Integer | None = Field(
        default=None,
        ge=1,
        description="Fail the migration Job if it runs longer than this.",
    )
    ttl_seconds_after_finished: Integer | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="Delete the Jobs this long after the migration ended (status stays); "
        "default: the server's setting, else keep them.",
    )

    @model_validator(mode="after")
    def _two_ends(self) -> RedisMigrationSpec:
        if self.source == self.dest and self.source_database == self.dest_database:
            raise ValueError("source and dest are the same instance and database")
        return self


class RedisMigrationStatus(PhasedStatus):
    """The phase machine's status."""

    phase: RedisMigrationPhase | None = Field(
        default=None, description="Pending, Precheck, Run, Succeeded, PreFailed or Failed."
    )


class RedisMigrationOptions(BaseModel):
    """Server-side settings of the redismigration controller (`controllers.redismigration.options`).

    Instance IDs keep addresses out of users' specs: a RedisMigration names `ali-123` and the
    operator of the server decides where that is.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    instances: dict[str, str] = Field(default_factory=dict)
    """Instance ID -> host:port, such as `{ali-123: "10.0.0.5:6379"}`. Empty by default: only
    host:port endpoints work until the table is filled."""
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    """Delete a finished migration's Jobs this long after it ended, unless its spec says
    otherwise; None (the default) keeps them, so their logs stay readable."""
    resync_seconds: int = Field(default=30, ge=1)
    """Resync period while a Job runs. Job status changes already trigger a sync; this is a
    safety net, 30 s being cheap for a hook that answers in milliseconds."""

    @field_validator("instances")
    @classmethod
    def _addresses(cls, instances: dict[str, str]) -> dict[str, str]:
        for name, address in instances.items():
            if not re.fullmatch(ADDRESS_PATTERN, address):
                raise ValueError(f"instance {name!r}: {address!r} is not host:port")
        return instances


REDISMIGRATION = Kind(
    kind="RedisMigration",
    plural="redismigrations",
    spec=RedisMigrationSpec,
    status=RedisMigrationStatus,
    short_names=("rmig",),
    description="A RedisMigration copies keys from one Redis to another: a precheck Job, then a "
    "migration Job.",
    printer_columns=(
        PrinterColumn("Source", "string", ".spec.source"),
        PrinterColumn("Dest", "string", ".spec.dest"),
        PHASE_COLUMN,
        READY_COLUMN,
        REASON_COLUMN,
        AGE,
    ),
)
