"""TEST HARNESS: plays Metacontroller's part for one sync loop, against a real API server.

This is not Metacontroller, and nothing in production uses it: Metacontroller itself is the
engine that runs our hooks in a cluster. CI cannot build Metacontroller (its Go module path
is not served by the module proxy), so the harness copies the behaviour of Metacontroller
v4.17.2 that decides what reaches the API server, each part naming the file and function of
Metacontroller's source it follows (tests/cluster/README.md has the table). One call of
`Metacontroller.sync()` is one pass of `parentController.syncParentObject`
(pkg/controller/composite/controller.go), in its order:

0. (constructor) `newParentController` / `reconcileCompositeController`: the parent must be
   a CRD with the status subresource (pkg/controller/composite/metacontroller.go
   `Reconcile`), and the hooks' endpoint configs must resolve, Secrets included
   (tests/cluster/endpoints.py); otherwise no controller starts (`ControllerNotStarted`);
1. `finalizer.Manager.SyncObject` (pkg/controller/common/finalizer/finalizer.go): add
   `metacontroller.io/compositecontroller-<name>` when there is a finalize hook (never to a
   parent being deleted), remove it when there is none;
2. `claimChildren`: controller-owned children of each rule in the parent's namespace, and
   orphans matching the selector, adopting and releasing as `ClaimObject` does;
3. customize (cached per parent UID and generation) and the related objects it selects;
4. `syncRevisions` (pkg/controller/composite/controller_revision.go): with any rolling
   strategy, ControllerRevisions, one hook call per revision and the `Updated` condition
   (tests/cluster/revisions.py); otherwise one call of the sync hook, or of the finalize hook
   when the parent is being deleted or stopped matching (`determineHookToCall`,
   pkg/controller/composite/hooks.go); ETags as `webhookExecutorEtag` (pkg/hooks/
   webhook_etag.go, keyed by kind, namespace, name); strict v2 decoding;
5. `finalized: true` removes the finalizer;
6. every desired child gets the parent's namespace (`applyNamespaceDefaults`) and the
   `controller-uid` label (generateSelector); a child off the selector fails the pass;
7. `common.ManageChildren` (pkg/controller/common/manage_children.go), with Metacontroller's
   default `DynamicApply`: observed children missing from the answer are deleted
   (background, UID precondition; already terminating ones skipped); new ones are created
   with the `metacontroller.k8s.io/last-applied-configuration` annotation; existing ones
   are compared by a client-side 3-way merge (tests/cluster/dynamic_apply.py) and, when it
   changes anything, left alone (OnDelete), deleted (Recreate, RollingRecreate) or PUT
   (InPlace, RollingInPlace). Children are managed only while the parent is alive, or
   being deleted with our finalizer and no GC finalizer (`Manager.ShouldFinalize`);
8. `updateParentStatus`: the answer's status replaces the whole status, with
   `observedGeneration` injected, written through `/status` only when it differs from the
   live one (404 and 409 ignored).

Differences, on purpose: webhook URLs are redirected to the local hook server (path kept;
the resolved Authorization header is sent, TLS is not used); a desired child of a type that
is not a child rule fails the pass (Metacontroller would create it and never see it again);
there are no informers or watches: the tests decide when a parent is synced, and every read
is live.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.cluster import revisions
from tests.cluster.dynamic_apply import ApplyError, apply_update, deep_equal, for_create
from tests.cluster.endpoints import EndpointConfigError, resolve_endpoint_config
from tests.cluster.kube import ApiError, Kube, KubeObject, Resource

CONTROLLER_UID = "controller-uid"
GC_FINALIZERS = ("foregroundDeletion", "orphan")
RESPONSE_KEYS = frozenset({"status", "children", "resyncAfterSeconds", "finalized"})
CUSTOMIZE_KEYS = frozenset({"relatedResources"})
DEFAULT_TIMEOUT = 10.0
"""Metacontroller's default webhook timeout, in seconds."""


class HarnessError(AssertionError):
    """A sync failed the way Metacontroller would report it (a SyncError event)."""


class ControllerNotStarted(HarnessError):
    """Metacontroller would not start this CompositeController (a CreateError event, or a
    SyncError event on the CompositeController), so no parent of it is ever synced."""


@dataclass(frozen=True)
class Hook:
    """One webhook of the CompositeController, redirected to the local hook server."""

    name: str
    version: str
    url: str
    timeout: float
    etag: bool
    auth_header: str = ""
    """The Authorization header its endpoint config resolved to (empty: none)."""


@dataclass(frozen=True)
class ChildRule:
    """One `childResources` entry, resolved through discovery."""

    resource: Resource
    method: str
    status_checks: tuple[KubeObject, ...]

    @property
    def key(self) -> str:
        return group_key(self.resource.kind, self.resource.api_version)


@dataclass
class SyncResult:
    """What one sync pass did; `errors` are what Metacontroller would report as SyncError."""

    parent: str
    hook: str = ""
    """`sync`, `finalize`, or empty when the parent is gone or not ours to handle."""
    request: KubeObject | None = None
    response: KubeObject | None = None
    etag: str = ""
    """The ETag of the hook's answer (the server sends none for a clock-dependent answer)."""
    cached: bool = False
    """The hook answered 304/412 to If-None-Match, so the cached answer was used."""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    """The `Updated` condition's message while a rolling update waits (RolloutWaiting)."""
    rollout: KubeObject | None = None
    """The `Updated` condition a rolling strategy added to the status, if any."""
    revisions: list[str] = field(default_factory=list)
    """ControllerRevisions created, updated or deleted by this pass."""
    noop_updates: list[str] = field(default_factory=list)
    """InPlace PUTs the API server stored unchanged (the merge differed only locally)."""
    skipped: list[str] = field(default_factory=list)
    """Creates that hit AlreadyExists, swallowed as Metacontroller does."""
    warnings: list[str] = field(default_factory=list)
    """`Warning` headers of child writes (e.g. unknown fields the API server dropped)."""
    status_written: bool = False
    finalizer_added: bool = False
    finalizer_removed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Say whether this pass wrote anything (another pass may then see a new world)."""
        return bool(
            self.created
            or self.updated
            or self.deleted
            or self.revisions
            or self.adopted
            or self.released
            or self.status_written
            or self.finalizer_added
            or self.finalizer_removed
        )

    def check(self) -> SyncResult:
        """Raise HarnessError when the pass failed; return self otherwise."""
        if self.errors:
            raise HarnessError(f"sync of {self.parent} failed: " + "; ".join(self.errors))
        return self


def group_key(kind: str, api_version: str) -> str:
    """Return Metacontroller's group key: `Kind.version` or `Kind.group/version`."""
    return f"{kind}.{api_version}"


def qualified_name(obj: KubeObject, version: str) -> str:
    """Return the inner map key: `namespace/name` for v2 (name when cluster-scoped), else name."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace"), meta["name"]
    if version == "v2" and namespace:
        return f"{namespace}/{name}"
    return str(name)


def object_ref(obj: KubeObject) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def parse_duration(text: str | None) -> float:
    """Parse a Go duration such as `10s`, `1m30s` or `500ms`; non-positive means the default."""
    if not text:
        return DEFAULT_TIMEOUT
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(ms|us|µs|ns|h|m|s)", text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a Go duration: {text!r}")
    seconds = sum(float(number) * units[unit] for number, unit in parts)
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


def selector_matches(selector: KubeObject | None, labels: dict[str, str]) -> bool:
    """Evaluate a metav1.LabelSelector; None matches nothing, `{}` matches everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def strict_json(text: str) -> Any:
    """Decode JSON, refusing duplicate keys as Go's UnmarshalStrict does."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"duplicate key {key!r}")
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs)


def controller_ref(obj: KubeObject) -> KubeObject | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


class Metacontroller:
    """TEST HARNESS for one CompositeController: `sync()` runs one pass of the sync loop.

    :param controller: the CompositeController object (as in metacontroller/*.yaml; the
        stored one when installed), sent verbatim as `controller` in hook requests.
    :param hook_base_url: where the hook server listens; each webhook URL keeps its path.
    """

    def __init__(self, kube: Kube, controller: KubeObject, hook_base_url: str) -> None:
        self.kube = kube
        self.controller = controller
        spec = controller["spec"]
        self.spec = spec
        self.name = controller["metadata"]["name"]
        self.finalizer = f"metacontroller.io/compositecontroller-{self.name}"
        parent = spec["parentResource"]
        self.parent_resource = kube.resource(parent["apiVersion"], plural=parent["resource"])
        self.parent_selector: KubeObject | None = parent.get("labelSelector")
        self.generate_selector = bool(spec.get("generateSelector"))
        self.rules = [
            ChildRule(
                kube.resource(child["apiVersion"], plural=child["resource"]),
                str((child.get("updateStrategy") or {}).get("method") or "OnDelete"),
                tuple(
                    ((child.get("updateStrategy") or {}).get("statusChecks") or {}).get(
                        "conditions"
                    )
                    or ()
                ),
            )
            for child in spec.get("childResources") or []
        ]
        # rolling_update.go `makeUpdateStrategyMap`: keyed `Kind.apiGroup`, version ignored.
        self.strategies: revisions.Strategies = {
            revisions.claim_key(
                revisions.api_group(rule.resource.api_version), rule.resource.kind
            ): (revisions.Strategy(rule.method, rule.status_checks))
            for rule in self.rules
            if rule.method != "OnDelete"
        }
        self.any_rolling = any(s.rolling for s in self.strategies.values())
        self.revision_paths = list(
            (parent.get("revisionHistory") or {}).get("fieldPaths") or ["spec"]
        )
        self._check_status_subresource(parent)
        configs = list(spec.get("endpointConfigs") or [])
        self.hooks = {}
        for name, hook in (spec.get("hooks") or {}).items():
            if name not in ("sync", "finalize", "customize"):
                continue
            try:
                resolved = resolve_endpoint_config(kube, name, hook.get("webhook"), configs)
            except EndpointConfigError as err:
                raise ControllerNotStarted(f"CompositeController {self.name}: {err}") from err
            auth = resolved.auth_header if resolved is not None else ""
            self.hooks[name] = self._hook(name, hook, hook_base_url, auth)
        if "sync" not in self.hooks:
            raise ValueError(f"CompositeController {self.name} has no sync hook")
        self.http = requests.Session()
        self.http.trust_env = False
        self._etags: dict[tuple[str, str, str, str], tuple[str, KubeObject]] = {}
        self._customized: dict[tuple[str, int], list[KubeObject]] = {}
        self.calls: list[tuple[str, int]] = []
        """(hook, HTTP status) of every webhook call, in order."""

    def _check_status_subresource(self, parent: KubeObject) -> None:
        """metacontroller.go `Reconcile`: a parent CRD (`<resource>.<group>`) without the
        status subresource on that version gets a SyncError event and no controller."""
        group, _, version = str(parent["apiVersion"]).rpartition("/")
        crds = self.kube.resource("apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
        crd = self.kube.get_or_none(crds, None, f"{parent['resource']}.{group}")
        if crd is None:
            raise ControllerNotStarted(f"no CRD {parent['resource']}.{group}")
        for served in crd["spec"]["versions"]:
            if served["name"] == version and "status" in (served.get("subresources") or {}):
                return
        raise ControllerNotStarted(
            f"ignoring, CRD {crd['metadata']['name']} does not have subresource 'Status' enabled"
        )

    @staticmethod
    def _hook(name: str, hook: KubeObject, base: str, auth_header: str = "") -> Hook:
        webhook = hook.get("webhook") or {}
        if webhook.get("url"):
            path = urlsplit(webhook["url"]).path
        else:
            path = str(webhook.get("path") or "")
        if not path.startswith("/"):
            raise ValueError(f"hook {name}: cannot tell the path of {webhook}")
        return Hook(
            name=name,
            version=str(hook.get("version") or "v1"),
            url=base.rstrip("/") + path,
            timeout=parse_duration(webhook.get("timeout")),
            etag=bool((webhook.get("etag") or {}).get("enabled")),
            auth_header=auth_header,
        )

    def close(self) -> None:
        self.http.close()

    # -- the loop -----------------------------------------------------------------------------

    def sync(self, namespace: str | None, name: str) -> SyncResult:
        """Run one pass of Metacontroller's sync loop for one parent."""
        result = SyncResult(parent=f"{namespace}/{name}" if namespace else name)
        parent = self.kube.get_or_none(self.parent_resource, namespace, name)
        if parent is None:
            return result
        meta = parent["metadata"]
        labels = meta.get("labels") or {}
        matches = self.parent_selector is None or selector_matches(self.parent_selector, labels)
        holds_finalizer = self.finalizer in (meta.get("finalizers") or [])
        if not matches and not holds_finalizer:
            return result  # not ours: Metacontroller ignores it
        deleting = bool(meta.get("deletionTimestamp"))
        has_finalize_hook = "finalize" in self.hooks
        if has_finalize_hook and not deleting and matches and not holds_finalizer:
            parent = self._set_finalizer(parent, present=True)
            result.finalizer_added = True
        elif not has_finalize_hook and holds_finalizer:
            parent = self._set_finalizer(parent, present=False)
            result.finalizer_removed = True
        holds_finalizer = self.finalizer in (parent["metadata"].get("finalizers") or [])
        finalizing = has_finalize_hook and (deleting or not matches)

        try:
            observed = self._claim(parent, result)
            related = self._related(parent)
        except HarnessError as err:
            result.errors.append(str(err))
            return result
        hook = self.hooks["finalize" if finalizing else "sync"]
        result.hook = hook.name
        finalizers = parent["metadata"].get("finalizers") or []
        should_finalize = (
            has_finalize_hook
            and holds_finalizer
            and not any(f in finalizers for f in GC_FINALIZERS)
        )
        try:
            if self.any_rolling and not (deleting and not should_finalize):
                answer = self._sync_revisions(hook, parent, observed, finalizing, result)
            else:
                request = self._request(hook, parent, observed, related, finalizing)
                result.request = request
                answer = self._call_sync(hook, parent, request, result)
        except HarnessError as err:
            result.errors.append(str(err))
            return result  # nothing applied: no child change, no status write
        result.response = answer

        if answer.get("finalized") is True and holds_finalizer:
            parent = self._set_finalizer(parent, present=False)
            result.finalizer_removed = True
            holds_finalizer = False

        try:
            desired = self._desired(parent, answer.get("children") or [])
        except HarnessError as err:
            result.errors.append(str(err))
            return result
        finalizers = parent["metadata"].get("finalizers") or []
        manage = not deleting or (
            holds_finalizer
            and has_finalize_hook
            and not any(f in finalizers for f in GC_FINALIZERS)
        )
        if manage:
            self._manage(parent, observed, desired, result)
        self._write_status(parent, answer.get("status"), result)
        return result

    def sync_until_stable(
        self, namespace: str | None, name: str, *, rounds: int = 20, before: Any = None
    ) -> list[SyncResult]:
        """Sync until a pass changes nothing; fail on a sync error or after `rounds` passes.

        `before(kube)` runs before every pass: the tests use it to play the kubelet's and
        kube-controller-manager's part (there are none), e.g. to mark new Pods Ready.
        Reaching a pass that writes nothing also proves the hook is deterministic: a status
        that changed on every call would be written on every pass.
        """
        results = []
        for _ in range(rounds):
            if before is not None:
                before(self.kube)
            result = self.sync(namespace, name).check()
            results.append(result)
            if not result.changed:
                return results
        summary = [
            {
                "created": r.created,
                "updated": r.updated,
                "deleted": r.deleted,
                "status": r.status_written,
                "waiting": r.waiting,
            }
            for r in results[-3:]
        ]
        raise HarnessError(f"{namespace}/{name} still changing after {rounds} passes: {summary}")

    def _request(
        self,
        hook: Hook,
        parent: KubeObject,
        observed: dict[str, list[KubeObject]],
        related: dict[str, list[KubeObject]],
        finalizing: bool,
    ) -> KubeObject:
        """`buildHookRequest` (pkg/controller/composite/hooks.go)."""
        return {
            "controller": self.controller,
            "parent": parent,
            "children": self._keyed(observed, hook.version),
            "related": self._keyed(related, hook.version),
            "finalizing": finalizing,
        }

    # -- step 4 with a rolling strategy: ControllerRevisions ---------------------------------

    def _sync_revisions(
        self,
        hook: Hook,
        parent: KubeObject,
        observed: dict[str, list[KubeObject]],
        finalizing: bool,
        result: SyncResult,
    ) -> KubeObject:
        """controller_revision.go `syncRevisions`: one hook call per ControllerRevision,
        at most one rolling child moved, the revisions written before any child."""
        observed_revisions = self._claim_revisions(parent)
        latest_patch = revisions.make_patch(parent, self.revision_paths)
        latest = revisions.ParentRevision(parent)
        parent_revisions = [latest]
        for revision in observed_revisions:
            patch = revision.get("parentPatch") or {}
            if deep_equal(patch, latest_patch):
                latest.revision = copy.deepcopy(revision)
                continue
            old_parent = copy.deepcopy(parent)
            revisions.apply_patch(old_parent, patch, self.revision_paths)
            parent_revisions.append(revisions.ParentRevision(old_parent, copy.deepcopy(revision)))
        if latest.revision is None:
            latest.revision = revisions.new_revision(
                parent,
                latest_patch,
                plural=self.parent_resource.name,
                group=revisions.api_group(self.parent_resource.api_version),
                generate_selector=self.generate_selector,
                owner=owner_reference(parent),
            )
        for pr in parent_revisions:
            related = self._related(pr.parent)
            request = self._request(hook, pr.parent, observed, related, finalizing)
            if pr is latest:
                result.request = request
            pr.answer = self._call_sync(hook, pr.parent, request, result)
            children = [copy.deepcopy(c) for c in pr.answer.get("children") or []]
            for child in children:  # hooks.go `applyNamespaceDefaults`
                meta = child.setdefault("metadata", {})
                if not meta.get("namespace") and parent["metadata"].get("namespace"):
                    meta["namespace"] = parent["metadata"]["namespace"]
            pr.answer = {**pr.answer, "children": children}
            pr.desired = revisions.relative_map(parent, children)
        condition = revisions.sync_rolling_update(parent_revisions, observed, self.strategies)
        result.rollout = condition
        if condition.get("reason") == "RolloutWaiting":
            result.waiting.append(str(condition.get("message")))
        parent_revisions = revisions.prune(parent_revisions)
        wanted = [pr.revision for pr in parent_revisions if pr.revision is not None]
        self._manage_revisions(parent, observed_revisions, wanted, result)
        return revisions.aggregate(parent_revisions)

    def _claim_revisions(self, parent: KubeObject) -> list[KubeObject]:
        """controller_revision.go `claimRevisions`: the parent's ControllerRevisions in its
        namespace matching its selector plus the apiGroup/resource labels.

        Only owned ones are claimed here; adopting orphans is not modelled."""
        resource = self.kube.resource(revisions.REVISION_API_VERSION, kind="ControllerRevision")
        selector = copy.deepcopy(self._selector(parent)) or {}
        selector.setdefault("matchLabels", {})
        selector["matchLabels"] = {
            **selector["matchLabels"],
            revisions.LABEL_API_GROUP: revisions.api_group(self.parent_resource.api_version),
            revisions.LABEL_RESOURCE: self.parent_resource.name,
        }
        uid = parent["metadata"]["uid"]
        claimed = []
        for obj in self.kube.list(resource, parent["metadata"].get("namespace")):
            ref = controller_ref(obj)
            labels = obj["metadata"].get("labels") or {}
            if ref is not None and ref.get("uid") == uid and selector_matches(selector, labels):
                claimed.append(obj)
        return claimed

    def _manage_revisions(
        self,
        parent: KubeObject,
        observed: list[KubeObject],
        desired: list[KubeObject],
        result: SyncResult,
    ) -> None:
        """controller_revision.go `manageRevisions`: delete, update, create; any failure
        fails the pass before a child is touched (`can't reconcile ControllerRevisions`)."""
        resource = self.kube.resource(revisions.REVISION_API_VERSION, kind="ControllerRevision")
        namespace = parent["metadata"].get("namespace")
        wanted = {r["metadata"]["name"]: r for r in desired}
        have = {r["metadata"]["name"]: r for r in observed}
        where = f"{parent['kind']} {namespace}/{parent['metadata']['name']}"
        try:
            for name, revision in have.items():
                if name not in wanted:
                    self.kube.delete(resource, namespace, name, uid=revision["metadata"]["uid"])
                    result.revisions.append(f"deleted {name}")
            for name, revision in wanted.items():
                if name in have:
                    if deep_equal(have[name], revision):
                        continue
                    revision["metadata"]["resourceVersion"] = have[name]["metadata"][
                        "resourceVersion"
                    ]
                    if not revision.get("children"):
                        revision.pop("children", None)  # Go's `omitempty`
                    stored = self.kube.update(revision)
                    if (
                        stored["metadata"]["resourceVersion"]
                        != have[name]["metadata"]["resourceVersion"]
                    ):
                        result.revisions.append(f"updated {name}")
                else:
                    if not revision.get("children"):
                        revision.pop("children", None)
                    self.kube.create(revision, strict=None)
                    result.revisions.append(f"created {name}")
        except ApiError as err:
            raise HarnessError(f"{where}: can't reconcile ControllerRevisions: {err}") from err

    # -- step 1: finalizer ----------------------------------------------------------------------

    def _set_finalizer(self, parent: KubeObject, *, present: bool) -> KubeObject:
        updated = copy.deepcopy(parent)
        finalizers = [f for f in updated["metadata"].get("finalizers") or [] if f != self.finalizer]
        if present:
            finalizers.append(self.finalizer)
        updated["metadata"]["finalizers"] = finalizers
        try:
            return self.kube.update(updated)
        except ApiError as err:
            if err.status == 404 and not present:
                return updated  # finalizer gone with the parent
            raise

    # -- step 2: claim ------------------------------------------------------------------------

    def _selector(self, parent: KubeObject) -> KubeObject | None:
        if self.generate_selector:
            return {"matchLabels": {CONTROLLER_UID: parent["metadata"]["uid"]}}
        selector = (parent.get("spec") or {}).get("selector")
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            raise HarnessError(
                ".spec.selector must have either matchLabels, matchExpressions, or both"
            )
        return dict(selector)

    def _claim(self, parent: KubeObject, result: SyncResult) -> dict[str, list[KubeObject]]:
        """Return the owned children per group key, adopting and releasing as ClaimObject does."""
        meta = parent["metadata"]
        uid, namespace = meta["uid"], meta.get("namespace")
        deleting = bool(meta.get("deletionTimestamp"))
        selector = self._selector(parent)
        observed: dict[str, list[KubeObject]] = {}
        for rule in self.rules:
            claimed = observed.setdefault(rule.key, [])
            for obj in self.kube.list(rule.resource, namespace):
                ref = controller_ref(obj)
                labels = (obj.get("metadata") or {}).get("labels") or {}
                match = selector_matches(selector, labels)
                if ref is not None:
                    if ref.get("uid") != uid:
                        continue  # someone else's
                    if match:
                        claimed.append(obj)
                    elif not deleting:
                        self._set_owner(obj, parent, own=False)
                        result.released.append(object_ref(obj))
                    continue
                if deleting or not match or obj["metadata"].get("deletionTimestamp"):
                    continue
                claimed.append(self._set_owner(obj, parent, own=True))
                result.adopted.append(object_ref(obj))
        return observed

    def _set_owner(self, obj: KubeObject, parent: KubeObject, *, own: bool) -> KubeObject:
        updated = copy.deepcopy(obj)
        refs = [
            ref
            for ref in updated["metadata"].get("ownerReferences") or []
            if ref.get("uid") != parent["metadata"]["uid"]
        ]
        if own:
            refs.append(owner_reference(parent))
        updated["metadata"]["ownerReferences"] = refs
        return self.kube.update(updated)

    # -- step 3: customize and related ----------------------------------------------------------

    def _related(self, parent: KubeObject) -> dict[str, list[KubeObject]]:
        hook = self.hooks.get("customize")
        if hook is None:
            return {}
        meta = parent["metadata"]
        cache_key = (meta["uid"], int(meta.get("generation") or 0))
        rules = self._customized.get(cache_key)
        if rules is None:
            status, text, _ = self._post(hook, {"controller": self.controller, "parent": parent})
            if status != 200:
                raise HarnessError(f"customize hook: unsupported status code {status}: {text}")
            answer = self._decode(hook, text, CUSTOMIZE_KEYS)
            rules = list(answer.get("relatedResources") or [])
            self._customized[cache_key] = rules
        related: dict[str, list[KubeObject]] = {}
        for rule in rules:
            resource = self.kube.resource(rule["apiVersion"], plural=rule["resource"])
            group = related.setdefault(group_key(resource.kind, resource.api_version), [])
            group.extend(self._select_related(resource, rule, meta.get("namespace"), hook))
        return related

    def _select_related(
        self, resource: Resource, rule: KubeObject, parent_namespace: str | None, hook: Hook
    ) -> list[KubeObject]:
        if rule.get("names") and (rule.get("labelSelector") or rule.get("namespaceSelector")):
            raise HarnessError("customize: names cannot be combined with selectors")
        namespace = rule.get("namespace")
        if namespace and rule.get("namespaceSelector"):
            raise HarnessError("customize: namespace cannot be combined with namespaceSelector")
        if hook.version == "v1" and parent_namespace and resource.namespaced:
            if namespace and namespace != parent_namespace:
                raise HarnessError("customize v1: a namespaced parent sees only its namespace")
            namespace = parent_namespace
        objects = self.kube.list(resource, namespace if resource.namespaced else None)
        if rule.get("names"):
            objects = [o for o in objects if o["metadata"]["name"] in rule["names"]]
        if "labelSelector" in rule:
            objects = [
                o
                for o in objects
                if selector_matches(rule["labelSelector"], o["metadata"].get("labels") or {})
            ]
        if "namespaceSelector" in rule and resource.namespaced:
            namespaces = self.kube.resource("v1", kind="Namespace")
            chosen = {
                n["metadata"]["name"]
                for n in self.kube.list(namespaces)
                if selector_matches(rule["namespaceSelector"], n["metadata"].get("labels") or {})
            }
            objects = [o for o in objects if o["metadata"].get("namespace") in chosen]
        return objects

    # -- steps 4-5: the hook call -------------------------------------------------------------

    def _keyed(
        self, groups: dict[str, list[KubeObject]], version: str
    ) -> dict[str, dict[str, KubeObject]]:
        return {
            key: {qualified_name(obj, version): obj for obj in objects}
            for key, objects in groups.items()
        }

    def _post(
        self, hook: Hook, body: KubeObject, headers: dict[str, str] | None = None
    ) -> tuple[int, str, requests.structures.CaseInsensitiveDict[str]]:
        try:
            response = self.http.post(
                hook.url,
                data=json.dumps(body),
                headers={
                    "Content-Type": "application/json",
                    **({"Authorization": hook.auth_header} if hook.auth_header else {}),
                    **(headers or {}),
                },
                timeout=hook.timeout,
            )
        except requests.RequestException as err:
            self.calls.append((hook.name, 0))
            raise HarnessError(f"{hook.name} hook: http error: {err}") from err
        self.calls.append((hook.name, response.status_code))
        return response.status_code, response.text, response.headers

    def _decode(self, hook: Hook, text: str, allowed: frozenset[str]) -> KubeObject:
        try:
            answer = strict_json(text)
        except ValueError as err:
            raise HarnessError(f"{hook.name} hook: can't unmarshal: {err}") from err
        if not isinstance(answer, dict):
            raise HarnessError(f"{hook.name} hook: can't unmarshal a {type(answer).__name__}")
        unknown = sorted(set(answer) - allowed)
        if unknown and hook.version == "v2":
            raise HarnessError(
                f"strict validation failed for v2 webhookResponse: unknown fields {unknown}"
            )
        return answer

    def _call_sync(
        self, hook: Hook, parent: KubeObject, request: KubeObject, result: SyncResult
    ) -> KubeObject:
        meta = parent["metadata"]
        cache_key = (hook.name, parent["kind"], str(meta.get("namespace") or ""), meta["name"])
        cached = self._etags.get(cache_key) if hook.etag else None
        headers = {"If-None-Match": cached[0]} if cached else {}
        status, text, response_headers = self._post(hook, request, headers)
        if status in (304, 412) and cached is not None:
            result.cached = True
            result.etag = cached[0]
            return copy.deepcopy(cached[1])
        if status == 429:
            retry = response_headers.get("Retry-After", "")
            raise HarnessError(f"{hook.name} hook: 429, requeue after {retry!r}")
        if status != 200:
            raise HarnessError(f"{hook.name} hook: unsupported status code {status}: {text}")
        answer = self._decode(hook, text, RESPONSE_KEYS)
        for key, kind in (("children", list), ("status", dict)):
            if answer.get(key) is not None and not isinstance(answer[key], kind):
                raise HarnessError(f"{hook.name} hook: {key} must be a {kind.__name__}")
        if "finalized" in answer and not isinstance(answer["finalized"], bool):
            raise HarnessError(f"{hook.name} hook: finalized must be a boolean")
        etag = response_headers.get("ETag")
        if hook.etag and etag:
            self._etags[cache_key] = (etag, copy.deepcopy(answer))
            result.etag = etag
        else:
            self._etags.pop(cache_key, None)
        return answer

    # -- step 7: desired children ---------------------------------------------------------------

    def _desired(self, parent: KubeObject, children: list[Any]) -> dict[str, list[KubeObject]]:
        """Group the answer's children by type, with namespace and controller-uid filled in."""
        selector = self._selector(parent)
        namespace = parent["metadata"].get("namespace")
        declared = {rule.key for rule in self.rules}
        desired: dict[str, list[KubeObject]] = {key: [] for key in declared}
        for child in children:
            if not isinstance(child, dict):
                raise HarnessError(f"a child is not an object: {child!r}")
            obj = copy.deepcopy(child)
            meta = obj.setdefault("metadata", {})
            if namespace and not meta.get("namespace"):
                meta["namespace"] = namespace
            if self.generate_selector:  # `syncParentObject`: only when the label is absent
                meta["labels"] = {
                    CONTROLLER_UID: parent["metadata"]["uid"],
                    **(meta.get("labels") or {}),
                }
            if not selector_matches(selector, meta.get("labels") or {}):
                raise HarnessError(
                    f"labels on desired child {object_ref(obj)} don't match parent selector"
                )
            key = group_key(str(obj.get("kind")), str(obj.get("apiVersion")))
            if key not in declared:
                # Metacontroller would create it and never see it again (no informer).
                raise HarnessError(f"desired child {object_ref(obj)}: {key} is not a child type")
            desired[key].append(obj)
        return desired

    # -- step 8: apply and delete ---------------------------------------------------------------

    def _manage(
        self,
        parent: KubeObject,
        observed: dict[str, list[KubeObject]],
        desired: dict[str, list[KubeObject]],
        result: SyncResult,
    ) -> None:
        """manage_children.go `ManageChildren`: first delete what is not desired, then
        create or update what is, type by type, going on after a failure."""
        for rule in self.rules:
            have = {self._name(o): o for o in observed.get(rule.key, [])}
            want = {self._name(o): o for o in desired.get(rule.key, [])}
            for name, obj in have.items():
                if name not in want and not obj["metadata"].get("deletionTimestamp"):
                    self._delete(rule, obj, result)
            for name, obj in want.items():
                self._apply(rule, parent, have.get(name), obj, result)

    @staticmethod
    def _name(obj: KubeObject) -> str:
        return qualified_name(obj, "v2")

    def _delete(self, rule: ChildRule, obj: KubeObject, result: SyncResult) -> None:
        """`deleteChildren` / `childUpdateRecreate`: background, UID precondition; a child
        already gone is fine."""
        meta = obj["metadata"]
        try:
            self.kube.delete(rule.resource, meta.get("namespace"), meta["name"], uid=meta["uid"])
        except ApiError as err:
            if err.status != 404:
                result.errors.append(f"can't delete {object_ref(obj)}: {err}")
            return
        result.deleted.append(object_ref(obj))

    def _apply(
        self,
        rule: ChildRule,
        parent: KubeObject,
        observed: KubeObject | None,
        desired: KubeObject,
        result: SyncResult,
    ) -> None:
        """manage_children.go `DynamicApply.Apply` (Metacontroller's default strategy)."""
        if observed is None:
            self._create(parent, desired, result)
            return
        try:
            updated = apply_update(observed, copy.deepcopy(desired))
        except ApplyError as err:
            result.errors.append(f"{object_ref(desired)}: {err}")
            return
        if deep_equal(updated, observed):
            return  # nothing changed
        if observed["metadata"].get("deletionTimestamp") or rule.method == "OnDelete":
            return
        if rule.method in ("Recreate", "RollingRecreate"):
            self._delete(rule, observed, result)  # created again on a later pass
            return
        try:
            stored = self.kube.update(updated)
        except ApiError as err:
            if err.status not in (404, 409):  # gone, or changed meanwhile: swallowed
                result.errors.append(f"can't update {object_ref(desired)}: {err}")
            return
        result.warnings.extend(self.kube.last_warnings)
        if stored["metadata"].get("resourceVersion") == observed["metadata"].get("resourceVersion"):
            result.noop_updates.append(object_ref(desired))
        else:
            result.updated.append(object_ref(desired))

    def _create(self, parent: KubeObject, desired: KubeObject, result: SyncResult) -> None:
        """`DynamicApply.Apply`, create branch: the answer (namespace and controller-uid
        label included) goes into the last-applied annotation, then the controller
        reference is added (`claimOwnership`); AlreadyExists is swallowed."""
        body = for_create(desired)
        refs = list(body["metadata"].get("ownerReferences") or [])
        if not any(ref.get("uid") == parent["metadata"]["uid"] for ref in refs):
            refs.append(owner_reference(parent))
        body["metadata"]["ownerReferences"] = refs
        try:
            self.kube.create(body, strict=None)
        except ApiError as err:
            if err.status == 409 and err.reason == "AlreadyExists":
                result.skipped.append(object_ref(desired))
            else:
                result.errors.append(f"can't create {object_ref(desired)}: {err}")
            return
        result.warnings.extend(self.kube.last_warnings)
        result.created.append(object_ref(desired))

    # -- step 9: status -------------------------------------------------------------------------

    def _write_status(self, parent: KubeObject, status: Any, result: SyncResult) -> None:
        """controller.go `updateParentStatus`: the answer replaces the whole status (null
        makes it empty), `observedGeneration` is injected, and the result is written through
        `/status` only if it differs from the live one (`AtomicStatusUpdate`); 404 and 409
        are ignored (`syncParentObject`)."""
        meta = parent["metadata"]
        wanted = dict(status) if isinstance(status, dict) else {}
        wanted["observedGeneration"] = int(meta.get("generation") or 0)
        live = self.kube.get_or_none(self.parent_resource, meta.get("namespace"), meta["name"])
        if live is None or deep_equal(live.get("status"), wanted):
            return
        live["status"] = wanted
        try:
            self.kube.update(live, sub="status")
        except ApiError as err:
            if err.status in (404, 409):
                return  # Metacontroller ignores these; the next sync writes it
            result.errors.append(f"status update failed: {err}")
            return
        result.status_written = True


def owner_reference(parent: KubeObject) -> KubeObject:
    """Return the controller reference Metacontroller puts on every child it creates."""
    return {
        "apiVersion": parent["apiVersion"],
        "kind": parent["kind"],
        "name": parent["metadata"]["name"],
        "uid": parent["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
