"""The UI's pure parts: the form generated from a kind's schema and read back, and the charts."""

from __future__ import annotations

from datetime import UTC, datetime

from hooks.api.aijob import AIJOB
from hooks.crd import openapi_schema
from hooks.portal.api import spec_errors
from hooks.portal.charts import duration_chart, timeline_chart
from hooks.portal.forms import (
    default_form,
    errors_by_field,
    kind_fields,
    parse_labels,
    parse_spec,
)
from hooks.registry import load_controllers
from hooks.settings import Settings


def test_every_registered_kinds_default_form_reads_back_as_its_defaults() -> None:
    """An untouched form of any kind, plugins included, reads back to a spec whose only
    complaints are its required fields (nothing the form made up is refused)."""
    for name, controller in load_controllers(Settings()).items():
        kind = controller.kind
        schema = openapi_schema(kind.spec)
        spec, unreadable = parse_spec(schema, default_form(schema))
        assert unreadable == {}, name
        required = {f"spec.{key}" for key in schema.get("required") or ()}
        complaints = {error["field"] for error in spec_errors(kind, spec)}
        assert complaints <= required | {"spec"}, (name, complaints)


def test_texts_become_typed_values_and_bad_text_is_left_for_the_model() -> None:
    schema = openapi_schema(AIJOB.spec)
    form = {
        "spec.image": "trainer:1",
        "spec.workers": "3",
        "spec.gpusPerWorker": "two",
        "spec.suspend": "on",
        "spec.command": "[python, train.py]",
        "spec.args": "{unclosed",
        "spec.resources.requests": "cpu: '2'",
    }
    spec, unreadable = parse_spec(schema, form)
    assert spec["workers"] == 3 and spec["suspend"] is True
    assert spec["command"] == ["python", "train.py"]
    assert spec["resources"] == {"requests": {"cpu": "2"}}
    assert spec["gpusPerWorker"] == "two"  # the spec model says what is wrong with it
    assert list(unreadable) == ["spec.args"]
    details = spec_errors(AIJOB, spec)
    placed, loose = errors_by_field(kind_fields(AIJOB), details)
    assert "integer" in placed["spec.gpusPerWorker"] and loose == []


def test_an_error_inside_a_list_lands_on_the_lists_textarea() -> None:
    placed, loose = errors_by_field(
        kind_fields(AIJOB),
        [
            {"field": "spec.env.0.name", "message": "bad name"},
            {"field": "metadata.annotations", "message": "nowhere"},
        ],
    )
    assert placed == {"spec.env": "0.name: bad name"}
    assert loose == ["metadata.annotations: nowhere"]


def test_labels_are_key_value_lines() -> None:
    assert parse_labels("team=a\n\nmodel = m1, x=") == {"team": "a", "model": "m1", "x": ""}
    assert parse_labels("no-equals") is None


def test_the_timeline_draws_a_bar_per_phase_and_marks_failures() -> None:
    entries = [
        {"time": "2026-01-01T00:00:00Z", "event": "created", "phase": None},
        {"time": "2026-01-01T00:01:00Z", "event": "changed", "phase": "Running"},
        {"time": "2026-01-01T00:01:30Z", "event": "changed", "phase": "Running"},
        {"time": "2026-01-01T00:04:00Z", "event": "changed", "phase": "Failed", "reason": "Oom"},
        {"time": "2026-01-01T00:05:00Z", "event": "deleted", "phase": "Failed"},
    ]
    chart = timeline_chart(entries, datetime(2026, 1, 2, tzinfo=UTC))
    assert chart is not None
    assert [(bar.label, bar.tone, bar.failed) for bar in chart.bars] == [
        ("Created", "wait", False),
        ("Running", "run", False),
        ("Failed", "fail", True),
    ]
    created, running, failed = chart.bars
    assert created.x == 150 and running.x < failed.x and failed.x + failed.width <= 790.1
    assert running.width == 3 * created.width  # 3 minutes against 1, until the deletion
    assert "(Oom)" in failed.title and chart.ticks[-1].label == "+5m"
    assert timeline_chart([], datetime(2026, 1, 2, tzinfo=UTC)) is None


def test_the_duration_chart_scales_to_the_longest() -> None:
    items = [
        {"name": "a", "namespace": "n", "phase": "Succeeded", "durationSeconds": 60.0},
        {"name": "b", "namespace": "n", "phase": "Failed", "durationSeconds": 120.0},
        {"name": "c", "namespace": "n", "phase": "Running", "durationSeconds": None},
    ]
    chart = duration_chart(items)
    assert chart is not None and [bar.label for bar in chart.bars] == ["n/a", "n/b"]
    assert chart.bars[1].width == 2 * chart.bars[0].width and chart.bars[1].failed
    assert duration_chart(items[2:]) is None
