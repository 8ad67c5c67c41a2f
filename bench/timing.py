"""Timing a call: median over rounds of the mean CPU time per call, with the collector on.

CPU time of this process (user + system), not wall time: the code measured is single-threaded,
so on an idle machine the two agree, and on a busy one (CI, other engineers' test runs on the
same cores) CPU time is not inflated by the time spent waiting for a core. The garbage collector
stays enabled (unlike `timeit`), because the server runs with it and part of what we measure is
how much garbage a hook call makes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How long to spend on one measured figure."""

    rounds: int
    seconds: float
    """Wall time for all rounds of one figure together (calls per round are sized to fit)."""
    min_calls: int = 1


QUICK = Budget(rounds=3, seconds=0.3)
FULL = Budget(rounds=7, seconds=2.0)


def per_call_us(fn: Callable[[], object], budget: Budget) -> float:
    """Return the median over `budget.rounds` rounds of the mean microseconds per call of `fn`."""
    fn()  # warm caches (imports, pydantic's lazily built validators, the allocator)
    start = time.process_time()
    fn()
    once = max(time.process_time() - start, 1e-7)
    calls = max(budget.min_calls, int(budget.seconds / budget.rounds / once))
    results = []
    for _ in range(budget.rounds):
        start = time.process_time_ns()
        for _ in range(calls):
            fn()
        results.append((time.process_time_ns() - start) / calls / 1000)
    return statistics.median(results)


def per_call_split_us(
    fn: Callable[[], Callable[[], object]], budget: Budget
) -> tuple[float, float]:
    """Return the median microseconds per call of `fn()` and of the function it returns.

    For a call in two parts, such as answering and then freeing the request once the answer
    is sent: each part is timed apart, the second right after the first.
    """
    fn()()
    start = time.process_time()
    fn()()
    once = max(time.process_time() - start, 1e-7)
    calls = max(budget.min_calls, int(budget.seconds / budget.rounds / once))
    firsts, seconds = [], []
    clock = time.process_time_ns
    for _ in range(budget.rounds):
        first = second = 0
        for _ in range(calls):
            t0 = clock()
            finish = fn()
            t1 = clock()
            finish()
            second += clock() - t1
            first += t1 - t0
        firsts.append(first / calls / 1000)
        seconds.append(second / calls / 1000)
    return statistics.median(firsts), statistics.median(seconds)
