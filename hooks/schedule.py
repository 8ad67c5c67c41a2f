"""Scheduling core of the CronScaler controller: which size applies now, and when to look again.

Pure functions with no clock reads: ``now`` is always an argument (an aware datetime), so the
controller stays level-triggered and every answer is reproducible in tests.

Cron expressions
    5 fields: ``minute hour day-of-month month day-of-week``.
    6 fields: ``second minute hour day-of-month month day-of-week`` (seconds come FIRST, as in
    Quartz and cronsim; croniter's default puts them last, so it is configured explicitly).
    Standard syntax (``*``, lists, ranges, ``*/N``, names such as ``MON`` or ``JAN``) plus the
    library's ``L`` (last day of month), ``15W`` and ``MON#2``. ``*/N`` counts from the start of
    the field's range and restarts in every enclosing unit: ``*/7`` in the minute field fires at
    minutes 0, 7, ..., 56 of every hour. A range may wrap (``22-2`` in the hour field is 22, 23,
    0, 1, 2); a one-value range ``5-5`` is just 5 (croniter alone would read it as the whole
    field). When both day-of-month and day-of-week are restricted, either may match (classic
    cron OR). ``@daily``-style macros, 7-field (year) expressions and the non-deterministic
    ``R``/hashed ``H`` tokens are rejected.

Time zones and DST
    Schedules are read on the wall clock of the object's IANA time zone (default UTC):
    * a wall-clock time that happens twice (autumn overlap) fires at BOTH real instants: with
      ``30 2 * * *`` in Europe/Berlin on 2026-10-25 that is 00:30Z and 01:30Z (Kubernetes
      CronJob/robfig cron do the same);
    * a wall-clock time that does not exist (spring-forward gap) fires once, in the first minute
      after the gap, so that a daily scale action is never lost: ``30 2 * * *`` in Europe/Berlin
      on 2026-03-29 fires at 03:00 CEST (01:00Z), as Vixie/Debian cron "run immediately" would
      (robfig cron would skip the day). The exception is a schedule whose hour field covers every
      hour (``*``, ``0-23``, ``*/1``): its fires inside the missing hour are simply skipped.
    This is croniter's behaviour; the tests pin it and check it against an independent
    minute-by-minute simulation. Known library limitation: in zones whose clocks go back by
    30 minutes (Australia/Lord_Howe) or by 2 hours or more (rare one-off changes such as
    Antarctica/Casey in 2023), croniter sees only one of the two passes of the repeated wall
    clock, so a fire inside that repetition may be missed.

Decisions
    * Latest fire wins: for each job take its last fire at or before ``now`` (searching back at
      most ``LOOKBACK``); the newest one decides the size. When fires coincide, the job listed
      LATER in ``spec.jobs`` wins (the same tie rule applies to ``next_fire``).
    * ``excludeDates`` entries are dates (``YYYY-MM-DD``) or cron expressions; a cron entry
      excludes every local date on which it would fire at least once (``* * * * 6,0`` excludes
      weekends, ``0 0 25 12 *`` Christmas). A fire whose local date is excluded does not happen.

Cost
    Every search step (a pass of croniter's loop, a round of this module's loops) is charged to
    a fixed budget per query (``STEP_BUDGET``; ``VALIDATION_STEPS`` to find a first fire), and
    a spec that would need more is refused with ScheduleError rather than holding a worker.
    Parsed expressions, validation results and, per schedule, the two fires around the last
    ``now`` asked (``fires_around``) are remembered, so a typical sync searches nothing.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from croniter import CroniterBadDateError, croniter

__all__ = [
    "LOOKAHEAD",
    "LOOKBACK",
    "STEP_BUDGET",
    "VALIDATION_STEPS",
    "Fire",
    "Job",
    "ScheduleError",
    "fires_around",
    "last_fire",
    "next_fire",
    "resync_after",
    "resync_after_seconds",
    "validate",
    "validate_time_zone",
]

LOOKBACK = timedelta(days=367)
"""How far back a job's last fire is searched: a year (366 days in leap years) plus a day.

A job that has not fired within it counts as not fired, which bounds the work per call."""

LOOKAHEAD = timedelta(days=367)
"""How far ahead ``next_fire`` searches; beyond it there is no next fire."""

_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# croniter's random "R" and hashed "H" tokens would make answers differ from call to call.
_NONDETERMINISTIC = re.compile(r"(?i)(?:^|[,/\-])[RH](?:$|[(,/\-])")
_PROBE_START = datetime(2000, 1, 1, tzinfo=UTC)
# How many dates one exclusion search may mark clear: the span of one query's window.
_MEMO_SPAN_DAYS = 2 * 367 + 2
# Years croniter may search between two fires. Queries never look further than ~1 year, so 2
# keeps a never-firing field combination cheap; validation uses 50 to recognise rare schedules
# (29 February on a Monday) as valid.
_QUERY_GAP_YEARS = 2
_VALIDATION_GAP_YEARS = 50
# Parsed croniter objects by (expression, max_gap_years); cleared when full. Values are opaque
# library objects, only ever copied.
_PARSED: dict[tuple[str, int], Any] = {}
_PARSED_MAX = 1024

STEP_BUDGET = 10_000
"""Most search steps one public query (`last_fire`, `next_fire`, `resync_after_seconds`) may take
(`fires_around`, which answers two, twice as many).

A step is one pass of the cron library's search loop (each field it moves costs one), one
round of this module's own loops over fires and days, a tenth of the fixed work of starting a
search (`_SEARCH_STEPS`) or ten dates an exclusion search marks clear. The work of a query is
proportional to its steps, so a spec whose evaluation would need more is refused
(`ScheduleError`, which the controller turns into InvalidSpec and keeps its children) instead of
holding a worker: without the bound, 20 every-minute jobs with 50 rare exclusions took about 4 s
per call. The costliest specs known (every date excluded) need about 6,000 per query; typical
ones a few dozen."""

VALIDATION_STEPS = 2_000
"""Most search steps `validate` spends finding a schedule's or exclusion's first fire; one that
fires more rarely than this can find is refused. The rarest fires known need a few hundred:
29 February on the fifth Monday of February takes 128 from 2000, and proving that 28 October
is never a fifth Monday takes 355 (50 years, month by month)."""


_SEARCH_STEPS = 10
"""What starting one library search costs, in steps: its fixed work (copying the parsed
expression, time zone arithmetic) is about ten passes of its loop."""


class _OverBudget(Exception):
    """Raised by `_Steps.charge` when a query uses up its steps; never leaves this module."""


class _Steps:
    """The step budget of one query: each search step charges one."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, count: int = 1) -> None:
        self.used += count
        if self.used > self.limit:
            raise _OverBudget


class _CountedCron(croniter):  # type: ignore[misc]
    """croniter whose search charges each step to ``steps``: a pass of its `_calc` loop moves at
    least one field, and every move goes through one of the helpers below."""

    steps = _Steps(limit=2**62)  # replaced on every copy that runs a query

    def _calc(self, *args: Any) -> Any:
        self.steps.charge()
        return super()._calc(*args)

    def _get_next_nearest_diff(self, *args: Any) -> Any:
        self.steps.charge()
        return croniter._get_next_nearest_diff(*args)

    def _get_prev_nearest_diff(self, *args: Any) -> Any:
        self.steps.charge()
        return croniter._get_prev_nearest_diff(*args)

    def _get_nth_weekday_of_month(self, *args: Any) -> Any:
        self.steps.charge()
        return croniter._get_nth_weekday_of_month(*args)

    def _get_nearest_weekday(self, *args: Any) -> Any:
        self.steps.charge()
        return croniter._get_nearest_weekday(*args)


@dataclass(frozen=True)
class Job:
    """One entry of ``spec.jobs``: at each fire of ``schedule`` the target is scaled to ``size``."""

    name: str
    schedule: str
    size: int


@dataclass(frozen=True)
class Fire:
    """A job firing at instant ``at`` (aware, UTC)."""

    job: Job
    at: datetime


class ScheduleError(ValueError):
    """A schedule, time zone or exclusion is invalid; ``job`` names the offending field.

    ``job`` is the job's name, ``"timeZone"`` or ``"excludeDates[i]"`` so that the controller
    can point the user at the exact place in the spec.
    """

    def __init__(self, job: str, message: str) -> None:
        super().__init__(job, message)
        self.job = job
        self.message = message

    def __str__(self) -> str:
        return f"{self.job}: {self.message}"


class _BadCron(ValueError):
    """Raised by ``_cron_fires`` for an expression it cannot use; callers add the field name."""


def _without_one_value_ranges(field: str) -> str:
    """Rewrite ranges of one value ("5-5", "05-5/2", "MON-MON") to that value.

    Standard cron reads "5-5" as 5, but croniter reads a range whose ends are equal as the
    whole field ("5-5" in the minute field would fire every minute).
    """
    items = []
    for item in field.split(","):
        base = item.partition("/")[0]
        low, dash, high = base.partition("-")
        same = low.isdigit() and high.isdigit() and int(low) == int(high)
        items.append(low if low and dash and (same or low.lower() == high.lower()) else item)
    return ",".join(items)


def _cron_fires(
    schedule: str,
    tz: zoneinfo.ZoneInfo,
    start: datetime,
    *,
    reverse: bool,
    steps: _Steps,
    max_gap_years: int = _QUERY_GAP_YEARS,
) -> Iterator[datetime]:
    """Fires of ``schedule`` strictly after ``start`` (strictly before it when ``reverse``).

    This is the only code that touches the cron library, so it can be swapped here alone; a
    replacement must keep the field order and DST behaviour described in the module docstring
    (the tests pin both). Fires come as aware UTC datetimes in strictly monotonic order; the
    iterator ends when no fire exists within ``max_gap_years`` of the previous one. Every search
    step is charged to ``steps`` (`_OverBudget` once it is used up). Raises ``_BadCron``
    (eagerly, before iteration) for an expression it rejects.
    """
    fields = schedule.split() if isinstance(schedule, str) else []
    if len(fields) not in (5, 6):
        raise _BadCron(
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 fields "
            f"(second minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    if any(_NONDETERMINISTIC.search(field) for field in fields):
        raise _BadCron("random (R) and hashed (H) values are not supported")
    fields = [_without_one_value_ranges(field) for field in fields]
    key = (" ".join(fields), max_gap_years)
    template = _PARSED.get(key)
    if template is None:
        try:
            template = _CountedCron(
                key[0],
                _PROBE_START,
                second_at_beginning=len(fields) == 6,
                max_years_between_matches=max_gap_years,
            )
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # croniter's parse errors
            raise _BadCron(str(exc) or type(exc).__name__) from exc
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = template
    # Parsing dominates croniter's cost, so each query iterates a shallow copy of the parsed
    # template (croniter only reads its parsed fields), which is also safe across threads.
    cron = copy.copy(template)
    cron.steps = steps
    cron.set_current(start.astimezone(tz), force=True)

    def fires() -> Iterator[datetime]:
        last = start
        stalls = 0
        while stalls < 3:  # defensive: never spin if the library stops making progress
            steps.charge(_SEARCH_STEPS)
            try:
                found: datetime = cron.get_prev(datetime) if reverse else cron.get_next(datetime)
            except CroniterBadDateError:
                return
            at = found.astimezone(UTC)
            if (at < last) if reverse else (at > last):
                stalls = 0
                last = at
                yield at
            else:
                stalls += 1

    return fires()


@functools.cache
def _known_zones() -> frozenset[str]:
    # "localtime"/"posixrules" are machine-specific files that some systems keep in the tz path.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules"})


def validate_time_zone(name: str) -> zoneinfo.ZoneInfo:
    """Return the IANA zone ``name``; raise ``ScheduleError(job="timeZone")`` if unknown.

    Only names in the IANA database are accepted, never file paths or ``localtime``, so the
    answer does not depend on the machine the hook runs on.
    """
    if not isinstance(name, str) or name not in _known_zones():
        raise ScheduleError("timeZone", f"unknown IANA time zone {name!r}")
    return zoneinfo.ZoneInfo(name)


def _check_cron(label: str, what: str, expression: str) -> None:
    """Raise ScheduleError if ``expression`` is rejected, can never fire, or fires so rarely
    that its first fire takes more than ``VALIDATION_STEPS`` steps to find."""
    if not isinstance(expression, str):
        raise ScheduleError(label, f"invalid {what} {expression!r}: expected a string")
    invalid, problem = _cron_problem(expression)
    if invalid:
        raise ScheduleError(label, f"invalid {what} {expression!r}: {problem}")
    if problem:
        raise ScheduleError(label, f"{what} {expression!r} {problem}")


@functools.lru_cache(maxsize=_PARSED_MAX)
def _cron_problem(expression: str) -> tuple[bool, str]:
    """(whether ``expression`` is invalid, what makes it unusable), ``(False, "")`` if usable.

    Cached: the answer depends on the text alone (the probe is in UTC from a fixed instant),
    and every sync validates its spec."""
    steps = _Steps(VALIDATION_STEPS)
    try:
        fires = _cron_fires(
            expression,
            zoneinfo.ZoneInfo("UTC"),
            _PROBE_START,
            reverse=False,
            steps=steps,
            max_gap_years=_VALIDATION_GAP_YEARS,
        )
        first = next(fires, None)
    except _BadCron as exc:
        return True, str(exc)
    except _OverBudget:
        return False, (
            f"fires too rarely: its first fire takes more than {VALIDATION_STEPS} search steps "
            "to find"
        )
    return False, "never fires" if first is None else ""


def validate(jobs: Sequence[Job], time_zone: str = "UTC", exclude: Sequence[str] = ()) -> None:
    """Check a whole CronScaler spec up front; raise ScheduleError for the first bad field.

    Checks, in order: the time zone, then each job (non-empty unique name, non-negative integer
    size, valid schedule that can fire), then each ``excludeDates`` entry.
    """
    validate_time_zone(time_zone)
    seen: set[str] = set()
    for job in jobs:
        if not isinstance(job.name, str) or not job.name:
            raise ScheduleError(str(job.name), "job name must be a non-empty string")
        if job.name in seen:
            raise ScheduleError(job.name, "duplicate job name")
        seen.add(job.name)
        if isinstance(job.size, bool) or not isinstance(job.size, int) or job.size < 0:
            raise ScheduleError(job.name, f"size must be a non-negative integer, got {job.size!r}")
        _check_cron(job.name, "schedule", job.schedule)
    for index, entry in enumerate(exclude):
        label = f"excludeDates[{index}]"
        if not isinstance(entry, str):
            raise ScheduleError(label, f"expected a date or a cron expression, got {entry!r}")
        if _DATE_RE.fullmatch(entry.strip()):
            try:
                date.fromisoformat(entry.strip())
            except ValueError as exc:
                raise ScheduleError(label, f"invalid date {entry!r}: {exc}") from None
        else:
            _check_cron(label, "exclusion (neither a YYYY-MM-DD date nor a cron expression)", entry)


def _day_start(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    """First instant (UTC) whose local date is ``day`` or later."""
    midnight = datetime.combine(day, time())
    first = midnight.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first of two midnights
    if first.astimezone(tz).replace(tzinfo=None) == midnight:
        return first
    # DST skips this midnight: the day starts at the transition, which lies between the two
    # readings of the missing wall time (fold=1 uses the offset after the jump: the earlier one).
    low, high = midnight.replace(tzinfo=tz, fold=1).astimezone(UTC), first
    while high - low > _SECOND:
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if middle.astimezone(tz).date() >= day:
            high = middle
        else:
            low = middle
    return high


class _Exclusions:
    """The ``excludeDates`` entries of one query, with a memo of the dates judged so far.

    Each cron search answers a whole run of dates: the first fire at or after a date (the last
    one at or before it, when walking back) clears every date in between, so a rare exclusion
    costs one search per query rather than one per date.
    """

    def __init__(self, entries: Sequence[str], tz: zoneinfo.ZoneInfo, steps: _Steps) -> None:
        self._tz = tz
        self._steps = steps
        self._dates: set[date] = set()
        self._crons: list[tuple[str, str, dict[date, bool]]] = []
        for index, entry in enumerate(entries):
            label = f"excludeDates[{index}]"
            text = entry.strip() if isinstance(entry, str) else ""
            if _DATE_RE.fullmatch(text):
                try:
                    self._dates.add(date.fromisoformat(text))
                except ValueError as exc:
                    raise ScheduleError(label, f"invalid date {entry!r}: {exc}") from None
            elif all(entry != known for _, known, _ in self._crons):  # twins: judged once
                self._crons.append((label, entry, {}))
        self._edges: dict[tuple[date, bool], date] = {}

    def run_edge(self, day: date, limit: date, *, reverse: bool) -> date:
        """The first (``reverse``) or last excluded date of the run of excluded dates holding
        ``day``, going no further than ``limit``. Memoised, so that every job crossing the
        same run walks it once per query."""
        step = -_DAY if reverse else _DAY
        walked = []
        edge = day
        while (edge, reverse) not in self._edges:
            walked.append(edge)
            if edge == limit or not self.excludes(edge + step, reverse=reverse):
                break
            self._steps.charge()
            edge += step
        edge = self._edges.get((edge, reverse), edge)
        for seen in walked:
            self._edges[seen, reverse] = edge
        return edge

    def excludes(self, day: date, *, reverse: bool) -> bool:
        """Whether ``day`` is excluded; ``reverse`` says which way the caller walks."""
        if day in self._dates:
            return True
        return any(self._cron_hits(label, e, memo, day, reverse) for label, e, memo in self._crons)

    def _cron_hits(
        self, label: str, expression: str, memo: dict[date, bool], day: date, reverse: bool
    ) -> bool:
        if day in memo:
            return memo[day]
        if reverse:  # the last fire before the next day starts
            start = _day_start(day + _DAY, self._tz)
        else:  # the first fire from the day's first instant on
            start = _day_start(day, self._tz) - _SECOND
        try:
            fires = _cron_fires(expression, self._tz, start, reverse=reverse, steps=self._steps)
        except _BadCron as exc:
            raise ScheduleError(label, f"invalid exclusion {expression!r}: {exc}") from None
        found = next(fires, None)
        hit = found.astimezone(self._tz).date() if found is not None else None
        step = -_DAY if reverse else _DAY
        # Every date from ``day`` up to the fire's date is clear (within the search window).
        clear, span = day, 0
        while clear != hit and span <= _MEMO_SPAN_DAYS:
            memo[clear] = False
            clear, span = clear + step, span + 1
        self._steps.charge(span // 10)  # a date marked is about a tenth of a search pass
        if hit is not None:
            memo[hit] = True
        return memo[day]


@contextlib.contextmanager
def _budgeted() -> Iterator[None]:
    """Turn a query's exhausted step budget into the ScheduleError the controller reports."""
    try:
        yield
    except _OverBudget:
        raise ScheduleError(
            "jobs",
            f"the schedules and excludeDates take more than {STEP_BUDGET} search steps to "
            "evaluate; use fewer jobs or exclusions, or ones that fire more often",
        ) from None


def _as_utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _job_fires(
    job: Job, tz: zoneinfo.ZoneInfo, start: datetime, reverse: bool, steps: _Steps
) -> Iterator[datetime]:
    try:
        return _cron_fires(job.schedule, tz, start, reverse=reverse, steps=steps)
    except _BadCron as exc:
        raise ScheduleError(job.name, f"invalid schedule {job.schedule!r}: {exc}") from None


def _last_of(
    job: Job, tz: zoneinfo.ZoneInfo, now: datetime, excluded: _Exclusions, steps: _Steps
) -> datetime | None:
    """The job's newest non-excluded fire in [now - LOOKBACK, now], or None."""
    floor = now - LOOKBACK
    first_day = floor.astimezone(tz).date()
    # Fires are whole seconds, so "at or before now" is "strictly before the next second".
    start = now.replace(microsecond=0) + _SECOND
    while True:
        at = next(_job_fires(job, tz, start, reverse=True, steps=steps), None)
        if at is None or at < floor:
            return None
        day = at.astimezone(tz).date()
        if not excluded.excludes(day, reverse=True):
            return at
        # Skip the whole run of excluded days in one jump: fires strictly before its first
        # instant (min() guarantees progress should a zone's dates ever run backwards).
        day = excluded.run_edge(day, first_day, reverse=True)
        start = min(_day_start(day, tz), at)


def _next_of(
    job: Job,
    tz: zoneinfo.ZoneInfo,
    now: datetime,
    excluded: _Exclusions,
    horizon: timedelta,
    steps: _Steps,
) -> datetime | None:
    """The job's earliest non-excluded fire in (now, now + horizon], or None."""
    ceiling = now + horizon
    last_day = ceiling.astimezone(tz).date()
    start = now.replace(microsecond=0)
    while True:
        at = next(_job_fires(job, tz, start, reverse=False, steps=steps), None)
        if at is None or at > ceiling:
            return None
        day = at.astimezone(tz).date()
        if not excluded.excludes(day, reverse=False):
            return at
        # Resume after the whole run of excluded days: fires strictly after its last second.
        day = excluded.run_edge(day, last_day, reverse=False)
        start = max(_day_start(day + _DAY, tz) - _SECOND, at)


def last_fire(
    jobs: Sequence[Job],
    *,
    now: datetime,
    time_zone: str = "UTC",
    exclude: Sequence[str] = (),
) -> Fire | None:
    """The fire that decides the size at ``now``: the newest fire at or before ``now``.

    Level-triggered "latest fire wins": each job contributes its last fire within ``LOOKBACK``
    (skipping excluded dates); the newest of those wins, and on an exact tie the job listed
    LATER in ``jobs`` wins, so a later, more specific entry can override a general one. None
    when no job fired within the window (the controller then leaves the size alone).
    """
    tz = validate_time_zone(time_zone)
    at_now = _as_utc(now)
    steps = _Steps(STEP_BUDGET)
    excluded = _Exclusions(exclude, tz, steps)
    best: Fire | None = None
    found: dict[str, datetime | None] = {}  # jobs with the same schedule fire together
    with _budgeted():
        for job in jobs:
            if job.schedule not in found:
                found[job.schedule] = _last_of(job, tz, at_now, excluded, steps)
            at = found[job.schedule]
            if at is not None and (best is None or at >= best.at):
                best = Fire(job, at)
    return best


def _next_fire(
    jobs: Sequence[Job], now: datetime, time_zone: str, exclude: Sequence[str], horizon: timedelta
) -> Fire | None:
    tz = validate_time_zone(time_zone)
    at_now = _as_utc(now)
    steps = _Steps(STEP_BUDGET)
    excluded = _Exclusions(exclude, tz, steps)
    best: Fire | None = None
    found: dict[str, datetime | None] = {}
    with _budgeted():
        for job in jobs:
            if job.schedule not in found:
                found[job.schedule] = _next_of(job, tz, at_now, excluded, horizon, steps)
            at = found[job.schedule]
            if at is not None and (best is None or at <= best.at):
                best = Fire(job, at)
    return best


def next_fire(
    jobs: Sequence[Job],
    *,
    now: datetime,
    time_zone: str = "UTC",
    exclude: Sequence[str] = (),
) -> Fire | None:
    """The earliest fire strictly after ``now`` within ``LOOKAHEAD``, skipping excluded dates.

    On a tie the job listed LATER wins, matching ``last_fire``: it is the job whose size will
    apply from that instant. None if nothing fires within the horizon.
    """
    return _next_fire(jobs, now, time_zone, exclude, LOOKAHEAD)


_AROUND: dict[tuple[str, str, tuple[str, ...]], tuple[datetime, datetime]] = {}
"""For each (schedule, time zone, exclusions): a job's last fire and the next one after it, as
last found (both within the windows). Nothing fires between the two, so for any ``now`` in
[last, next) the answer is known without a search. Cleared when full."""


def fires_around(
    jobs: Sequence[Job],
    *,
    now: datetime,
    time_zone: str = "UTC",
    exclude: Sequence[str] = (),
) -> tuple[Fire | None, Fire | None]:
    """``(last_fire(...), next_fire(...))`` for the same arguments, in one call that remembers,
    per schedule, the two fires around ``now``: the next call before the next fire (a resync,
    or Metacontroller's periodic one) searches nothing. Same answers, same tie rules."""
    tz = validate_time_zone(time_zone)
    at_now = _as_utc(now)
    steps = _Steps(2 * STEP_BUDGET)  # the budgets of the two queries it answers
    excluded: _Exclusions | None = None
    exclusions = tuple(exclude)
    last: Fire | None = None
    upcoming: Fire | None = None
    with _budgeted():
        for job in jobs:
            key = (job.schedule, time_zone, exclusions)
            known = _AROUND.get(key)
            before: datetime | None
            after: datetime | None
            if known is not None and known[0] <= at_now < known[1]:
                before, after = known
            else:
                excluded = excluded or _Exclusions(exclude, tz, steps)
                before = _last_of(job, tz, at_now, excluded, steps)
                after = _next_of(job, tz, at_now, excluded, LOOKAHEAD, steps)
                if before is not None and after is not None:
                    if len(_AROUND) >= _PARSED_MAX:
                        _AROUND.clear()
                    _AROUND[key] = (before, after)
            if before is not None and before >= at_now - LOOKBACK:
                if last is None or before >= last.at:
                    last = Fire(job, before)
            if after is not None and after <= at_now + LOOKAHEAD:
                if upcoming is None or after <= upcoming.at:
                    upcoming = Fire(job, after)
    return last, upcoming


def resync_after_seconds(
    jobs: Sequence[Job],
    *,
    now: datetime,
    time_zone: str = "UTC",
    exclude: Sequence[str] = (),
    margin: float = 1.0,
    cap: int = 3600,
) -> int | float:
    """Seconds until the controller should look again: just after the next fire, at most ``cap``.

    Returns ``(next fire - now) + margin`` so the resync lands safely after the fire (never more
    than ``margin`` past it), or ``cap`` when nothing fires within ``cap`` seconds; the periodic
    cap also bounds the work per call and heals any missed resync.
    """
    if cap <= 0:
        raise ValueError(f"cap must be > 0, got {cap!r}")
    upcoming = _next_fire(jobs, now, time_zone, exclude, timedelta(seconds=cap))
    return resync_after(upcoming, now=now, margin=margin, cap=cap)


def resync_after(
    upcoming: Fire | None, *, now: datetime, margin: float = 1.0, cap: int = 3600
) -> int | float:
    """`resync_after_seconds` for a next fire already found (by `next_fire`, whose horizon is at
    least ``cap``), so a caller that has it need not search again."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    if cap <= 0:
        raise ValueError(f"cap must be > 0, got {cap!r}")
    if upcoming is None:
        return cap
    wait = (upcoming.at - _as_utc(now)).total_seconds() + margin
    return cap if wait > cap else wait
