"""Calling a controller's hooks safely: the one place that keeps children when a spec is bad.

Metacontroller deletes every observed child missing from an answer, so an answer is either the
controller's own (vetted against the security policy and the child types it declared) or, when
the spec cannot be honoured, the observed children echoed back as they were applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError

from hooks.api.names import check_child_names
from hooks.builders.conditions import READY, REASON_TERMINATING, Conditions
from hooks.builders.meta import CONTROLLER_UID, EchoedChild, as_desired
from hooks.contract import (
    CustomizeRequest,
    CustomizeResponse,
    KubeObject,
    Observed,
    SyncRequest,
    SyncResponse,
)
from hooks.controller import Controller, FinalizeRequest, HookRequest, ParentMeta
from hooks.errors import HookError, InvalidSpec, PolicyViolation
from hooks.policy import SecurityPolicy, VettedContainers, check_child
from hooks.settings import ControllerConfig, Limits, SettingsError, describe_config_error


class ControllerBug(HookError):
    """A controller answered something it must not (an undeclared child type): answer 500."""


@dataclass(frozen=True)
class BoundController:
    """A registered controller with its settings resolved at start-up."""

    controller: Controller
    config: ControllerConfig
    options: BaseModel
    policy: SecurityPolicy
    limits: Limits

    @property
    def name(self) -> str:
        """Return the controller's route name."""
        return self.controller.name

    @cached_property
    def child_keys(self) -> frozenset[str]:
        """Return the group keys of the controller's child types, computed once per process."""
        return frozenset(self.controller.child_keys())


def bind(
    controller: Controller, config: ControllerConfig, policy: SecurityPolicy, limits: Limits
) -> BoundController:
    """Validate a controller's options once, at start-up (a bad config refuses to start)."""
    try:
        options = controller.options.model_validate(config.options)
    except ValidationError as err:
        where = ("controllers", controller.name, "options")
        raise SettingsError(f"invalid configuration: {describe_config_error(err, where)}") from None
    return BoundController(controller, config, options, policy, limits)


def parse_spec(model: type[BaseModel], parent: KubeObject) -> Any:
    """Validate a parent's spec, turning validation errors into one readable InvalidSpec."""
    try:
        return model.model_validate(parent.get("spec") or {})
    except ValidationError as err:
        raise InvalidSpec(describe_validation_error(err, prefix="spec")) from None


def describe_validation_error(err: ValidationError, *, prefix: str) -> str:
    """Return `spec.a.b: message; ...` for the first few errors."""
    parts = []
    for item in err.errors()[:5]:
        path = ".".join([prefix, *(str(loc) for loc in item["loc"])])
        parts.append(f"{path}: {item['msg']}")
    more = len(err.errors()) - 5
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def run_sync(
    bound: BoundController,
    request: SyncRequest,
    *,
    now: datetime,
    on_invalid_spec: Callable[[InvalidSpec], None] | None = None,
) -> SyncResponse:
    """Answer a sync (or finalize) call; never an answer that loses children by accident.

    `on_invalid_spec` hears about a spec that could not be honoured (the server counts them by
    reason); the answer is the same either way.
    """
    controller = bound.controller
    parent = ParentMeta.of(request.parent)
    children = Observed(request.children)
    if request.finalizing:
        finalize = controller.finalize or finalize_by_deleting_children
        response = finalize(FinalizeRequest(parent=parent, children=children, now=now))
        _vet(bound, parent, response, now)
        return response
    try:
        spec = parse_spec(controller.kind.spec, request.parent)
        hook_request = HookRequest(
            parent=parent,
            spec=spec,
            children=children,
            related=Observed(request.related),
            options=bound.options,
            default_image=bound.config.default_image,
            now=now,
        )
        response = controller.sync(hook_request)
        _vet(bound, parent, response, now)
    except InvalidSpec as err:
        if on_invalid_spec is not None:
            on_invalid_spec(err)
        return keep_observed(bound, request, parent, err, now=now)
    _stamp_controller_uid(response.children, parent.uid)
    return response


def run_customize(bound: BoundController, request: CustomizeRequest) -> CustomizeResponse:
    """Answer a customize call; a parent with a bad spec asks for nothing related."""
    customize = bound.controller.customize
    if customize is None:
        return CustomizeResponse(relatedResources=[])
    try:
        spec = parse_spec(bound.controller.kind.spec, request.parent)
    except InvalidSpec:
        return CustomizeResponse(relatedResources=[])
    return customize(ParentMeta.of(request.parent), spec)


def keep_observed(
    bound: BoundController,
    request: SyncRequest,
    parent: ParentMeta,
    err: InvalidSpec,
    *,
    now: datetime,
) -> SyncResponse:
    """Echo every observed child as last applied and report the error as Ready=False."""
    response = SyncResponse(
        status=status_with_ready(parent, False, err.reason, err.message, now=now),
        children=[as_desired(child) for child in request.all_observed()],
    )
    _vet_echoes(bound, parent, response, now)
    return response


def status_with_ready(
    parent: ParentMeta, ready: bool, reason: str, message: str, *, now: datetime
) -> KubeObject:
    """Return the parent's last status with only its Ready condition replaced."""
    conditions = Conditions(parent.status.get("conditions"), parent.generation, now)
    previous = [
        item
        for item in parent.status.get("conditions") or []
        if isinstance(item, dict) and item.get("type") != READY
    ]
    conditions.set(READY, ready, reason, message)
    status = {key: value for key, value in parent.status.items() if key != "observedGeneration"}
    status["conditions"] = [*previous, *conditions.to_list()]
    return status


def finalize_by_deleting_children(request: FinalizeRequest) -> SyncResponse:
    """Ask for no children, and report finalized only once none is observed any more."""
    remaining = list(request.children.everything())
    message = (
        f"waiting for {len(remaining)} child object(s) to be deleted"
        if remaining
        else "all children deleted"
    )
    status = status_with_ready(request.parent, False, REASON_TERMINATING, message, now=request.now)
    return SyncResponse(status=status, children=[], finalized=not remaining)


def _vet(bound: BoundController, parent: ParentMeta, response: SyncResponse, now: datetime) -> None:
    """Check a controller's answer: declared child types, the limit, the security policy.

    A child the controller built that breaks the policy refuses the whole answer (the observed
    children are kept instead); an echoed child is vetted on its own (see `_vet_echoes`).
    """
    children = response.children
    declared = bound.child_keys
    if len(children) > bound.limits.max_children:
        raise InvalidSpec(
            f"the spec asks for {len(children)} children, more than the server's limit of "
            f"{bound.limits.max_children}",
            reason="TooManyChildren",
        )
    vetted = VettedContainers()
    echoes = False
    for child in children:
        if not isinstance(child, dict):
            raise ControllerBug(f"controller {bound.name} answered a child that is not an object")
        key = f"{child.get('kind')}.{child.get('apiVersion')}"
        if key not in declared:
            raise ControllerBug(f"controller {bound.name} answered an undeclared child {key}")
        if type(child) is EchoedChild:
            echoes = True
        else:
            check_child(child, parent.namespace, bound.policy, vetted)
            check_child_names(child)
    if echoes or _has_echo_condition(response.status):
        _vet_echoes(bound, parent, response, now)


def _vet_echoes(
    bound: BoundController, parent: ParentMeta, response: SyncResponse, now: datetime
) -> None:
    """Make every echoed child pass the policy, and say in status which echoes were not as applied.

    An echo whose last-applied annotation breaks the policy falls back to the observed object;
    an observed object that breaks the policy itself is left out of the answer (Metacontroller
    then deletes it), because nothing a hook answers may be privileged, mount the host or leave
    the parent's namespace, whoever wrote it.
    """
    notes: list[str] = []
    answered: list[KubeObject] = []
    for child in response.children:
        if type(child) is not EchoedChild:
            answered.append(child)
            continue
        echo: EchoedChild | None = child
        refusal = _policy_refusal(child, parent, bound.policy)
        if refusal is not None and child.distrust is None:
            echo = child.as_observed(f"its last-applied annotation breaks {refusal}")
            refusal = _policy_refusal(echo, parent, bound.policy)
        if refusal is not None:
            notes.append(f"{_identity(child.observed)} breaks {refusal}: left out of the answer")
            continue
        assert echo is not None
        if echo.distrust is not None:
            notes.append(
                f"{_identity(child.observed)}: {echo.distrust}, so it was echoed as observed"
            )
        answered.append(echo)
    response.children = answered
    _report_echoes(response.status, parent, notes, now)


def _policy_refusal(child: KubeObject, parent: ParentMeta, policy: SecurityPolicy) -> str | None:
    """Return the policy rule and message a child breaks, or None."""
    try:
        check_child(child, parent.namespace, policy)
    except PolicyViolation as violation:
        return violation.message
    return None


def _identity(obj: KubeObject) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{obj.get('kind')} {namespace + '/' if namespace else ''}{meta.get('name')}"


LAST_APPLIED_TRUSTED = "LastAppliedTrusted"
"""Condition present only while some observed child could not be echoed as last applied."""
_MAX_ECHO_MESSAGE = 1024


def _has_echo_condition(status: KubeObject) -> bool:
    return any(
        isinstance(item, dict) and item.get("type") == LAST_APPLIED_TRUSTED
        for item in status.get("conditions") or ()
    )


def _report_echoes(status: KubeObject, parent: ParentMeta, notes: list[str], now: datetime) -> None:
    """Set (or clear) the condition that says which echoes did not use their annotation."""
    if not notes and not _has_echo_condition(status):
        return
    kept = [
        item
        for item in status.get("conditions") or ()
        if not (isinstance(item, dict) and item.get("type") == LAST_APPLIED_TRUSTED)
    ]
    if notes:
        conditions = Conditions(parent.status.get("conditions"), parent.generation, now)
        refused = any(note.endswith("left out of the answer") for note in notes)
        message = "; ".join(notes)
        if len(message) > _MAX_ECHO_MESSAGE:
            message = message[: _MAX_ECHO_MESSAGE - 3] + "..."
        conditions.set(
            LAST_APPLIED_TRUSTED,
            False,
            "ChildRefused" if refused else "LastAppliedIgnored",
            message,
        )
        kept.extend(conditions.to_list())
    status["conditions"] = kept


def _stamp_controller_uid(children: list[KubeObject], uid: str) -> None:
    """Add the label Metacontroller's generated selector matches, as Metacontroller would.

    Children built with `HookRequest.meta` carry it already (and may share one labels map);
    the others get a new, sorted map of their own.
    """
    if not uid:
        return
    for child in children:
        meta = child.setdefault("metadata", {})
        labels = meta.get("labels") or {}
        if labels.get(CONTROLLER_UID) != uid:
            meta["labels"] = dict(sorted({**labels, CONTROLLER_UID: uid}.items()))
