"""The worker processes' shared table of load: a busy worker leaves new connections to an idle one.

Every worker of `kubehooks serve` listens on the same socket. The kernel wakes them all for a
new connection and the first to call accept() has it: usually the one already running, busy
or not. A worker computes its calls one at a time (`hooks.inflight`), so the calls it takes
while busy wait their turn while another worker sits idle: four concurrent callers of large
calls were all served by one of two workers, at half the server's throughput and twice the
latency. Here each worker writes its load into a table in shared memory, and a worker holding
work does not accept while another one is idle and accepting (`BufferingWorker.accept`), so
new connections go to the idle one. When every worker is busy, they all accept as before.

The table is an anonymous shared mapping made in gunicorn's master before it forks the
workers: no file, no lock. Each slot is written by one process at a time (the master claims it
for a worker it is about to fork, which then writes its pid and load), and a stale slot (a
worker killed before it could clear it) never holds a worker back: a peer counts as idle only
while its pid is alive and it has reported within `FRESH_SECONDS`.
"""

from __future__ import annotations

import mmap
import os
import struct
import time

FRESH_SECONDS = 1.5
"""How recent a peer's report must be: its event loop reports once per turn, and a turn waits
for events for one second at most (gunicorn's gthread loop)."""

_SLOT = struct.Struct("=iiid")
"""pid (0: free, -1: claimed for a worker being forked), load, accepting, when reported."""


class Peers:
    """The load of every worker of one server, in memory shared by its processes."""

    def __init__(self, slots: int) -> None:
        self.slots = max(slots, 1)
        self._table = mmap.mmap(-1, _SLOT.size * self.slots)
        self._slot = -1

    def claim(self) -> int:
        """Claim a free slot for a worker about to be forked (in the master); -1 if none."""
        for slot in range(self.slots):
            pid = self.read(slot)[0]
            if pid == 0 or (pid > 0 and not _alive(pid)):
                _SLOT.pack_into(self._table, slot * _SLOT.size, -1, 0, 0, 0.0)
                return slot
        return -1

    def join(self, slot: int) -> None:
        """Take the slot the master claimed (in the forked worker)."""
        self._slot = slot
        self.report(0, accepting=False)

    def leave(self) -> None:
        """Free this worker's slot."""
        if self._slot >= 0:
            _SLOT.pack_into(self._table, self._slot * _SLOT.size, 0, 0, 0, 0.0)
            self._slot = -1

    def report(self, load: int, *, accepting: bool) -> None:
        """Publish this worker's load (calls held, requests being read) and whether it accepts
        new connections."""
        if self._slot >= 0:
            now = time.monotonic()
            _SLOT.pack_into(
                self._table, self._slot * _SLOT.size, os.getpid(), load, int(accepting), now
            )

    def idle_peer(self) -> bool:
        """Return whether another live worker holds nothing and accepts new connections."""
        now = time.monotonic()
        for slot in range(self.slots):
            if slot == self._slot:
                continue
            pid, load, accepting, reported = self.read(slot)
            fresh = now - reported < FRESH_SECONDS
            if pid > 0 and load == 0 and accepting and fresh and _alive(pid):
                return True
        return False

    def read(self, slot: int) -> tuple[int, int, int, float]:
        """Return one slot: pid, load, accepting (0 or 1), when reported."""
        pid, load, accepting, reported = _SLOT.unpack_from(self._table, slot * _SLOT.size)
        return pid, load, accepting, reported


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
