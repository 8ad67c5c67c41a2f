"""The status every phase-machine kind carries (see `hooks.phases`): phase, times, history.

Kinds subclass `PhasedStatus` and narrow `phase` to their own phases, so the CRD lists them.
"""

from __future__ import annotations

from pydantic import Field

from hooks.api.common import KubeModel, StatusBase
from hooks.api.kind import PrinterColumn
from hooks.phases import HISTORY_LIMIT

PHASE_COLUMN = PrinterColumn("Phase", "string", ".status.phase")


class PhaseTransition(KubeModel):
    """One transition the phase machine took."""

    from_: str = Field(alias="from", description="The phase left.")
    to: str = Field(description="The phase entered.")
    reason: str = Field(description="CamelCase reason of the transition.")
    time: str = Field(
        description="When it happened (an observed child's own time when it knew it).",
        json_schema_extra={"format": "date-time"},
    )


class PhasedStatus(StatusBase):
    """Phase, start and completion times, per-phase messages and the last transitions."""

    phase: str | None = Field(
        default=None, description="Convenience mirror of the conditions: the current phase."
    )
    start_time: str | None = Field(
        default=None,
        description="When the work started (the first transition out of Pending).",
        json_schema_extra={"format": "date-time"},
    )
    completion_time: str | None = Field(
        default=None,
        description="When a terminal phase was reached.",
        json_schema_extra={"format": "date-time"},
    )
    phase_messages: dict[str, str] | None = Field(
        default=None, description="The latest message of every phase visited, by phase."
    )
    history: list[PhaseTransition] | None = Field(
        default=None,
        max_length=HISTORY_LIMIT,
        description=f"The last {HISTORY_LIMIT} transitions, oldest first.",
    )
