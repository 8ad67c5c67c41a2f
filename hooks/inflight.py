"""The in-flight bound: how many calls a process holds at once, the next refused with 429.

Shared by the hook server (`hooks.edge`, `hooks.serve`), the worker that reads requests
(`hooks.worker`) and the portal (`hooks.portal.serve`); it imports nothing of either.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable

from hooks.settings import Limits

LARGE_BYTES = 64 * 1024
"""Calls of this many bytes and more are large: computed in the worker's child process with
the collector off (`hooks.edge.GcPause`), and admitted by their expected wait (`reserve`)."""
WAIT_SHARE = 0.5
"""How long a large call may expect to wait for its turn, as a share of its own expected
computation: a turn freeing within it is taken by the call whose body is being read meanwhile,
so the child is kept busy, and no admitted call waits a whole computation for another.
Measured under the burst of `bench.resilience`, three runs each: 0.25 left the child idle
between calls (goodput 76-86% of the best throughput, against 80-92%), 0.75 and 1.0 let
admitted calls wait longer (p99 2-2.2x their unloaded p99, against 1.5-2x)."""
OVERLOAD_SECONDS = 1.0
"""How long after a refusal large calls are admitted by their expected wait."""
CROWD_SECONDS = 0.5
"""How long after a crowd at the door (`crowded`) a large call is admitted only by an idle
process: the first calls of a burst are computed while it refuses the rest, and each call that
waited for another there took both their times, stretched by the refusals (3-5x unloaded)."""
SPREAD_PER_REFUSED_SECOND = 4.0
"""Retry-After's spread, in seconds per second of work refused in the last second
(`retry_after`). With a spread of s seconds, a backlog of n callers comes back at n/s a
second, and s settles near the square root of this factor times n times a call's time: 4
halved the refusals of `bench.resilience`'s burst against 1 (about 45 a second against 75)."""
SMOOTHING = 0.2
"""Weight of the newest call in the moving averages (seconds per byte, seconds per call)."""

DEFAULT_MAX_IN_FLIGHT = 64
"""The default `limits.maxInFlight`: every controller's 5 Metacontroller workers may call."""


def in_flight_limit(limits: Limits, workers: int = 1, threads: int = 0) -> int:
    """Return the hook calls one worker process may hold: its share of `limits.maxInFlight`.

    The server's limit is spread evenly over its `workers` processes. With `threads` threads a
    process holds at most `threads - 1`, so one thread is always free to refuse the excess.
    """
    total = limits.max_in_flight or DEFAULT_MAX_IN_FLIGHT
    share = -(-total // max(workers, 1))
    return max(min(share, threads - 1), 1) if threads > 1 else share


class InFlight:
    """Counts the hook calls this process holds, refusing those over the limit.

    A call is held from the moment a thread admits it until its answer is computed. Once
    `limit` calls are held, the next is refused with 429 at once, instead of queueing into
    Metacontroller's 10 s timeout. The decision is taken as each call arrives (the worker reads
    requests whole before a thread takes them, `hooks.worker`), so under a burst the calls
    admitted are those that found room, and the process keeps computing at full speed.

    With `take_turns` (what `kubehooks serve` does), admitted calls compute one at a time, in
    the order they were admitted: hook calls are CPU-bound and the interpreter lock lets a
    process compute one at a time anyway, so interleaving them only makes each one slower (two
    interleaved calls both end as late as the second one does in turn). A held
    call therefore waits at most for the `limit - 1` calls ahead of it. Correct under threads
    (a lock guards the counter).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()
        self._in_turn = False
        self._computing = False
        self._turns: deque[threading.Lock] = deque()
        self._seconds_per_byte = 0.0
        """How long large calls took to compute, per byte of body (0: none measured yet)."""
        self._queued_bytes = 0
        """Bytes of the large calls held and not yet computing."""
        self._turn_started = 0.0
        """When the call computing now had its turn."""
        self._large_bytes = 0
        """The bytes of the call computing now, if large (0: none, or a small call)."""
        self._refused_at = -OVERLOAD_SECONDS
        """When a call was last refused."""
        self._refusals: deque[float] = deque()
        """When the calls refused within the last second were."""
        self._crowded_at = -CROWD_SECONDS
        """When connections were last seen crowding at the door (`crowded`)."""
        self._call_seconds = 0.0
        """How long calls took from their turn to their end, on average (0: none measured)."""
        self.on_change: Callable[[int], None] | None = None
        """Told the calls held each time they change (`hooks.peers`)."""

    @property
    def count(self) -> int:
        """Return the calls held now (computing, or waiting for their turn)."""
        return self._count

    def take_turns(self) -> None:
        """Make admitted calls compute one at a time, in the order they were admitted."""
        self._in_turn = True

    def reserve(self, size: int = 0) -> bool:
        """Take a slot for a call of `size` bytes whose body is still arriving; False when all
        are taken, or when it is large and its turn would come too late.

        Under a burst, counting slots alone fills every one, so each admitted call waits a
        whole computation for the one ahead (admitted calls' p99 5x their unloaded p99, issue
        13). So while calls are being refused (one was within `OVERLOAD_SECONDS`), a large
        call is admitted only if the large calls ahead of it are expected to be done within
        `WAIT_SHARE` of its own computation (seconds per byte measured on the calls before
        it): the next call is taken in as the current one ends, and the callers refused
        meanwhile come back to a free turn. Otherwise a call that finds a slot waits its turn:
        refusing it would cost it `Retry-After`, far longer than the turn. Just after a crowd
        at the door (`crowded`), a large call is admitted only by a process holding none.

        The worker decides as soon as a call's headers are in (`hooks.worker`), so that a burst
        of large bodies is refused before they are read. Hand the answer to the thread that
        runs the call with `claim`; a slot reserved for a call that never enters goes back with
        `release`.
        """
        with self._lock:
            now = time.monotonic()
            if self._count >= self.limit:
                self._refuse(now)
                return False
            if size >= LARGE_BYTES and self._in_turn:
                crowded = self._count > 0 and now - self._crowded_at < CROWD_SECONDS
                overloaded = now - self._refused_at < OVERLOAD_SECONDS
                if crowded or (
                    overloaded and self._wait(now) > WAIT_SHARE * self._seconds_per_byte * size
                ):
                    self._refuse(now)
                    return False
                self._queued_bytes += size
            self._count += 1
            self._changed()
            return True

    def crowded(self) -> None:
        """Note that connections crowd at the door (a burst arriving): for `CROWD_SECONDS`, a
        large call is admitted only if this process holds none, and calls count as refused."""
        with self._lock:
            self._crowded_at = self._refused_at = time.monotonic()

    def retry_after(self, least: int, most: int, draw: Callable[[], float] = random.random) -> int:
        """Return the Retry-After of a refusal: `least` seconds, plus a random share of the work
        refused in the last second, scaled by `SPREAD_PER_REFUSED_SECOND`, up to `most`.

        Metacontroller requeues a refused parent after exactly Retry-After, so callers refused
        together come back together, and a burst returns as a wave every `least` seconds, each
        wave refused again at the cost of a connection, its headers and the start of its body
        (goodput 64-73% of the best throughput, issue 13). Spread over the time the refused
        work would take, they return at about the rate the process serves them. Less than a
        quarter of a second refused in the last second gives `least` exactly.
        """
        with self._lock:
            now = time.monotonic()
            while self._refusals and self._refusals[0] <= now - 1.0:
                self._refusals.popleft()
            refused_work = len(self._refusals) * self._call_seconds
        spread = int(SPREAD_PER_REFUSED_SECOND * refused_work)
        return min(least + int(draw() * (spread + 1)), max(most, least))

    def _refuse(self, now: float) -> None:
        self._refused_at = now
        self._refusals.append(now)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self._count)

    def _wait(self, now: float) -> float:
        """Return how long, from `now`, the large calls held are expected to compute."""
        rate = self._seconds_per_byte
        current = max(self._turn_started + rate * self._large_bytes - now, 0.0)
        return current + rate * self._queued_bytes

    def release(self, size: int = 0) -> None:
        """Give back a slot reserved for a call of `size` bytes that never entered."""
        with self._lock:
            self._count -= 1
            if size >= LARGE_BYTES and self._in_turn:
                self._queued_bytes -= size
            self._changed()

    def revoke(self, size: int) -> None:
        """Give back the slot of a call refused after it was reserved (`crowded`)."""
        self.release(size)
        with self._lock:
            self._refuse(time.monotonic())

    def claim(self, reserved: bool | None) -> None:
        """Tell the next `enter` of this thread what was decided for its call (None: nothing)."""
        _claims.reserved = reserved

    def unclaimed(self) -> bool | None:
        """Return, and forget, this thread's claim that no `enter` used."""
        reserved: bool | None = getattr(_claims, "reserved", None)
        _claims.reserved = None
        return reserved

    def enter(self, size: int = 0) -> bool:
        """Take a slot (or the one reserved), then wait for this call's turn; False when all
        slots are taken, or the call's headers already found them taken (answer 429 and do not
        call leave). `size`: the call's body, as reserved."""
        reserved = self.unclaimed()
        large = size if size >= LARGE_BYTES and self._in_turn else 0
        with self._lock:
            if reserved is False:
                return False
            if reserved is None:
                if self._count >= self.limit:
                    self._refuse(time.monotonic())
                    return False
                self._count += 1
                self._changed()
                self._queued_bytes += large  # waiting, as a reserved call's bytes already are
            if not self._in_turn or not self._computing:
                self._computing = True
                self._start(large)
                return True
            turn = threading.Lock()
            turn.acquire()
            self._turns.append(turn)
        turn.acquire()  # released by the `leave` of the call ahead
        with self._lock:
            self._start(large)
        return True

    def _start(self, large_bytes: int) -> None:
        """This call's turn has come: its bytes stop waiting and start computing."""
        self._queued_bytes -= large_bytes
        self._turn_started, self._large_bytes = time.monotonic(), large_bytes

    def leave(self) -> None:
        """Give a slot back, and the turn to the next call waiting for one."""
        with self._lock:
            now = time.monotonic()
            self._call_seconds = _smoothed(self._call_seconds, now - self._turn_started)
            if self._large_bytes:
                took = (now - self._turn_started) / self._large_bytes
                self._seconds_per_byte = _smoothed(self._seconds_per_byte, took)
                self._large_bytes = 0
            self._count -= 1
            self._changed()
            if self._turns:
                self._turns.popleft().release()
            else:
                self._computing = False


def _smoothed(average: float, newest: float) -> float:
    """Return the moving average with `newest` in (`newest` itself when none yet)."""
    return average + SMOOTHING * (newest - average) if average else newest


_claims = threading.local()
