"""Children of answers to generated specs, created server-side in dry-run mode (issue 13, item 4).

Specs are drawn from each kind's own schema, and from that schema without its patterns, lengths
and bounds (a fuzzer's view: names, ports, quantities and images take any value), some fields
kept from the controller's golden spec. Whenever the
hook accepts the spec, every child shape of its answer (the first and last child of each kind:
a PodCluster's Pods differ only in name and hostname) must pass the API server's real
validation with strict field validation: zero refused. A bounded sample: 25 specs per
controller, 175 in all.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks.contract import SyncRequest
from hooks.registry import CONTROLLERS
from hooks.runtime import bind, run_sync
from hooks.settings import Settings
from tests.cluster.artefacts import GOLDEN_NAMESPACE
from tests.cluster.kube import ApiError, Kube
from tests.goldens import GoldenCase, discover_cases
from tests.strategies import from_schema, relaxed

pytestmark = pytest.mark.cluster

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
SPECS_PER_CONTROLLER = 25


def _seed(controller: str) -> GoldenCase:
    cases = [c for c in discover_cases() if c.controller == controller and c.hook == "sync"]
    by_name = {case.folder.name: case for case in cases}
    return by_name.get("steady-state") or by_name.get("fresh-parent") or cases[0]


def _answer(case: GoldenCase, spec: Any) -> dict[str, Any]:
    request = copy.deepcopy(case.request)
    request["parent"]["spec"] = spec
    settings_ = Settings.model_validate(case.meta.get("config", {}))
    bound = bind(
        CONTROLLERS[case.controller],
        settings_.controller(case.controller),
        settings_.policy,
        settings_.limits,
    )
    return run_sync(bound, SyncRequest.model_validate(request), now=NOW).to_wire()


def _refused(answer: dict[str, Any]) -> bool:
    conditions = (answer.get("status") or {}).get("conditions") or []
    ready = [c for c in conditions if c.get("type") == "Ready"]
    return bool(ready) and ready[0].get("reason", "").startswith("Invalid")


def _shapes(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for child in children:
        by_kind.setdefault(child["kind"], []).append(child)
    return [
        c
        for group in by_kind.values()
        for c in ([group[0], group[-1]] if len(group) > 1 else group)
    ]


def _dry_run(kube: Kube, child: dict[str, Any]) -> str | None:
    """Return the API server's refusal of a child, or None when a dry-run create passes."""
    obj = copy.deepcopy(child)
    meta = obj.setdefault("metadata", {})
    if kube.resource_of(obj).namespaced:
        meta["namespace"] = meta.get("namespace") or GOLDEN_NAMESPACE
        kube.ensure_namespace(meta["namespace"])
    try:
        kube.create(obj, dry_run=True, strict=True)
    except ApiError as err:
        if err.status == 409:  # the name exists (an earlier create): not a refusal
            return None
        return f"{obj['kind']}/{meta.get('name')}: {err}"
    return None


@pytest.mark.parametrize("controller", sorted(CONTROLLERS))
def test_every_child_of_an_accepted_generated_spec_passes_a_dry_run(
    controller: str, kube: Kube
) -> None:
    case = _seed(controller)
    schema = CONTROLLERS[controller].kind.spec.model_json_schema(by_alias=True)
    golden = case.request["parent"]["spec"]
    drawn = st.one_of(from_schema(schema), from_schema(relaxed(schema)))
    # Some of the golden spec's own fields kept, so that kinds whose specs rarely come out
    # valid at random (cron schedules) still have accepted answers to check.
    kept = st.sets(st.sampled_from(sorted(golden)))
    specs = st.builds(lambda spec, keys: {**spec, **{k: golden[k] for k in keys}}, drawn, kept)
    checked: list[int] = []
    refusals: list[str] = []

    @settings(
        max_examples=SPECS_PER_CONTROLLER,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(spec=specs)
    def check(spec: Any) -> None:
        answer = _answer(case, spec)
        if _refused(answer):
            return
        checked.append(len(answer["children"]))
        for child in _shapes(answer["children"]):
            refusal = _dry_run(kube, child)
            if refusal:
                refusals.append(f"spec {spec!r}: {refusal}")
        assert not refusals, refusals

    check()
    print(f"{controller}: {len(checked)} accepted answers dry-run, {sum(checked)} children")
    assert checked, "no generated spec was accepted: the sample checked nothing"
