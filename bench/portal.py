"""`python -m bench.portal [--quick]`: the portal's targets, measured, printed, never asserted.

- recording: transitions per second through the recorder into SQLite (target >= 2,000/s);
- history page: p95 of a 50-row page of a 100,000-row history (target <= 20 ms);
- facade list: p95 of listing 1,000 objects through the REST facade (target <= 100 ms), each
  with its children (a Job and a Service: the page's children are listed once per child type
  and grouped by owner), over an in-memory cluster, so the figure is the portal's own cost
  (the API server's is not ours);
- web UI: p95 server time of the overview and of a 50-row list page with 10,000 objects in
  history and 500 live AIJobs (target <= 150 ms), and each page's weight with its stylesheet
  and script (target <= 200 KB).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hooks.api.aijob import AIJOB
from hooks.api.kind import Kind
from hooks.portal.app import build_portal, create_portal
from hooks.portal.auth import Identity
from hooks.portal.cluster import ObjectList, WatchEvent
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryQuery, HistoryStore, encode_continue
from hooks.portal.recorder import Recorder
from hooks.portal.state import record

START = datetime(2026, 1, 1, tzinfo=UTC)
PHASES = (("Pending", "False"), ("Running", "True"), ("Succeeded", "False"))


def aijob(
    index: int, phase: str = "Pending", ready: str = "False", step: int = 0
) -> dict[str, Any]:
    """Return a realistic AIJob as watched, in one of its phases."""
    created = START + timedelta(seconds=index)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {
                "type": "Ready",
                "status": ready,
                "reason": phase,
                "message": f"{phase}: 4 of 4 workers",
                "lastTransitionTime": (created + timedelta(minutes=step)).isoformat(),
            }
        ],
        "startTime": (created + timedelta(minutes=1)).isoformat(),
    }
    if phase == "Succeeded":
        status["completionTime"] = (created + timedelta(minutes=30 + index % 90)).isoformat()
    return {
        "apiVersion": "kubehooks.dev/v1alpha1",
        "kind": "AIJob",
        "metadata": {
            "name": f"job-{index}",
            "namespace": f"team-{index % 20}",
            "uid": f"uid-{index:08d}",
            "resourceVersion": str(1000 + index),
            "creationTimestamp": created.isoformat().replace("+00:00", "Z"),
            "labels": {"team": f"t{index % 20}", "model": f"m{index % 7}"},
        },
        "spec": {"image": "trainer:1", "workers": 4, "gpusPerWorker": 2},
        "status": status,
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Return (p50, p95) in milliseconds."""
    ordered = sorted(samples)
    return (
        statistics.median(ordered) * 1000,
        ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
    )


def measure_recording(root: Path, objects: int) -> float:
    """Return transitions per second recorded (3 phases per object, batches of 1,000)."""
    store = HistoryStore.open(f"sqlite:///{root / 'recording.sqlite3'}")
    recorder = Recorder([AIJOB], _NoCluster(), store, buffer_size=objects * 4)
    events = [
        WatchEvent("ADDED" if step == 0 else "MODIFIED", aijob(i, phase, ready, step))
        for step, (phase, ready) in enumerate(PHASES)
        for i in range(objects)
    ]
    began = time.perf_counter()
    for event in events:
        recorder.consume(AIJOB, event)
        if len(recorder.buffer) >= 1000:
            recorder.flush()
    while recorder.buffer:
        recorder.flush()
    elapsed = time.perf_counter() - began
    transitions = objects * (len(PHASES) + 1)  # + the "created" entry of each ADDED
    store.engine.dispose()
    return transitions / elapsed


def fill_history(store: HistoryStore, rows: int) -> None:
    """Write `rows` finished AIJobs (one in 20 failed) in batches of 2,000."""
    now = START + timedelta(days=30)
    for start in range(0, rows, 2000):
        batch = [
            record(
                AIJOB,
                "ADDED",
                aijob(i, "Failed" if i % 20 == 0 else "Succeeded", "False", 2),
                now=now,
            )
            for i in range(start, min(rows, start + 2000))
        ]
        store.write(batch)


def measure_page(root: Path, rows: int, samples: int) -> tuple[float, float, float]:
    """Fill a history of `rows` objects; return (fill seconds, p50 ms, p95 ms) of 50-row pages."""
    store = HistoryStore.open(f"sqlite:///{root / 'page.sqlite3'}")
    began = time.perf_counter()
    fill_history(store, rows)
    filled = time.perf_counter() - began
    chooser = random.Random(17)
    timings = []
    for _ in range(samples):
        anchor = chooser.randrange(rows)
        token = encode_continue(START + timedelta(seconds=anchor), f"uid-{anchor:08d}")
        namespaces = (
            frozenset({f"team-{chooser.randrange(20)}"}) if chooser.random() < 0.5 else None
        )
        query = HistoryQuery("aijobs", namespaces, limit=50, continue_token=token)
        began = time.perf_counter()
        store.page(query)
        timings.append(time.perf_counter() - began)
    store.engine.dispose()
    p50, p95 = percentiles(timings)
    return filled, p50, p95


class _NoCluster:
    """The recorder's cluster when it is fed events directly."""

    def list(self, kind: Kind, namespace: str | None, **_: Any) -> ObjectList:
        return ObjectList([], None, "1")

    def watch(self, kind: Kind, version: str, *, timeout_seconds: int) -> Iterator[WatchEvent]:
        return iter(())

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def create(self, kind: Kind, ns: str, body: dict[str, Any], *, as_user: Identity) -> Any:
        raise NotImplementedError

    def patch(self, kind: Kind, ns: str, name: str, p: dict[str, Any], *, as_user: Identity) -> Any:
        raise NotImplementedError

    def delete(self, kind: Kind, namespace: str, name: str, *, as_user: Identity) -> None:
        raise NotImplementedError

    def list_children(self, api_version: str, resource: str, ns: str, selector: str) -> Any:
        return []

    def ping(self) -> bool:
        return True


class _ListCluster(_NoCluster):
    """Answers every list of AIJobs with the same prebuilt objects, as a warm API server would
    (other kinds have none), and each object's children: a Job and a Service of its name."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self.children = {
            resource: [_child(kind, parent) for parent in objects]
            for resource, kind in (("jobs", "Job"), ("services", "Service"))
        }
        self.children_calls = 0

    def list(self, kind: Kind, namespace: str | None, **_: Any) -> ObjectList:
        return ObjectList(self.objects if kind.plural == "aijobs" else [], None, "1")

    def list_children(self, api_version: str, resource: str, ns: str, selector: str) -> Any:
        self.children_calls += 1
        return self.children.get(resource, [])


def _child(kind: str, parent: dict[str, Any]) -> dict[str, Any]:
    meta = parent["metadata"]
    owner = {"kind": "AIJob", "name": meta["name"], "uid": meta["uid"], "controller": True}
    return {
        "kind": kind,
        "metadata": {
            "name": f"{meta['name']}-workers",
            "namespace": meta["namespace"],
            "labels": {"app.kubernetes.io/instance": meta["name"]},
            "ownerReferences": [owner],
        },
        "status": {"ready": 4} if kind == "Job" else {},
    }


def _settings(root: Path) -> PortalSettings:
    tokens = root / "token.csv"
    tokens.write_text("bench-token,bench,1,admins\n")
    return PortalSettings.model_validate(
        {"tokenFile": str(tokens), "tenancy": {"groups": {"admins": ["*"]}}}
    )


def measure_facade(root: Path, objects: int, samples: int) -> tuple[float, float]:
    """Return (p50, p95) ms of GET .../aijobs?limit=N through the facade, N = `objects`."""
    cluster = _ListCluster([aijob(i, "Running", "True", 1) for i in range(objects)])
    portal = build_portal(_settings(root), cluster, None, dev=False)
    client = create_portal(portal).test_client()
    headers = {"Authorization": "Bearer bench-token"}
    url = f"/api/v1/namespaces/team-1/aijobs?limit={objects}"
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        answer = client.get(url, headers=headers)
        timings.append(time.perf_counter() - began)
        items = answer.json["items"]  # type: ignore[index]
        assert answer.status_code == 200 and len(items) == objects
        assert all(len(item["children"]) == 2 for item in items)
    assert cluster.children_calls == 2 * samples, "one list per child type per page"
    return percentiles(timings)


UI_PAGES = {"overview": "/", "50-row list": "/kinds/aijobs?sort=created&dir=desc"}


def measure_ui(
    root: Path, history_rows: int, live: int, samples: int
) -> dict[str, tuple[float, float, int]]:
    """Return page -> (p50 ms, p95 ms, KB with its stylesheet and script) of the web UI, signed
    in as a user who sees every namespace, over a history of `history_rows` records."""
    store = HistoryStore.open(f"sqlite:///{root / 'ui.sqlite3'}")
    fill_history(store, history_rows)
    cluster = _ListCluster([aijob(i, "Running", "True", 1) for i in range(live)])
    portal = build_portal(_settings(root), cluster, store, dev=False)
    portal.clock = lambda: START + timedelta(days=30)
    client = create_portal(portal).test_client()
    form = client.get("/signin").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match is not None
    client.post("/signin", data={"csrf": match.group(1), "token": "bench-token"})
    assets = sum(
        len(client.get(f"/assets/{name}").get_data()) for name in ("portal.css", "portal.js")
    )
    out = {}
    for name, url in UI_PAGES.items():
        timings = []
        size = 0
        for _ in range(samples):
            began = time.perf_counter()
            answer = client.get(url)
            timings.append(time.perf_counter() - began)
            assert answer.status_code == 200, answer.status_code
            size = len(answer.get_data())
        p50, p95 = percentiles(timings)
        out[name] = (p50, p95, (size + assets) // 1024)
    store.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print them next to their targets."""
    parser = argparse.ArgumentParser(prog="python -m bench.portal")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    record_objects, rows, page_samples, list_samples, ui_samples = (
        (500, 10_000, 50, 10, 5) if args.quick else (5_000, 100_000, 300, 30, 30)
    )
    with tempfile.TemporaryDirectory(prefix="kubehooks-bench-portal-") as folder:
        root = Path(folder)
        rate = measure_recording(root, record_objects)
        filled, page_p50, page_p95 = measure_page(root, rows, page_samples)
        list_p50, list_p95 = measure_facade(root, 1000, list_samples)
        ui = measure_ui(root, 10_000, 500, ui_samples)
    lines = [
        ("recording into SQLite", f"{rate:,.0f} transitions/s", ">= 2,000/s", rate >= 2000),
        (
            f"50-row page of {rows:,} rows",
            f"p50 {page_p50:.1f} ms, p95 {page_p95:.1f} ms (filled in {filled:.1f} s)",
            "p95 <= 20 ms",
            page_p95 <= 20,
        ),
        (
            "facade list of 1,000 + children",
            f"p50 {list_p50:.1f} ms, p95 {list_p95:.1f} ms",
            "p95 <= 100 ms",
            list_p95 <= 100,
        ),
    ]
    for name, (p50, p95, kilobytes) in ui.items():
        lines.append(
            (f"UI {name}", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms", "p95 <= 150 ms", p95 <= 150)
        )
        lines.append((f"UI {name} weight", f"{kilobytes} KB", "<= 200 KB", kilobytes <= 200))
    print(f"{'measure':<32} {'figure':<52} {'target':<14} met")
    for name, figure, target, met in lines:
        print(f"{name:<32} {figure:<52} {target:<14} {'yes' if met else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
