"""The in-flight bound: how many calls a process holds at once, the next refused with 429.

Shared by the hook server (`hooks.edge`, `hooks.serve`), the worker that reads requests
(`hooks.worker`) and the portal (`hooks.portal.serve`); it imports nothing of either.
"""

from __future__ import annotations

import threading
from collections import deque

from hooks.settings import Limits

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

    @property
    def count(self) -> int:
        """Return the calls held now (computing, or waiting for their turn)."""
        return self._count

    def take_turns(self) -> None:
        """Make admitted calls compute one at a time, in the order they were admitted."""
        self._in_turn = True

    def reserve(self) -> bool:
        """Take a slot for a call whose body is still arriving; False when all are taken.

        The worker decides as soon as a call's headers are in (`hooks.worker`), so that a burst
        of large bodies is refused before they are read. Hand the answer to the thread that
        runs the call with `claim`; a slot reserved for a call that never enters goes back with
        `release`.
        """
        with self._lock:
            if self._count >= self.limit:
                return False
            self._count += 1
            return True

    def release(self) -> None:
        """Give back a reserved slot that no call entered."""
        with self._lock:
            self._count -= 1

    def claim(self, reserved: bool | None) -> None:
        """Tell the next `enter` of this thread what was decided for its call (None: nothing)."""
        _claims.reserved = reserved

    def unclaimed(self) -> bool | None:
        """Return, and forget, this thread's claim that no `enter` used."""
        reserved: bool | None = getattr(_claims, "reserved", None)
        _claims.reserved = None
        return reserved

    def enter(self) -> bool:
        """Take a slot (or the one reserved), then wait for this call's turn; False when all
        slots are taken, or the call's headers already found them taken (answer 429 and do not
        call leave)."""
        reserved = self.unclaimed()
        with self._lock:
            if reserved is False:
                return False
            if reserved is None:
                if self._count >= self.limit:
                    return False
                self._count += 1
            if not self._in_turn or not self._computing:
                self._computing = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._turns.append(turn)
        turn.acquire()  # released by the `leave` of the call ahead
        return True

    def leave(self) -> None:
        """Give a slot back, and the turn to the next call waiting for one."""
        with self._lock:
            self._count -= 1
            if self._turns:
                self._turns.popleft().release()
            else:
                self._computing = False


_claims = threading.local()
