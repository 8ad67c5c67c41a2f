"""The recorder over a fake cluster: resume, 410 relist, deletions while away, database outages."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from hooks.api.aijob import AIJOB
from hooks.portal.cluster import WatchExpired
from hooks.portal.history.store import HistoryStore, HistoryUnavailable
from hooks.portal.recorder import Recorder, backoff_seconds
from tests.portal.fakes import FakeCluster
from tests.portal.objects import aijob


def _rows(store: HistoryStore) -> list[tuple[str, str | None, bool]]:
    with store.engine.connect() as connection:
        found = connection.execute(
            text("SELECT name, phase, deleted IS NOT NULL FROM history_objects ORDER BY name")
        ).all()
    return [(str(name), phase, bool(deleted)) for name, phase, deleted in found]


def _transitions(store: HistoryStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(text("SELECT count(*) FROM history_transitions")) or 0)


def _drain(recorder: Recorder, cluster: FakeCluster) -> None:
    """One pass of the watch loop: start (watermark or relist), watch to the end, flush."""
    version = recorder.start_version(AIJOB)
    for event in cluster.watch(AIJOB, version, timeout_seconds=1):
        recorder.consume(AIJOB, event)
    recorder.flush()


def test_a_restart_resumes_from_the_watermark_without_duplicates(store: HistoryStore) -> None:
    cluster = FakeCluster()
    cluster.put(AIJOB, aijob("a", phase="Pending", ready="False", reason="Pending"), "ADDED")
    _drain(Recorder([AIJOB], cluster, store), cluster)
    before = _transitions(store)
    cluster.put(
        AIJOB,
        aijob(
            "a", phase="Running", ready="True", reason="Running", transition="2026-01-01T00:02:00Z"
        ),
    )
    cluster.put(AIJOB, aijob("b", uid="uid-b"), "ADDED")
    _drain(Recorder([AIJOB], cluster, store), cluster)  # a new process: resumes
    _drain(Recorder([AIJOB], cluster, store), cluster)  # and again: nothing new
    assert _rows(store) == [("a", "Running", False), ("b", None, False)]
    assert _transitions(store) == before + 2
    assert store.watermark("aijobs") == str(cluster.version)


def test_410_relists_and_marks_objects_deleted_while_away(store: HistoryStore) -> None:
    cluster = FakeCluster()
    cluster.put(AIJOB, aijob("gone", uid="uid-gone"), "ADDED")
    cluster.put(AIJOB, aijob("stays", uid="uid-stays"), "ADDED")
    _drain(Recorder([AIJOB], cluster, store), cluster)
    cluster.remove(AIJOB, "team-a", "gone")
    cluster.events.clear()  # etcd compacted: the DELETED event is lost
    cluster.expired_before = cluster.version + 1
    recorder = Recorder([AIJOB], cluster, store)
    version = recorder.start_version(AIJOB)
    with pytest.raises(WatchExpired):
        list(cluster.watch(AIJOB, version, timeout_seconds=1))
    recorder.relist(AIJOB)
    recorder.flush()
    assert _rows(store) == [("gone", None, True), ("stays", None, False)]


def test_watch_loop_relists_on_410(store: HistoryStore) -> None:
    cluster = FakeCluster()
    cluster.put(AIJOB, aijob("gone", uid="uid-gone"), "ADDED")
    _drain(Recorder([AIJOB], cluster, store), cluster)
    cluster.remove(AIJOB, "team-a", "gone")
    cluster.events.clear()
    cluster.expired_before = cluster.version + 1

    recorder = Recorder([AIJOB], cluster, store)
    watched: list[str] = []
    original = cluster.watch

    def watch(kind, version, *, timeout_seconds):  # type: ignore[no-untyped-def]
        watched.append(version)
        if len(watched) >= 2:
            recorder.stopping.set()
        return original(kind, version, timeout_seconds=timeout_seconds)

    cluster.watch = watch  # type: ignore[method-assign]
    recorder.watch_loop(AIJOB)
    recorder.flush()
    assert watched[1] == str(cluster.version)  # relisted, then watched from the list's version
    assert _rows(store) == [("gone", None, True)]


def test_database_down_buffers_then_catches_up(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore.open(f"sqlite:///{path}")
    cluster = FakeCluster()
    recorder = Recorder([AIJOB], cluster, store)
    good_engine = store.engine
    (tmp_path / "file").write_text("not a folder")
    down = HistoryStore.lazy(f"sqlite:///{tmp_path / 'file' / 'x.sqlite3'}")
    store.engine, store.migrated = down.engine, False
    for index in range(5):
        cluster.put(AIJOB, aijob(f"job-{index}", uid=f"u-{index}"), "ADDED")
    for event in cluster.watch(AIJOB, "0", timeout_seconds=1):
        recorder.consume(AIJOB, event)
    with pytest.raises(HistoryUnavailable):
        recorder.flush()
    assert len(recorder.buffer) == 5 and recorder.history_ok is False
    store.engine = good_engine
    assert recorder.flush() == 5
    assert [name for name, _, _ in _rows(store)] == [f"job-{i}" for i in range(5)]
    assert recorder.history_ok and not recorder.buffer


def test_a_full_buffer_blocks_the_watch_until_written(store: HistoryStore) -> None:
    cluster = FakeCluster()
    recorder = Recorder([AIJOB], cluster, store, buffer_size=2)
    for index in range(3):
        cluster.put(AIJOB, aijob(f"job-{index}", uid=f"u-{index}"), "ADDED")
    events = list(cluster.watch(AIJOB, "0", timeout_seconds=1))
    recorder.consume(AIJOB, events[0])
    recorder.consume(AIJOB, events[1])
    third = threading.Thread(target=recorder.consume, args=(AIJOB, events[2]))
    third.start()
    third.join(0.3)
    assert third.is_alive() and len(recorder.buffer) == 2
    recorder.flush()
    third.join(5)
    assert not third.is_alive() and len(recorder.buffer) == 1


def test_api_server_down_backs_off_and_reports_not_ok(store: HistoryStore) -> None:
    cluster = FakeCluster()
    cluster.down = True
    recorder = Recorder([AIJOB], cluster, store)
    waits: list[float] = []

    def wait(seconds: float | None = None) -> bool:
        waits.append(seconds or 0)
        if len(waits) == 3:
            recorder.stopping.set()
        return recorder.stopping.is_set()

    recorder.stopping.wait = wait  # type: ignore[method-assign]
    recorder.watch_loop(AIJOB)
    assert waits == [0.5, 1.0, 2.0] and recorder.cluster_ok is False


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_retention_from_settings(store: HistoryStore) -> None:
    from datetime import UTC, datetime

    from hooks.portal.config import Retention

    cluster = FakeCluster()
    for index in range(5):
        cluster.put(AIJOB, aijob(f"job-{index}", uid=f"u-{index}"), "ADDED")
    recorder = Recorder([AIJOB], cluster, store, retention=Retention(max_rows=2))
    _drain(recorder, cluster)
    assert recorder.retain(datetime(2026, 1, 2, tzinfo=UTC)) == 3
    assert len(_rows(store)) == 2
    aged = Recorder([AIJOB], cluster, store, retention=Retention(max_age_days=0.5))
    assert aged.retain(datetime(2026, 1, 2, tzinfo=UTC)) == 2


def test_retention_sweeps_every_sweep_seconds(tmp_path: Path) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    from hooks.portal.config import PortalSettings, Retention

    assert PortalSettings().retention.sweep_seconds == 600, "ten minutes unless configured"
    configured = PortalSettings.model_validate({"retention": {"sweepSeconds": 60, "maxRows": 9}})
    assert configured.retention == Retention(max_rows=9, sweep_seconds=60)
    with pytest.raises(ValueError, match="sweepSeconds"):
        PortalSettings.model_validate({"retention": {"sweepSeconds": 0}})

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = HistoryStore.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    recorder = Recorder(
        [], FakeCluster(), store, retention=configured.retention, clock=lambda: now[0]
    )
    sweeps: list[datetime] = []
    recorder.retain = lambda when: sweeps.append(when) or 0  # type: ignore[method-assign]
    writer = threading.Thread(target=recorder.write_loop, daemon=True)
    writer.start()

    def settle() -> None:
        time.sleep(0.5)  # the idle writer looks at the clock every 0.2 s

    try:
        settle()
        assert len(sweeps) == 1, "the first sweep at start"
        now[0] += timedelta(seconds=59)
        settle()
        assert len(sweeps) == 1
        now[0] += timedelta(seconds=1)
        settle()
        assert len(sweeps) == 2, "the next one sweepSeconds later"
    finally:
        recorder.stop()
        store.engine.dispose()
