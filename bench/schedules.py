"""The costliest CronScaler specs known, answered in process: the bound on one call's work.

`hooks.schedule` charges every search step to a fixed budget per query (`STEP_BUDGET`), so no
spec can make a call expensive; these are the specs that come closest (or that the budget
refuses), found while bounding it (issue 13, item 6). Each is a whole hook call, bytes in ->
bytes out, on the steady-state golden's request with the spec replaced, with nothing
remembered from earlier calls (a resync before the next fire searches nothing).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from bench.inprocess import _bound, core_answer
from bench.timing import Budget, per_call_us
from bench.workload import typical
from hooks import schedule
from hooks.api.cronscaler import MAX_EXCLUSIONS, MAX_JOBS
from hooks.runtime import BoundController
from hooks.settings import Settings

_TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}


def _jobs(schedules: list[str]) -> list[dict[str, Any]]:
    return [{"name": f"j{i}", "schedule": s, "size": 1} for i, s in enumerate(schedules)]


WORST_SPECS: dict[str, dict[str, Any]] = {
    "29 February on a fifth Monday": {"jobs": _jobs(["0 0 29 2 1#5"])},
    "20 jobs, 49 rare exclusions and every date": {
        "jobs": _jobs([f"{m} * * * *" for m in range(MAX_JOBS)]),
        "excludeDates": ["0 0 29 2 1#5"] * 49 + ["* * * * *"],
    },
    "20 jobs, every date excluded": {
        "jobs": _jobs([f"{m} * * * *" for m in range(MAX_JOBS)]),
        "excludeDates": [f"{m} 0 * * *" for m in range(MAX_EXCLUSIONS)],
    },
    "20 jobs firing on excluded dates only (refused)": {
        "jobs": _jobs([f"{m} 0 */2 * *" for m in range(MAX_JOBS)]),
        "excludeDates": ["0 0 */2 * *"],
    },
}
"""Before the budget, the second took about 4 s per call and the last about 1 s."""


@dataclass(frozen=True)
class ScheduleCost:
    """One spec's whole hook call, in microseconds."""

    spec: str
    us: float
    reason: str
    """The Ready condition's reason in the answer (InvalidSchedule when the budget refuses)."""

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "us": round(self.us, 1), "reason": self.reason}


def _first_call(bound: BoundController, raw: bytes, settings: Settings, now: datetime) -> bytes:
    """A call that finds nothing remembered: `hooks.schedule.fires_around` knows the fires
    around `now` after one call, so only a first call (or one after a fire) searches."""
    schedule._AROUND.clear()
    return core_answer(bound, raw, settings, now)


def measure_worst_schedules(budget: Budget) -> list[ScheduleCost]:
    """Answer each known-costly spec in process; the costliest first."""
    item = typical("cronscaler")
    settings = Settings.model_validate(item.config)
    bound = _bound("cronscaler", settings)
    found = []
    for name, spec in WORST_SPECS.items():
        request = orjson.loads(item.body)
        request["parent"]["spec"] = {"scaleTarget": _TARGET, **spec}
        raw = orjson.dumps(request)
        answer = orjson.loads(core_answer(bound, raw, settings, item.now))
        ready = [c for c in answer["status"]["conditions"] if c["type"] == "Ready"]
        us = per_call_us(functools.partial(_first_call, bound, raw, settings, item.now), budget)
        found.append(ScheduleCost(name, us, ready[0].get("reason", "") if ready else ""))
    return sorted(found, key=lambda cost: -cost.us)


def worst_schedules_table(costs: list[ScheduleCost]) -> str:
    """One line per spec, the costliest (the bound on a CronScaler call) first."""
    width = max(len(cost.spec) for cost in costs)
    return "\n".join(
        f"{c.spec:<{width}}  {c.us:>10.1f} us  "
        + ("refused (InvalidSchedule)" if c.reason == "InvalidSchedule" else "answered")
        for c in costs
    )
