"""TEST HARNESS: Metacontroller's rolling updates, through ControllerRevisions.

When any `childResources` rule uses `RollingRecreate` or `RollingInPlace`, Metacontroller
(v4.17.2) does not simply call the sync hook: on every pass, including while finalizing a
parent that still holds its finalizer, it

1. claims the parent's ControllerRevisions (`metacontroller.k8s.io/v1alpha1`), one per
   remembered value of the revision-history fields (`spec` by default), and creates one for
   the current value when none matches;
2. calls the hook once per revision, with the parent as that revision saw it;
3. moves at most one rolling child per pass from older revisions to the latest, and only
   when every child the latest revision already holds is observed, up to date and passes
   the rule's status checks; it records why in an `Updated` condition that it adds to the
   hook's status with only `type`, `status`, `reason` and `message`;
4. writes the ControllerRevisions before any child is touched: a failure there (e.g. the
   API server forbids creating one in a terminating namespace) fails the whole pass, so the
   finalizer is never removed.

Two lookups mix map flavours, as in Metacontroller: claims and desired children use bare
names (v1 `RelativeObjectMap`), observed children use `namespace/name` (v2
`UniformObjectMap`). For a namespaced parent a child claimed by the latest revision is
therefore never found among the observed ones, and a rollout waits on it for good
("missing child ...").

Sources (metacontroller v4.17.2):
- pkg/controller/composite/controller_revision.go: `syncRevisions`, `claimRevisions`,
  `manageRevisions`, `newControllerRevision`, `controllerRevisionName`,
  `controllerRevisionHash`, `makePatch`, `applyPatch`, `pruneParentRevisions`,
  `parentRevision.addChild` / `removeChild` / `countChildren`;
- pkg/controller/composite/rolling_update.go: `syncRollingUpdate`, `shouldContinueRolling`,
  `syncRevisionClaims`, `childStatusCheck`, `isRollingStrategy`, `updatedConditionType`;
- pkg/dynamic/object/status.go: `SetCondition`, `StatusCondition.Object`;
- pkg/controller/common/api/v1/common.go `RelativeObjectMap.FindGroupKindName`,
  pkg/controller/common/api/v2/common.go `UniformObjectMap.FindGroupKindName`.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from tests.cluster.dynamic_apply import ApplyError, apply_update, deep_equal, go_json
from tests.cluster.kube import KubeObject

UPDATED = "Updated"
LABEL_API_GROUP = "metacontroller.k8s.io/apiGroup"
LABEL_RESOURCE = "metacontroller.k8s.io/resource"
REVISION_API_VERSION = "metacontroller.k8s.io/v1alpha1"
ROLLING = ("RollingRecreate", "RollingInPlace")


def api_group(api_version: str) -> str:
    """common.ParseAPIVersion: the group of `group/version`, empty for the core `v1`."""
    return api_version.rpartition("/")[0]


@dataclass
class Strategy:
    """One child rule's update strategy, keyed `Kind.apiGroup` (`claimMapKey`)."""

    method: str
    status_checks: tuple[KubeObject, ...] = ()

    @property
    def rolling(self) -> bool:
        return self.method in ROLLING


Strategies = dict[str, Strategy]


def claim_key(group: str, kind: str) -> str:
    """rolling_update.go `claimMapKey`."""
    return f"{kind}.{group}"


def is_rolling(strategies: Strategies, group: str, kind: str) -> bool:
    found = strategies.get(claim_key(group, kind))
    return found is not None and found.rolling


# -- revision-history patches and names ----------------------------------------------------------


def make_patch(parent: KubeObject, field_paths: list[str]) -> KubeObject:
    """controller_revision.go `makePatch`: the parent's values at the dotted field paths."""
    patch: KubeObject = {}
    _copy_paths(parent, patch, field_paths)
    return patch


def apply_patch(parent: KubeObject, patch: KubeObject, field_paths: list[str]) -> None:
    """controller_revision.go `applyPatch`: put a revision's values back into a parent copy."""
    _copy_paths(patch, parent, field_paths)


def _copy_paths(source: KubeObject, target: KubeObject, field_paths: list[str]) -> None:
    """Copy the values `source` has at the dotted paths into `target`, making parents on the way."""
    for path in field_paths:
        parts = path.split(".")
        value: Any = source
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if value is None:
            continue
        into = target
        for part in parts[:-1]:
            into = into.setdefault(part, {})
        into[parts[-1]] = copy.deepcopy(value)


def revision_name(plural: str, group: str, parent_uid: str, patch: KubeObject) -> str:
    """`controllerRevisionName` + `controllerRevisionHash`: `<plural>.<group>-<sha1>`."""
    prefix = f"{plural}.{group or 'core'}"[: 253 - 41]
    digest = hashlib.sha1(parent_uid.encode() + go_json(patch).encode(), usedforsecurity=False)
    return f"{prefix}-{digest.hexdigest()}"


def new_revision(
    parent: KubeObject,
    patch: KubeObject,
    *,
    plural: str,
    group: str,
    generate_selector: bool,
    owner: KubeObject,
) -> KubeObject:
    """controller_revision.go `newControllerRevision` (not created yet; no children)."""
    meta = parent["metadata"]
    if generate_selector:
        labels = {"controller-uid": meta["uid"]}
    else:
        template = ((parent.get("spec") or {}).get("template") or {}).get("metadata") or {}
        labels = dict(template.get("labels") or {})
    labels[LABEL_API_GROUP] = group
    labels[LABEL_RESOURCE] = plural
    return {
        "apiVersion": REVISION_API_VERSION,
        "kind": "ControllerRevision",
        "metadata": {
            "name": revision_name(plural, group, meta["uid"], patch),
            "namespace": meta.get("namespace"),
            "labels": labels,
            "ownerReferences": [owner],
        },
        "parentPatch": copy.deepcopy(patch),
    }


# -- one revision of the parent ------------------------------------------------------------------


@dataclass
class ParentRevision:
    """controller_revision.go `parentRevision`."""

    parent: KubeObject
    revision: KubeObject | None = None
    answer: KubeObject = field(default_factory=dict)
    desired: dict[str, dict[str, KubeObject]] = field(default_factory=dict)
    """`claimMapKey` -> bare name -> desired child (a v1 RelativeObjectMap, version ignored)."""

    def children(self) -> list[KubeObject]:
        return list((self.revision or {}).get("children") or [])

    def count_children(self) -> int:
        return sum(len(ck.get("names") or []) for ck in self.children())

    def add_child(self, group: str, kind: str, name: str) -> None:
        assert self.revision is not None
        groups = self.revision.setdefault("children", [])
        for ck in groups:
            if ck["apiGroup"] == group and ck["kind"] == kind:
                if name not in ck["names"]:
                    ck["names"].append(name)
                return
        groups.append({"apiGroup": group, "kind": kind, "names": [name]})

    def remove_child(self, group: str, kind: str, name: str) -> None:
        for ck in self.children():
            if ck["apiGroup"] == group and ck["kind"] == kind and name in ck["names"]:
                ck["names"].remove(name)
                return

    def find_desired(self, group: str, kind: str, name: str) -> KubeObject | None:
        return self.desired.get(claim_key(group, kind), {}).get(name)


def relative_map(
    parent: KubeObject, children: list[KubeObject]
) -> dict[str, dict[str, KubeObject]]:
    """`commonv1.MakeRelativeObjectMap`: a namespaced parent's children keyed by bare name."""
    cluster_scoped = not parent["metadata"].get("namespace")
    out: dict[str, dict[str, KubeObject]] = {}
    for child in children:
        meta = child.get("metadata") or {}
        name = meta.get("name", "")
        if cluster_scoped and meta.get("namespace"):
            name = f"{meta['namespace']}/{name}"
        key = claim_key(api_group(str(child.get("apiVersion", ""))), str(child.get("kind", "")))
        out.setdefault(key, {})[name] = child
    return out


def find_observed(
    observed: dict[str, list[KubeObject]], group: str, kind: str, name: str
) -> KubeObject | None:
    """`UniformObjectMap.FindGroupKindName`: observed children are keyed `namespace/name`
    (a bare name for a cluster-scoped child), so a bare name finds no namespaced child."""
    for objects in observed.values():
        for obj in objects:
            meta = obj["metadata"]
            key = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
            if api_group(obj["apiVersion"]) == group and obj["kind"] == kind and key == name:
                return obj
    return None


# -- the rollout ---------------------------------------------------------------------------------


def set_condition(status: KubeObject, condition: KubeObject) -> None:
    """status.go `SetCondition`: replace the condition of that type, or append it."""
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        for index, item in enumerate(conditions):
            if isinstance(item, dict) and item.get("type") == condition["type"]:
                conditions[index] = condition
                return
        conditions.append(condition)
    else:
        status["conditions"] = [condition]


def updated_condition(status: str, reason: str, message: str) -> KubeObject:
    """`StatusCondition.Object`: type and status, reason and message when not empty; never
    `lastTransitionTime` or `observedGeneration`."""
    condition = {"type": UPDATED, "status": status}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def sync_revision_claims(
    revisions: list[ParentRevision], strategies: Strategies
) -> dict[str, dict[str, ParentRevision]]:
    """rolling_update.go `syncRevisionClaims`: who claims which child, latest first.

    As in Go, a kept group keeps its original name list (only the claim map is filtered).
    """
    latest = revisions[0]
    claimed: dict[str, dict[str, ParentRevision]] = {}
    for pr in revisions:
        kept = []
        for ck in pr.children():
            if not is_rolling(strategies, ck["apiGroup"], ck["kind"]):
                continue
            key = claim_key(ck["apiGroup"], ck["kind"])
            names = []
            for name in ck.get("names") or []:
                if latest.find_desired(ck["apiGroup"], ck["kind"], name) is None:
                    continue
                if name in claimed.get(key, {}):
                    continue
                claimed.setdefault(key, {})[name] = pr
                names.append(name)
            if names:
                kept.append(ck)
        if pr.revision is not None:
            pr.revision["children"] = kept
    return claimed


def child_status_check(checks: tuple[KubeObject, ...], child: KubeObject) -> str:
    """rolling_update.go `childStatusCheck`: the first failed check, or empty."""
    conditions = ((child.get("status") or {}).get("conditions")) or []
    for check in checks:
        found = next(
            (c for c in conditions if isinstance(c, dict) and c.get("type") == check.get("type")),
            None,
        )
        if found is None:
            return f"required condition type missing: {check.get('type')!r}"
        for key in ("status", "reason"):
            if check.get(key) is not None and found.get(key, "") != check[key]:
                return (
                    f"{check['type']!r} condition {key} is {found.get(key, '')!r} "
                    f"(want {check[key]!r})"
                )
    return ""


def should_continue_rolling(
    latest: ParentRevision, observed: dict[str, list[KubeObject]], strategies: Strategies
) -> str:
    """rolling_update.go `shouldContinueRolling`: why the rollout must wait, or empty."""
    for ck in latest.children():
        strategy = strategies.get(claim_key(ck["apiGroup"], ck["kind"]))
        if strategy is None or not strategy.rolling:
            continue
        for name in ck.get("names") or []:
            child = find_observed(observed, ck["apiGroup"], ck["kind"], name)
            if child is None:
                return f"missing child {ck['kind']} {name}"
            update = latest.find_desired(ck["apiGroup"], ck["kind"], name)
            try:
                if update is None:
                    raise ApplyError("no desired object")
                updated = apply_update(child, copy.deepcopy(update))
            except ApplyError as err:
                return f"can't check if child {ck['kind']} {name} is updated: {err}"
            if not deep_equal(child, updated):
                return f"child {ck['kind']} {name} is not updated yet"
            if strategy.method == "RollingInPlace":
                seen = (child.get("status") or {}).get("observedGeneration")
                if isinstance(seen, int) and seen > 0:
                    if seen < int(child["metadata"].get("generation") or 0):
                        return (
                            f"child {ck['kind']} {name} with RollingInPlace update strategy "
                            "hasn't observed latest spec"
                        )
            failed = child_status_check(strategy.status_checks, child)
            if failed:
                return f"child {ck['kind']} {name} failed status check: {failed}"
    return ""


def sync_rolling_update(
    revisions: list[ParentRevision],
    observed: dict[str, list[KubeObject]],
    strategies: Strategies,
) -> KubeObject:
    """rolling_update.go `syncRollingUpdate`: move at most one child to the latest revision,
    and return the `Updated` condition it put into the latest answer's status."""
    claimed = sync_revision_claims(revisions, strategies)
    latest = revisions[0]
    for key, objects in latest.desired.items():
        kind, _, group = key.partition(".")
        if not is_rolling(strategies, group, kind):
            continue
        claims = claimed.setdefault(key, {})
        for name, desired in objects.items():
            pr = claims.get(name)
            if pr is None:
                latest.add_child(group, kind, name)
                claims[name] = latest
                continue
            if pr is latest:
                continue
            child = find_observed(observed, group, kind, name)
            if child is None:
                continue
            try:
                updated = apply_update(child, copy.deepcopy(desired))
            except ApplyError:
                continue
            if deep_equal(child, updated):
                latest.add_child(group, kind, name)
                pr.remove_child(group, kind, name)
                claims[name] = latest

    status = latest.answer.get("status")
    if not isinstance(status, dict):
        status = latest.answer["status"] = {}  # Go would panic on a nil status map
    for child in latest.answer.get("children") or []:
        group, kind = api_group(str(child.get("apiVersion", ""))), str(child.get("kind", ""))
        name = (child.get("metadata") or {}).get("name", "")
        if not is_rolling(strategies, group, kind):
            continue
        if claimed.get(claim_key(group, kind), {}).get(name) is latest:
            continue
        waiting = should_continue_rolling(latest, observed, strategies)
        if waiting:
            condition = updated_condition("False", "RolloutWaiting", waiting)
        else:
            latest.add_child(group, kind, name)
            for pr in revisions[1:]:
                pr.remove_child(group, kind, name)
            condition = updated_condition("False", "RolloutProgressing", f"updating {kind} {name}")
        set_condition(status, condition)
        return condition
    assert latest.revision is not None
    name = latest.revision["metadata"]["name"]
    condition = updated_condition("True", "OnLatestRevision", f"latest ControllerRevision: {name}")
    set_condition(status, condition)
    return condition


def prune(revisions: list[ParentRevision]) -> list[ParentRevision]:
    """controller_revision.go `pruneParentRevisions`: the latest, plus any holding a child."""
    return [revisions[0], *(pr for pr in revisions[1:] if pr.count_children() > 0)]


def desired_children(revisions: list[ParentRevision]) -> list[KubeObject]:
    """The latest answer's children, each still claimed by an older revision replaced by
    that revision's version (`syncRevisions`, `ReplaceObjectIfExists`), in answer order."""
    latest = revisions[0]
    replaced: dict[tuple[str, str], KubeObject] = {}
    for pr in revisions[1:]:
        for ck in pr.children():
            for name in ck.get("names") or []:
                older = pr.find_desired(ck["apiGroup"], ck["kind"], name)
                if older is not None:
                    replaced[(claim_key(ck["apiGroup"], ck["kind"]), name)] = older
    out = []
    for child in latest.answer.get("children") or []:
        key = claim_key(api_group(str(child.get("apiVersion", ""))), str(child.get("kind", "")))
        out.append(replaced.get((key, child["metadata"]["name"]), child))
    return out


def aggregate(revisions: list[ParentRevision]) -> KubeObject:
    """The one answer `syncRevisions` returns: the latest status, the merged children, the
    smallest positive `resyncAfterSeconds`, and `finalized` only if every revision says so."""
    resyncs = [
        float(pr.answer.get("resyncAfterSeconds") or 0)
        for pr in revisions
        if float(pr.answer.get("resyncAfterSeconds") or 0) > 0
    ]
    return {
        "status": revisions[0].answer.get("status"),
        "children": desired_children(revisions),
        "resyncAfterSeconds": min(resyncs) if resyncs else 0,
        "finalized": all(pr.answer.get("finalized") is True for pr in revisions),
    }
