"""Bounded cost per call (issue 13, item 6): no schedule query exceeds a fixed step budget.

Steps are counted here on the cron library itself, independently of the module's own charging:
every pass of croniter's search loop moves a field through one of its helpers (counted one
each), and every search started counts `_SEARCH_STEPS` (its fixed work). The property test
generates specs of every shape the spec model admits (up to 20 jobs and 50 exclusions, 5 and 6
fields, `L`, `W`, `#`, names, rare dates) and checks each query stays within `STEP_BUDGET`,
answering or refusing the spec with a clear ScheduleError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from croniter import croniter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hooks import schedule
from hooks.api.cronscaler import MAX_EXCLUSIONS, MAX_JOBS
from hooks.schedule import (
    STEP_BUDGET,
    Job,
    ScheduleError,
    fires_around,
    last_fire,
    next_fire,
    resync_after_seconds,
    validate,
)
from tests.test_schedule import scenarios

SEARCH_STEPS = 10
_HELPERS = (
    "_get_next_nearest_diff",
    "_get_prev_nearest_diff",
    "_get_nth_weekday_of_month",
    "_get_nearest_weekday",
)


@contextmanager
def library_steps() -> Iterator[list[int]]:
    """Count croniter's search passes and searches while the block runs: ``[steps]``."""
    count = [0]
    saved = {name: croniter.__dict__[name] for name in (*_HELPERS, "_calc", "_get_next")}

    def counted(function: Callable[..., Any], weight: int) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count[0] += weight
            return function(*args, **kwargs)

        return wrapper

    try:
        for name in _HELPERS:
            setattr(croniter, name, staticmethod(counted(saved[name].__func__, 1)))
        croniter._calc = counted(saved["_calc"], 1)
        croniter._get_next = counted(saved["_get_next"], SEARCH_STEPS)
        yield count
    finally:
        for name, value in saved.items():
            setattr(croniter, name, value)


def _number(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


def _field(low: int, high: int, extra: list[str]) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    item = st.one_of(
        number.map(str),
        st.tuples(number, number).map(lambda p: f"{min(p)}-{max(p)}"),
        st.tuples(number, number, st.integers(1, high - low + 1)).map(
            lambda p: f"{min(p[:2])}-{max(p[:2])}/{p[2]}"
        ),
        st.integers(1, high - low + 1).map(lambda n: f"*/{n}"),
        *(st.just(e) for e in extra),
    )
    return st.one_of(st.just("*"), item, st.lists(item, min_size=2, max_size=3).map(",".join))


DAY_OF_MONTH = _field(1, 31, ["L", "15W", "1W", "29", "30", "31"])
MONTH = _field(1, 12, ["FEB", "JAN-MAR"])
DAY_OF_WEEK = _field(0, 6, ["1#5", "MON#5", "SUN#1", "5#4", "?", "MON-FRI"])
RARE = st.sampled_from(
    ["0 0 29 2 1#5", "0 0 29 2 1", "0 0 29 2 *", "0 0 31 */2 *", "0 0 L 2 MON#5", "0 0 29 2 ?"]
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 3)) == 0:
        return draw(RARE)
    seconds = [draw(_field(0, 59, []))] if draw(st.booleans()) else []
    fields = [
        *seconds,
        draw(_field(0, 59, [])),
        draw(_field(0, 23, [])),
        draw(DAY_OF_MONTH),
        draw(MONTH),
        draw(DAY_OF_WEEK),
    ]
    return " ".join(fields)


@st.composite
def specs(draw: st.DrawFn) -> tuple[list[Job], list[str], str, datetime]:
    large = draw(st.booleans())
    jobs = [
        Job(f"job{i}", expression, 1)
        for i, expression in enumerate(
            draw(st.lists(expressions(), min_size=1, max_size=MAX_JOBS if large else 3))
        )
    ]
    dates = st.dates(datetime(2024, 1, 1).date(), datetime(2027, 12, 31).date()).map(str)
    exclude = draw(
        st.lists(st.one_of(expressions(), dates), max_size=MAX_EXCLUSIONS if large else 3)
    )
    zone = draw(st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Tokyo"]))
    now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 4 * 365 * 86400))
    )
    return jobs, exclude, zone, now


EVERY_MINUTE = [Job(f"j{i}", "* * * * *", 1) for i in range(MAX_JOBS)]
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
# Before the budget: about 4 s per query (each date judged by 49 searches of two years).
@example((EVERY_MINUTE, ["0 0 29 2 1#5"] * 49 + ["* * * * *"], "UTC", NOW))
# Before the budget: 20 jobs whose every fire lands on an excluded date, 183 runs each.
@example(
    ([Job(f"j{m}", f"{m} 0 */2 * *", 1) for m in range(MAX_JOBS)], ["0 0 */2 * *"], "UTC", NOW)
)
# Every date excluded.
@example((EVERY_MINUTE, ["0 0 * * *"] * MAX_EXCLUSIONS, "Europe/Berlin", NOW))
def test_no_query_exceeds_the_step_budget(
    spec: tuple[list[Job], list[str], str, datetime],
) -> None:
    jobs, exclude, zone, now = spec
    try:
        validate(jobs, zone, exclude)
    except ScheduleError:
        return  # refused up front: its queries are never run
    schedule._AROUND.clear()  # fires_around from scratch, as on a first call
    queries = [(last_fire, 1), (next_fire, 1), (resync_after_seconds, 1), (fires_around, 2)]
    for query, budgets in queries:
        with library_steps() as steps:
            try:
                query(jobs, now=now, time_zone=zone, exclude=exclude)
            except ScheduleError as err:
                assert "search steps" in err.message
                # Small specs are never refused: the budget leaves room for every real one.
                assert len(jobs) > 3 or len(exclude) > 3, err
        assert steps[0] <= budgets * STEP_BUDGET


def test_validation_needs_few_steps_even_for_rare_schedules() -> None:
    for rare in ("0 0 29 2 1#5", "0 0 28 10 MON#5", "*/7 */3 */5 29 2 1#5", "0 0 29 2 1"):
        schedule._cron_problem.cache_clear()
        with library_steps() as steps:
            try:
                validate([Job("rare", rare, 1)])
            except ScheduleError as err:
                assert err.message.endswith("never fires")
        assert steps[0] <= schedule.VALIDATION_STEPS


def test_a_schedule_too_rare_to_find_within_the_validation_steps_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(schedule, "VALIDATION_STEPS", 60)
    schedule._cron_problem.cache_clear()
    try:
        with pytest.raises(ScheduleError, match="fires too rarely: .* more than 60 search steps"):
            validate([Job("leap-monday", "0 0 29 2 1#5", 1)])
        validate([Job("daily", "0 8 * * *", 1)])
    finally:
        schedule._cron_problem.cache_clear()


def test_jobs_with_the_same_schedule_are_searched_once() -> None:
    with library_steps() as one:
        last_fire(EVERY_MINUTE[:1], now=NOW)
    with library_steps() as twenty:
        last_fire(EVERY_MINUTE, now=NOW)
    assert twenty[0] == one[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(),
    st.lists(st.integers(-3 * 86400, 3 * 86400), min_size=1, max_size=6),
)
def test_fires_around_remembers_nothing_that_changes_an_answer(
    scenario: tuple[str, datetime, list[str], list[str]], offsets: list[int]
) -> None:
    # Resyncs at later (and, from another replica's clock, earlier) instants: every answer
    # from the memory must be the one a fresh search gives.
    zone, now, schedule_list, exclude = scenario
    jobs = [Job(f"job{i}", s, i) for i, s in enumerate(schedule_list)]
    for offset in [0, *offsets]:
        at = now + timedelta(seconds=offset)
        expected = (
            last_fire(jobs, now=at, time_zone=zone, exclude=exclude),
            next_fire(jobs, now=at, time_zone=zone, exclude=exclude),
        )
        assert fires_around(jobs, now=at, time_zone=zone, exclude=exclude) == expected


def test_a_resync_before_the_next_fire_searches_nothing() -> None:
    jobs = [Job("morning", "0 8 * * 1-5", 5), Job("evening", "0 20 * * 1-5", 2)]
    fires_around(jobs, now=NOW, time_zone="Europe/Berlin")
    with library_steps() as steps:
        last, upcoming = fires_around(
            jobs, now=NOW + timedelta(minutes=30), time_zone="Europe/Berlin"
        )
    assert steps[0] == 0
    assert last is not None and upcoming is not None and last.at <= NOW < upcoming.at
