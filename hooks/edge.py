"""What the HTTP edge keeps besides routes: ETags, the in-flight limit, readiness, request ids.

All of it is per process and cheap on the hook path: one non-cryptographic hash of the raw body,
one lock-protected counter, one attribute read.
"""

from __future__ import annotations

import gc
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import orjson
import xxhash

import hooks
from hooks.inflight import DEFAULT_MAX_IN_FLIGHT as DEFAULT_MAX_IN_FLIGHT
from hooks.inflight import LARGE_BYTES
from hooks.inflight import InFlight as InFlight
from hooks.inflight import in_flight_limit as in_flight_limit
from hooks.runtime import BoundController
from hooks.settings import Settings

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class Etags:
    """ETags of hook answers: a hash of the request body, salted with the code and the settings.

    A pure hook gives the same answer to the same request, so a hash of the request identifies
    the answer before it is computed, and a matching If-None-Match can skip parsing altogether.
    The salt makes a new release or a changed config invalidate what Metacontroller cached.

    Two kinds of answer depend on the clock rather than on the request, and get no ETag: those
    of a controller with a periodic resync (resynced precisely to be re-judged with an unchanged
    request) and those asking for `resyncAfterSeconds`. xxh3-128 rather than a cryptographic
    hash: it is 30-60 times faster than blake2b or sha256 here (0.03 ms instead of 1-2 ms for a
    1.6 MB request), and a collision, which nobody controls since every request carries
    resourceVersions, could only make Metacontroller reuse an answer computed, and vetted, for
    the same parent.

    The salt is public (the version, the released code, the settings), so anyone can compute the
    tag of any body, including one that does not parse. A 304 is therefore answered only for a
    tag this process answered with a 200 before: a per-process memory of the last `remembered`
    such tags (least recently used dropped first; about 160 bytes each). Each worker process
    learns its own, so after a restart, or on another worker, a known request is answered in
    full once (a 200, as without ETags) before its 304s resume.
    """

    REMEMBERED = 16_384
    """Default for `remembered`: every hook of thousands of parents, 2.6 MB when full."""

    def __init__(
        self,
        settings: Settings,
        controllers: dict[str, BoundController],
        *,
        remembered: int = REMEMBERED,
    ) -> None:
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered
        self._lock = threading.Lock()
        salt = b"\0".join(
            [
                hooks.__version__.encode(),
                _code_fingerprint(),
                orjson.dumps(settings.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS),
            ]
        )
        self._bases: dict[tuple[str, str], xxhash.xxh3_128] = {}
        for name, bound in controllers.items():
            if bound.config.resync_period_seconds or bound.controller.resync_period_seconds:
                continue
            for hook in ("sync", "finalize", "customize"):
                base = xxhash.xxh3_128(salt)
                base.update(f"\0{name}\0{hook}\0".encode())
                self._bases[(name, hook)] = base

    def of(self, controller: str, hook: str, body: bytes) -> str | None:
        """Return the quoted ETag of a request, or None when its answer must not be cached."""
        base = self._bases.get((controller, hook))
        if base is None:
            return None
        digest = base.copy()
        digest.update(body)
        return f'"{digest.hexdigest()}"'

    def answered(self, etag: str) -> None:
        """Remember that this process answered ``etag``'s request with a 200."""
        with self._lock:
            self._answered[etag] = None
            self._answered.move_to_end(etag)
            if len(self._answered) > self._remembered:
                self._answered.popitem(last=False)

    def was_answered(self, etag: str) -> bool:
        """Say whether this process answered ``etag``'s request with a 200 (and still knows)."""
        with self._lock:
            if etag not in self._answered:
                return False
            self._answered.move_to_end(etag)
            return True


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Say whether an If-None-Match header names this ETag (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _code_fingerprint() -> bytes:
    """Hash the package's sources, so a rebuilt image without a version bump still changes ETags."""
    digest = xxhash.xxh3_128()
    root = Path(hooks.__file__).parent
    for path in sorted(root.rglob("*.py")):
        try:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest().encode()


class Readiness:
    """Whether this process should get traffic: not before it is configured, nor once stopping."""

    def __init__(self) -> None:
        self._state = "starting"

    @property
    def state(self) -> str:
        """Return `starting`, `ready` or `stopping`."""
        return self._state

    def ready(self) -> None:
        """Mark the app configured (the last step of create_app)."""
        if self._state == "starting":
            self._state = "ready"

    def stopping(self) -> None:
        """Mark the process shutting down (SIGTERM); it still finishes what it accepted."""
        self._state = "stopping"


def request_id(header: str | None) -> str | None:
    """Return the caller's X-Request-Id when it is a sane token, else None (we make one)."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return None


class GcPause:
    """Keeps Python's cyclic garbage collector off while a large request is being answered.

    Parsing a 6.6 MB request makes about 200,000 dicts and lists that all stay alive; every
    collection the allocations trigger walks the growing heap again, which tripled the time of a
    PodCluster of 1000 Pods. Everything a hook call allocates is freed by reference counting
    when the call ends, so the collector has nothing to find meanwhile. It is switched back on
    when the last large call of the process ends (calls overlap under threads), after the
    parsed request has been freed: the first collection would otherwise walk all of it once more.
    """

    LARGE = LARGE_BYTES
    """Bodies from this size (about ten observed Pods) are answered with the collector off (and
    computed in the worker's child process, admitted by their expected wait: `hooks.inflight`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._resume = False

    def hold(self, size: int) -> Held:
        """Start answering a body of `size` bytes; the collector pauses if it is LARGE."""
        if size < self.LARGE:
            return Held(None)
        with self._lock:
            if self._active == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._active += 1
        return Held(self)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._resume:
                gc.enable()

    @contextmanager
    def during(self, size: int) -> Iterator[Held]:
        """Pause collection for the enclosed work when the body is at least LARGE bytes."""
        held = self.hold(size)
        try:
            yield held
        finally:
            held.release()


T = TypeVar("T")


class Held:
    """One call's parsed request, kept until its answer has been sent, then freed.

    Freeing the 200,000 objects of a 1000-Pod request takes a third as long as parsing them
    (15 ms); done after the answer has been sent, it no longer delays Metacontroller.
    """

    __slots__ = ("_pause", "_kept")

    def __init__(self, pause: GcPause | None) -> None:
        self._pause = pause
        self._kept: list[object] = []

    def keep(self, obj: T) -> T:
        """Keep `obj` alive until `release`; return it."""
        self._kept.append(obj)
        return obj

    def release(self) -> None:
        """Free what was kept, then resume the collector if this call paused it (idempotent)."""
        self._kept.clear()
        pause, self._pause = self._pause, None
        if pause is not None:
            pause._leave()
