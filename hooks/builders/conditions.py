"""metav1.Condition handling: one place that keeps lastTransitionTime stable.

Metacontroller overwrites the top-level `status.observedGeneration`, so each condition carries
its own `observedGeneration`, as the Kubernetes API conventions recommend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

READY = "Ready"
AVAILABLE = "Available"
PROGRESSING = "Progressing"
SCHEDULED = "Scheduled"
SUCCEEDED = "Succeeded"
FAILED = "Failed"

REASON_INVALID_SPEC = "InvalidSpec"
REASON_RESOURCE_EXISTS = "ResourceExists"
REASON_TERMINATING = "Terminating"


def format_time(moment: datetime) -> str:
    """Return an RFC 3339 UTC timestamp with seconds precision, as the API server writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_word(value: bool | str) -> str:
    """Return the condition status string for a boolean (strings such as Unknown pass through)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return value


class Conditions:
    """Builds the `status.conditions` list of one answer from the conditions observed on the parent.

    Conditions keep the order in which they are set, so output is deterministic.
    """

    def __init__(self, previous: Any, generation: int, now: datetime) -> None:
        self._previous: dict[str, dict[str, Any]] = {}
        if isinstance(previous, list):
            for item in previous:
                if isinstance(item, dict) and isinstance(item.get("type"), str):
                    self._previous[item["type"]] = item
        self._generation = generation
        self._moment = now
        self._now = ""
        """`now` as written, made when a first condition changes (in a steady state, none does)."""
        self._current: dict[str, dict[str, Any]] = {}

    def set(self, type_: str, status: bool | str, reason: str, message: str) -> None:
        """Set one condition; its lastTransitionTime moves only when its status changes."""
        word = status_word(status)
        before = self._previous.get(type_)
        if before is not None and before.get("status") == word and before.get("lastTransitionTime"):
            since = str(before["lastTransitionTime"])
        else:
            since = self._now = self._now or format_time(self._moment)
        self._current[type_] = {
            "type": type_,
            "status": word,
            "reason": reason,
            "message": message,
            "lastTransitionTime": since,
            "observedGeneration": self._generation,
        }

    def get(self, type_: str) -> dict[str, Any] | None:
        """Return a condition set in this answer."""
        return self._current.get(type_)

    def to_list(self) -> list[dict[str, Any]]:
        """Return the conditions set so far."""
        return list(self._current.values())
