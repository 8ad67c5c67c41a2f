"""Watch events -> history rows: where every record in the history comes from.

One watch per served kind, across namespaces. It resumes from the resourceVersion stored with
the last written batch (the watermark), so a restart replays at most one unwritten batch, and
replays are no-ops (rows are keyed by uid and transition key). On 410 Gone it relists; a relist
marks deleted every recorded object the cluster no longer has (deleted while the portal was
away). While the database is down, events wait in a bounded buffer and the watches pause
when it is full; nothing is dropped. While the API server is down, watches retry with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hooks.api.kind import Kind
from hooks.portal.cluster import Cluster, ClusterError, WatchEvent, WatchExpired
from hooks.portal.config import Retention
from hooks.portal.history.store import HistoryStore, HistoryUnavailable
from hooks.portal.state import Recorded, deleted_while_away, record

log = logging.getLogger("kubehooks.portal.recorder")

RELIST_PAGE = 500
WATCH_SECONDS = 300
WRITER = "history"
"""The writer thread's name."""


@dataclass(frozen=True)
class Relisted:
    """A relist's outcome: every uid the cluster has now; the rest are marked deleted."""

    plural: str
    uids: frozenset[str]
    resource_version: str
    time: datetime


Entry = tuple[str, Recorded | Relisted | None, str]
"""(plural, what to write (None: only the watermark moves), resourceVersion to store once
written)."""


def backoff_seconds(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Return the wait before retry number `attempt` (0-based): doubling, capped."""
    return float(min(cap, base * 2 ** min(attempt, 16)))


class Recorder:
    """Feeds the history from the cluster; `run` starts its threads, `stop` ends them."""

    def __init__(
        self,
        kinds: Iterable[Kind],
        cluster: Cluster,
        store: HistoryStore,
        *,
        buffer_size: int = 10_000,
        retention: Retention | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kinds = list(kinds)
        self.cluster = cluster
        self.store = store
        self.buffer: deque[Entry] = deque()
        self.buffer_size = buffer_size
        self.retention = retention or Retention()
        self.clock = clock
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.cluster_ok = False
        self.history_ok = False
        self.threads: list[threading.Thread] = []

    # -- the steps, each testable on its own -------------------------------------------------

    def enqueue(self, entry: Entry) -> None:
        """Buffer one entry; block while the buffer is full (the database is behind or down)."""
        with self.changed:
            while len(self.buffer) >= self.buffer_size and not self.stopping.is_set():
                self.changed.wait(0.5)
            self.buffer.append(entry)
            self.changed.notify_all()

    def consume(self, kind: Kind, event: WatchEvent) -> str:
        """Buffer one watch event; return its resourceVersion (the watch resumes after it)."""
        version = str((event.object.get("metadata") or {}).get("resourceVersion") or "")
        if event.type == "BOOKMARK":
            self.enqueue(
                (kind.plural, Relisted(kind.plural, frozenset(), "", self.clock()), version)
            )
            return version
        self.enqueue(
            (kind.plural, record(kind, event.type, event.object, now=self.clock()), version)
        )
        return version

    def relist(self, kind: Kind) -> str:
        """List every object of the kind, record each, and queue the reconciliation of the rest."""
        token: str | None = None
        uids: set[str] = set()
        version = ""
        while True:
            page = self.cluster.list(kind, None, limit=RELIST_PAGE, continue_token=token)
            version = page.resource_version or version
            for obj in page.items:
                uids.add(str((obj.get("metadata") or {}).get("uid")))
                self.enqueue((kind.plural, record(kind, "ADDED", obj, now=self.clock()), ""))
            token = page.continue_token
            if not token:
                break
        self.enqueue(
            (kind.plural, Relisted(kind.plural, frozenset(uids), version, self.clock()), version)
        )
        return version

    def flush(self, max_batch: int = 1000) -> int:
        """Write what is buffered, oldest first; keep it buffered when the database is down."""
        with self.changed:
            batch = list(self.buffer)[:max_batch]
        if not batch:
            return 0
        rows: list[Recorded] = []
        watermarks: dict[str, str] = {}
        try:
            for plural, item, version in batch:
                if isinstance(item, Relisted):
                    rows += self._vanished(item)
                elif item is not None:
                    rows.append(item)
                if version:
                    watermarks[plural] = version
            self.store.write(rows, watermarks)
        except HistoryUnavailable:
            self.history_ok = False
            raise
        self.history_ok = True
        with self.changed:
            for _ in batch:
                self.buffer.popleft()
            self.changed.notify_all()
        return len(batch)

    def _vanished(self, relisted: Relisted) -> list[Recorded]:
        return [
            deleted_while_away(row, now=relisted.time)
            for row in self.store.live_rows(relisted.plural)
            if row.uid not in relisted.uids
        ]

    def start_version(self, kind: Kind) -> str:
        """Return where the watch starts: the watermark, else a fresh relist."""
        try:
            stored = self.store.watermark(kind.plural)
        except HistoryUnavailable:
            stored = None
        return stored or self.relist(kind)

    # -- the loops ---------------------------------------------------------------------------

    def watch_loop(self, kind: Kind) -> None:
        """Watch one kind until stopped: resume, relist on 410, back off on API server errors."""
        attempt = 0
        version: str | None = None
        expired = False
        while not self.stopping.is_set():
            try:
                if expired:
                    version, expired = self.relist(kind), False
                elif version is None:
                    version = self.start_version(kind)
                self.cluster_ok = True
                for event in self.cluster.watch(kind, version, timeout_seconds=WATCH_SECONDS):
                    version = self.consume(kind, event) or version
                    attempt = 0
                    if self.stopping.is_set():
                        return
            except WatchExpired:
                log.info("%s: resourceVersion %s expired; relisting", kind.plural, version)
                expired = True
            except ClusterError as err:
                self.cluster_ok = False
                wait = backoff_seconds(attempt)
                attempt += 1
                log.warning("%s: watch failed (%s); retrying in %.1fs", kind.plural, err, wait)
                self.stopping.wait(wait)

    def write_loop(self) -> None:
        """Flush the buffer as it fills; retry the database with backoff; apply retention."""
        attempt = 0
        last_retention = datetime.min.replace(tzinfo=UTC)
        while not self.stopping.is_set() or self.buffer:
            with self.changed:
                if not self.buffer:
                    self.changed.wait(0.2)
            try:
                self.flush()
                attempt = 0
                now = self.clock()
                if now - last_retention >= timedelta(seconds=self.retention.sweep_seconds):
                    self.retain(now)
                    last_retention = now
            except HistoryUnavailable as err:
                wait = backoff_seconds(attempt)
                attempt += 1
                log.warning("history database unavailable (%s); retrying in %.1fs", err, wait)
                if self.stopping.wait(wait):
                    return

    def retain(self, now: datetime) -> int:
        """Apply the retention settings once; return how many records went."""
        age = self.retention.max_age_days
        return self.store.apply_retention(
            now=now,
            max_age=timedelta(days=age) if age is not None else None,
            max_rows=self.retention.max_rows,
        )

    def run(self) -> None:
        """Start one watch thread per kind and the writer thread (daemons)."""
        for kind in self.kinds:
            thread = threading.Thread(
                target=self.watch_loop, args=(kind,), name=f"watch-{kind.plural}", daemon=True
            )
            self.threads.append(thread)
        self.threads.append(threading.Thread(target=self.write_loop, name=WRITER, daemon=True))
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to end and wait (up to `timeout`) for the writer to flush what the
        buffer holds. The watches are not waited for: a watch blocked on its stream ends with
        the process (daemon threads), and whatever it would still add is replayed from the
        watermark at the next start."""
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        for thread in self.threads:
            if thread.name == WRITER:
                thread.join(timeout)
