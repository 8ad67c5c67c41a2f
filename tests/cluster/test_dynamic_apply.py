"""The harness's copy of Metacontroller's client-side 3-way merge (tests/cluster/
dynamic_apply.py, from pkg/dynamic/apply/apply.go and pkg/controller/common/
manage_children.go). Plain unit tests: no cluster needed."""

from __future__ import annotations

import json

from tests.cluster.dynamic_apply import (
    LAST_APPLIED,
    apply_update,
    deep_equal,
    detect_list_map_key,
    for_create,
    go_json,
    merge,
)


def test_create_stores_the_answer_go_encoded_in_the_annotation() -> None:
    desired = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"z": "<&>", "b": "é"}}
    created = for_create(desired)
    text = created["metadata"]["annotations"][LAST_APPLIED]
    assert text == (
        '{"data":{"b":"é","z":"\\u003c\\u0026\\u003e"},"kind":"ConfigMap","metadata":{"name":"a"}}'
    )
    assert json.loads(text) == desired


def test_go_json_numbers() -> None:
    assert go_json({"a": 3.0, "b": 2.5, "c": 1e21, "d": 7, "e": True}) == (
        '{"a":3,"b":2.5,"c":1e+21,"d":7,"e":true}'
    )


def test_a_field_dropped_from_the_answer_is_removed_and_others_kept() -> None:
    observed = {"data": {"a": "1", "b": "2", "added-by-someone": "x"}}
    last = {"data": {"a": "1", "b": "2"}}
    desired = {"data": {"a": "9"}}
    assert merge(observed, last, desired) == {"data": {"a": "9", "added-by-someone": "x"}}


def test_a_list_of_objects_with_a_known_key_merges_item_by_item() -> None:
    observed = {
        "containers": [
            {"name": "app", "image": "a:1", "terminationMessagePath": "/dev/termination-log"},
            {"name": "sidecar", "image": "s:1"},
        ]
    }
    last = {"containers": [{"name": "app", "image": "a:1"}, {"name": "sidecar", "image": "s:1"}]}
    desired = {"containers": [{"name": "new", "image": "n:1"}, {"name": "app", "image": "a:2"}]}
    merged = merge(observed, last, desired)
    assert merged["containers"] == [
        {"name": "app", "image": "a:2", "terminationMessagePath": "/dev/termination-log"},
        {"name": "new", "image": "n:1"},
    ]


def test_other_lists_are_replaced_whole_and_lose_server_defaults() -> None:
    observed = {"args": ["a", "b"], "rules": [{"host": "x", "defaulted": True}]}
    desired = {"args": ["c"], "rules": [{"host": "x"}]}
    assert merge(observed, desired, desired) == {"args": ["c"], "rules": [{"host": "x"}]}
    assert detect_list_map_key([{"port": 80, "name": "a"}], [{"port": 81}]) == "port"
    assert detect_list_map_key([{"port": 80}], ["scalar"]) == ""


def test_apply_update_reverts_system_fields_and_status_and_rewrites_the_annotation() -> None:
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    observed = for_create(desired)
    observed["metadata"].update({"uid": "u", "resourceVersion": "7", "generation": 1})
    observed["status"] = {"seen": True}
    assert deep_equal(apply_update(observed, dict(desired)), observed)
    assert apply_update(observed, {**desired, "status": {"other": 1}})["status"] == {"seen": True}
    changed = apply_update(observed, {**desired, "data": {"k": "v"}})
    assert changed["data"] == {"k": "v"}
    assert changed["metadata"]["uid"] == "u"
    assert changed["status"] == {"seen": True}
    assert json.loads(changed["metadata"]["annotations"][LAST_APPLIED])["data"] == {"k": "v"}


def test_deep_equal_tells_json_types_apart_as_reflect_deepequal_does() -> None:
    assert not deep_equal({"a": 1}, {"a": 1.0})
    assert not deep_equal([True], [1])
    assert deep_equal({"a": [1, {"b": "c"}]}, {"a": [1, {"b": "c"}]})
