"""TEST HARNESS: plays Metacontroller's part for one sync loop, against a real API server.

This is not Metacontroller, and nothing in production uses it: Metacontroller itself is the
engine that runs our hooks in a cluster. The harness exists so that the tests can put the hook
server's answers in front of a real kube-apiserver, the way Metacontroller would, without a
Go build of Metacontroller and without its informers. One call of `Metacontroller.sync()` is
one pass of Metacontroller's per-parent loop, in its order
(/work/shared/reference/metacontroller-contract.md, §2-§9):

1. read the parent; add the finalizer `metacontroller.io/compositecontroller-<name>` when the
   CompositeController has a finalize hook (and remove it when it has none);
2. claim children: every object of each `childResources` type in the parent's namespace that
   is controller-owned by the parent, or an orphan matching the selector (`controller-uid`
   with `generateSelector`), adopting orphans and releasing owned objects that stopped matching;
3. ask the customize hook (cached per parent UID and generation) and collect the related
   objects its rules select;
4. POST the v2 (or v1) request `{controller, parent, children, related, finalizing}` to the
   sync hook, or to the finalize hook when the parent is being deleted or stopped matching
   `parentResource.labelSelector`; children and related are grouped by `Kind.apiVersion`, one
   group per rule even when empty, keyed `namespace/name` (v2) or `name` (v1); ETags are
   honoured as Metacontroller's etag cache does (If-None-Match, 304/412 reuse the cached body);
5. check the answer: HTTP 200, JSON, and for v2 no top-level key other than `status`,
   `children`, `resyncAfterSeconds`, `finalized` (anything else fails the whole sync, and
   nothing is applied);
6. remove the finalizer when the answer says `finalized: true`;
7. give every desired child the parent's namespace when it names none and the `controller-uid`
   label (generateSelector); a child whose labels do not match the selector fails the sync;
8. manage children (unless the parent is being deleted without our finalizer, or carries a GC
   finalizer): server-side apply (field manager `metacontroller`, force) with the parent as
   controller ownerReference, following each rule's update strategy; delete (background,
   UID precondition) every observed child that is not desired;
9. write the status through the status subresource with `observedGeneration` set to the
   parent's generation, only when it differs from the live one (409/404 are ignored).

Deliberate simplifications, all documented in tests/cluster/README.md: Rolling* strategies
have no ControllerRevisions and no hypothetical old-revision parents (the hook is called once,
with the live parent); instead at most one out-of-date child moves per sync, in the answer's
order, once every up-to-date child passes the rule's status checks, and no `Updated`
condition is added to the status. An out-of-date child is one whose dry-run apply differs from
the observed object. Webhook URLs are redirected to the local hook server (path kept), and
`endpointConfigs` (TLS, credentials) are not used. There are no watches: the tests decide when
a parent is synced.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.cluster.kube import ApiError, Kube, KubeObject, Resource

FIELD_MANAGER = "metacontroller"
CONTROLLER_UID = "controller-uid"
GC_FINALIZERS = ("foregroundDeletion", "orphan")
RESPONSE_KEYS = frozenset({"status", "children", "resyncAfterSeconds", "finalized"})
CUSTOMIZE_KEYS = frozenset({"relatedResources"})
DEFAULT_TIMEOUT = 10.0
"""Metacontroller's default webhook timeout, in seconds."""


class HarnessError(AssertionError):
    """A sync failed the way Metacontroller would report it (a SyncError event)."""


@dataclass(frozen=True)
class Hook:
    """One webhook of the CompositeController, redirected to the local hook server."""

    name: str
    version: str
    url: str
    timeout: float
    etag: bool


@dataclass(frozen=True)
class ChildRule:
    """One `childResources` entry, resolved through discovery."""

    resource: Resource
    method: str
    status_checks: tuple[KubeObject, ...]

    @property
    def key(self) -> str:
        return group_key(self.resource.kind, self.resource.api_version)

    @property
    def rolling(self) -> bool:
        return self.method.startswith("Rolling")


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
    """Out-of-date children a rolling update has not moved yet."""
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


def _comparable(obj: KubeObject) -> KubeObject:
    """Return an object without the fields that change on every write."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in ("managedFields", "resourceVersion", "generation"):
        meta.pop(key, None)
    return out


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
        self.hooks = {
            name: self._hook(name, hook, hook_base_url)
            for name, hook in (spec.get("hooks") or {}).items()
            if name in ("sync", "finalize", "customize")
        }
        if "sync" not in self.hooks:
            raise ValueError(f"CompositeController {self.name} has no sync hook")
        self.http = requests.Session()
        self.http.trust_env = False
        self._etags: dict[tuple[str, str, str, str], tuple[str, KubeObject]] = {}
        self._customized: dict[tuple[str, int], list[KubeObject]] = {}
        self.calls: list[tuple[str, int]] = []
        """(hook, HTTP status) of every webhook call, in order."""

    @staticmethod
    def _hook(name: str, hook: KubeObject, base: str) -> Hook:
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
        request = {
            "controller": self.controller,
            "parent": parent,
            "children": self._keyed(observed, hook.version),
            "related": self._keyed(related, hook.version),
            "finalizing": finalizing,
        }
        result.request = request
        try:
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
            holds_finalizer and not any(f in finalizers for f in GC_FINALIZERS)
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
                headers={"Content-Type": "application/json", **(headers or {})},
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
            if self.generate_selector:
                meta["labels"] = {
                    **(meta.get("labels") or {}),
                    CONTROLLER_UID: parent["metadata"]["uid"],
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
        for rule in self.rules:
            have = {self._name(o): o for o in observed.get(rule.key, [])}
            want = {self._name(o): o for o in desired.get(rule.key, [])}
            for name, obj in have.items():
                if name not in want and not obj["metadata"].get("deletionTimestamp"):
                    self._delete(rule, obj, result)
            self._update(rule, parent, have, desired.get(rule.key, []), result)

    @staticmethod
    def _name(obj: KubeObject) -> str:
        return qualified_name(obj, "v2")

    def _delete(self, rule: ChildRule, obj: KubeObject, result: SyncResult) -> None:
        meta = obj["metadata"]
        try:
            self.kube.delete(rule.resource, meta.get("namespace"), meta["name"], uid=meta["uid"])
        except ApiError as err:
            if err.status != 404:
                result.errors.append(f"can't delete {object_ref(obj)}: {err}")
            return
        result.deleted.append(object_ref(obj))

    def _apply(self, parent: KubeObject, obj: KubeObject, result: SyncResult) -> KubeObject | None:
        body = copy.deepcopy(obj)
        body["metadata"]["ownerReferences"] = [owner_reference(parent)]
        try:
            return self.kube.apply(body, field_manager=FIELD_MANAGER, force=True)
        except ApiError as err:
            result.errors.append(f"apply of {object_ref(obj)} failed: {err}")
            return None

    def _update(
        self,
        rule: ChildRule,
        parent: KubeObject,
        have: dict[str, KubeObject],
        wanted: list[KubeObject],
        result: SyncResult,
    ) -> None:
        stale: list[tuple[KubeObject, KubeObject]] = []
        current: list[KubeObject] = []
        created = False
        for obj in wanted:
            old = have.get(self._name(obj))
            if old is None:
                if self._apply(parent, obj, result) is not None:
                    result.created.append(object_ref(obj))
                    created = True
                continue
            if old["metadata"].get("deletionTimestamp") or rule.method == "OnDelete":
                continue
            differs = self._differs(rule, parent, old, obj, result)
            if differs is None:
                continue  # the dry-run failed; reported as a sync error
            if differs:
                stale.append((old, obj))
            else:
                current.append(old)
        if rule.rolling and stale:
            blocked = created or not all(self._passes(rule, obj) for obj in current)
            moving, waiting = ([], stale) if blocked else (stale[:1], stale[1:])
            result.waiting.extend(object_ref(old) for old, _ in waiting)
            stale = moving
        for old, obj in stale:
            if rule.method.endswith("Recreate"):
                self._delete(rule, old, result)  # created again on a later pass
            elif self._apply(parent, obj, result) is not None:
                result.updated.append(object_ref(obj))

    def _differs(
        self,
        rule: ChildRule,
        parent: KubeObject,
        old: KubeObject,
        obj: KubeObject,
        result: SyncResult,
    ) -> bool | None:
        """Say whether applying `obj` would change the observed child (by a dry-run apply).

        For Recreate methods, a 422 (a change the API server forbids on update, such as most
        of a Pod's spec) also counts as a difference: it is what Recreate is for, and with
        Metacontroller's default dynamic apply the comparison is local and never asks the API
        server. Any other refusal is a sync error (None).
        """
        body = copy.deepcopy(obj)
        body["metadata"]["ownerReferences"] = [owner_reference(parent)]
        try:
            trial = self.kube.apply(body, field_manager=FIELD_MANAGER, force=True, dry_run=True)
        except ApiError as err:
            if err.status == 422 and rule.method.endswith("Recreate"):
                return True
            result.errors.append(f"dry-run apply of {object_ref(obj)} failed: {err}")
            return None
        return _comparable(trial) != _comparable(old)

    @staticmethod
    def _passes(rule: ChildRule, obj: KubeObject) -> bool:
        """Apply a rolling rule's status checks (and observedGeneration for RollingInPlace)."""
        status = obj.get("status") or {}
        if rule.method == "RollingInPlace" and isinstance(status.get("observedGeneration"), int):
            if status["observedGeneration"] < int(obj["metadata"].get("generation") or 0):
                return False
        conditions = {c.get("type"): c for c in status.get("conditions") or []}
        for check in rule.status_checks:
            found = conditions.get(check.get("type"))
            if found is None:
                return False
            for key in ("status", "reason"):
                if check.get(key) and found.get(key) != check[key]:
                    return False
        return True

    # -- step 9: status -------------------------------------------------------------------------

    def _write_status(self, parent: KubeObject, status: Any, result: SyncResult) -> None:
        meta = parent["metadata"]
        wanted = dict(status) if isinstance(status, dict) else {}
        wanted["observedGeneration"] = int(meta.get("generation") or 0)
        live = self.kube.get_or_none(self.parent_resource, meta.get("namespace"), meta["name"])
        if live is None or live.get("status") == wanted:
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
