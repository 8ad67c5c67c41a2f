"""The history store on SQLite (and on PostgreSQL with the `postgres_url` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from hooks.api.aijob import AIJOB
from hooks.portal.history.store import (
    BadQuery,
    HistoryQuery,
    HistoryStore,
    HistoryUnavailable,
    percentile,
)
from hooks.portal.state import deleted_while_away, record
from tests.portal.objects import aijob

NOW = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def _count(store: HistoryStore, table: str) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def test_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    store = HistoryStore.open(f"sqlite:///{tmp_path / 'data' / 'history.sqlite3'}")
    assert (tmp_path / "data" / "history.sqlite3").exists()
    with store.engine.connect() as connection:
        assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
    store.engine.dispose()


def test_migrations_run_again_without_harm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    HistoryStore.open(url).write([record(AIJOB, "ADDED", aijob(), now=NOW)])
    again = HistoryStore.open(url)
    assert _count(again, "history_objects") == 1


def test_replaying_events_never_duplicates(store: HistoryStore) -> None:
    events = [
        record(AIJOB, "ADDED", aijob(phase="Pending", ready="False", reason="Pending"), now=NOW),
        record(
            AIJOB,
            "MODIFIED",
            aijob(
                phase="Running", ready="True", reason="Running", transition="2026-01-01T00:05:00Z"
            ),
            now=NOW,
        ),
    ]
    store.write(events, {"aijobs": "7"})
    store.write(events, {"aijobs": "7"})
    assert _count(store, "history_objects") == 1
    assert _count(store, "history_transitions") == 3
    assert store.watermark("aijobs") == "7"
    found = store.get("aijobs", "uid-1")
    assert found is not None
    assert [entry["event"] for entry in found["timeline"]] == ["created", "changed", "changed"]
    assert found["phase"] == "Running"


def test_a_deleted_record_outlives_the_object_and_stays_deleted(store: HistoryStore) -> None:
    store.write([record(AIJOB, "DELETED", aijob(phase="Failed", ready="False"), now=NOW)])
    store.write([record(AIJOB, "MODIFIED", aijob(phase="Failed", ready="False"), now=NOW)])
    found = store.get("aijobs", "uid-1")
    assert found is not None and found["deleted"] == "2026-01-01T02:00:00Z"
    assert store.live_rows("aijobs") == []


def test_deleted_while_away_marks_a_live_record(store: HistoryStore) -> None:
    store.write([record(AIJOB, "ADDED", aijob(), now=NOW)])
    (live,) = store.live_rows("aijobs")
    store.write([deleted_while_away(live, now=NOW + timedelta(hours=1))])
    assert store.live_rows("aijobs") == []


def _fill(store: HistoryStore, count: int) -> None:
    batch = []
    for index in range(count):
        obj = aijob(
            f"job-{index}",
            uid=f"uid-{index:04d}",
            namespace="team-a" if index % 2 else "team-b",
            phase="Succeeded" if index % 3 else "Failed",
            ready="False",
            labels={"team": "a" if index % 2 else "b", "run": str(index)},
            start="2026-01-01T00:00:00Z",
            completion=f"2026-01-01T00:{index % 60:02d}:00Z",
        )
        obj["metadata"]["creationTimestamp"] = f"2026-01-01T00:{index // 60:02d}:{index % 60:02d}Z"
        batch.append(record(AIJOB, "ADDED", obj, now=NOW))
    store.write(batch)


def test_pages_walk_every_record_once_newest_first(store: HistoryStore) -> None:
    _fill(store, 25)
    seen: list[str] = []
    token = None
    while True:
        items, token = store.page(HistoryQuery("aijobs", None, limit=10, continue_token=token))
        seen += [item["uid"] for item in items]
        if token is None:
            break
    assert seen == [f"uid-{index:04d}" for index in reversed(range(25))]


def test_filters_by_namespace_phase_labels_and_time(store: HistoryStore) -> None:
    _fill(store, 12)
    only_a, _ = store.page(HistoryQuery("aijobs", frozenset({"team-a"}), limit=100))
    assert {item["namespace"] for item in only_a} == {"team-a"} and len(only_a) == 6
    failed, _ = store.page(HistoryQuery("aijobs", None, phase="Failed", limit=100))
    assert len(failed) == 4
    labelled, _ = store.page(HistoryQuery("aijobs", None, label_selector="team=b,run!=0"))
    assert {item["labels"]["team"] for item in labelled} == {"b"} and len(labelled) == 5
    since = datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    recent, _ = store.page(HistoryQuery("aijobs", None, since=since, limit=100))
    assert len(recent) == 2


def test_a_forged_continue_token_is_a_bad_query(store: HistoryStore) -> None:
    with pytest.raises(BadQuery):
        store.page(HistoryQuery("aijobs", None, continue_token="not-a-token"))
    with pytest.raises(BadQuery):
        store.page(HistoryQuery("aijobs", None, label_selector="team in (a,b)"))


def test_stats_count_phases_and_sum_gpu_hours(store: HistoryStore) -> None:
    _fill(store, 6)
    stats = store.stats("aijobs", None)
    assert stats["countsByPhase"] == {"Failed": 2, "Succeeded": 4}
    assert stats["gpuHoursByNamespace"]["team-a"] == pytest.approx(8 * (1 + 3 + 5) / 60)
    assert stats["durationSeconds"]["p50"] == 120.0
    assert store.stats("aijobs", frozenset({"team-a"}))["total"] == 3


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
    assert percentile([], 0.5) is None


def test_retention_by_age_and_by_rows(store: HistoryStore) -> None:
    _fill(store, 10)
    removed = store.apply_retention(now=NOW, max_age=None, max_rows=4)
    assert removed == 6 and _count(store, "history_objects") == 4
    assert _count(store, "history_transitions") == 8
    assert store.apply_retention(now=NOW, max_age=timedelta(minutes=1), max_rows=None) == 4


def test_an_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    store = HistoryStore.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    store.engine.dispose()
    (tmp_path / "h.sqlite3").unlink()
    (tmp_path / "h.sqlite3").mkdir()
    assert not store.ping()
    with pytest.raises(HistoryUnavailable):
        store.page(HistoryQuery("aijobs", None))
