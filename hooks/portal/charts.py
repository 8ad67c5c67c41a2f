"""Pure: the geometry of the UI's two charts, drawn by the templates as inline SVG.

The phase timeline: each phase of an object a bar on a time axis (one row each, in order),
failed phases marked. The duration chart: one bar per history record. Server-side, so they read
with JavaScript off; the page's script only refreshes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hooks.portal.state import age_text, parse_time

WIDTH = 800
LABEL = 150
ROW = 26
AXIS = 30
FAILED = frozenset({"Failed", "PreFailed", "Error"})
TONES = {
    "Succeeded": "ok",
    "Ready": "ok",
    "Running": "run",
    "Migrating": "run",
    "Pending": "wait",
    "Created": "wait",
    "Suspended": "hold",
}


def tone(phase: str | None) -> str:
    """Return a phase's colour class: ok, run, wait, hold, fail or other."""
    if phase in FAILED:
        return "fail"
    return TONES.get(phase or "Created", "other")


@dataclass(frozen=True)
class Bar:
    """One bar: where it is drawn, its row label, its colour class and its tooltip."""

    label: str
    x: float
    y: float
    width: float
    tone: str
    failed: bool
    title: str


@dataclass(frozen=True)
class Tick:
    """One axis label."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A whole chart: the SVG's size, its bars and its axis."""

    width: int
    height: int
    label_width: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    caption: str


def _scale(start: float, end: float) -> float:
    return (WIDTH - LABEL - 10) / max(end - start, 1.0)


def timeline_chart(entries: list[dict[str, Any]], now: datetime) -> Chart | None:
    """Return the phase timeline of a history record's entries; None without entries."""
    spans: list[tuple[str, datetime, str]] = []
    end = now
    for entry in entries:
        when = parse_time(entry.get("time"))
        if when is None:
            continue
        if entry.get("event") == "deleted":
            end = when
            break
        phase = str(entry.get("phase") or "Created")
        if spans and spans[-1][0] == phase:
            continue
        spans.append((phase, when, str(entry.get("reason") or "")))
    if not spans:
        return None
    spans = spans[-30:]
    start = min(when for _, when, _ in spans)
    end = max(end, max(when for _, when, _ in spans))
    scale = _scale(start.timestamp(), end.timestamp())
    bars = []
    for index, (phase, began, reason) in enumerate(spans):
        until = spans[index + 1][1] if index + 1 < len(spans) else end
        x = LABEL + (began - start).total_seconds() * scale
        width = max(3.0, (until - began).total_seconds() * scale)
        lasted = age_text((until - began).total_seconds())
        title = f"{phase} for {lasted} from {began:%Y-%m-%d %H:%M:%S}" + (
            f" ({reason})" if reason else ""
        )
        bars.append(
            Bar(
                phase,
                round(x, 1),
                index * ROW,
                round(width, 1),
                tone(phase),
                phase in FAILED,
                title,
            )
        )
    total = (end - start).total_seconds()
    ticks = tuple(
        Tick(round(LABEL + total * part / 4 * scale, 1), "+" + age_text(total * part / 4))
        for part in range(5)
    )
    return Chart(
        WIDTH,
        len(bars) * ROW + AXIS,
        LABEL,
        tuple(bars),
        ticks,
        f"{len(bars)} phases over {age_text(total)}",
    )


def duration_chart(items: list[dict[str, Any]]) -> Chart | None:
    """Return one bar per history record with a duration; None when none has one."""
    timed = [item for item in items if item.get("durationSeconds") is not None][:50]
    if not timed:
        return None
    longest = max(float(item["durationSeconds"]) for item in timed)
    scale = _scale(0.0, longest)
    bars = tuple(
        Bar(
            f"{item.get('namespace')}/{item.get('name')}",
            LABEL,
            index * ROW,
            max(3.0, round(float(item["durationSeconds"]) * scale, 1)),
            tone(item.get("phase")),
            item.get("phase") in FAILED,
            f"{item.get('name')}: {item.get('phase')} after "
            f"{age_text(float(item['durationSeconds']))}",
        )
        for index, item in enumerate(timed)
    )
    ticks = tuple(
        Tick(round(LABEL + longest * part / 4 * scale, 1), age_text(longest * part / 4))
        for part in range(5)
    )
    return Chart(
        WIDTH, len(bars) * ROW + AXIS, LABEL, bars, ticks, f"durations of {len(bars)} records"
    )
