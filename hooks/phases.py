"""A phase machine: long-running work as level-triggered phases over observed children.

A machine is data: its phases, the transition matrix (which phase may follow which) and one
handler per working phase. Hooks are stateless, so the only memory is the parent's status: on
every call the current phase is read from `status.phase` (the initial phase when it is absent or
unknown), and that phase's handler looks at the observed children and answers either "stay, with
these desired children" or "move to that phase". An allowed move is taken at once and the next
phase's handler runs on the same observation, so one call catches up with the world even when the
status it was given is stale or was lost. A move the matrix forbids is reported in status and
never taken; the observed children are then kept as they are.

Terminal phases (those with no way out) have no handler: their status is copied, their children
are kept as observed, and nothing is resynced, until an optional TTL after completion has passed;
then the children are dropped (Metacontroller deletes them) and the status stays.

Determinism: the only times written are those of a transition, taken from the observed child that
caused it or else `now`, at the moment it happens; afterwards they are copied unchanged. An
unchanged world therefore gives a byte-identical status, and Metacontroller's own status write
does not trigger another sync forever.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from hooks.builders import conditions as c
from hooks.builders.conditions import Conditions, format_time
from hooks.builders.meta import as_desired
from hooks.contract import KubeObject
from hooks.controller import HookRequest

ContextT = TypeVar("ContextT")

HISTORY_LIMIT = 10
"""Transitions kept in `status.history`: enough to tell how a parent got where it is, while the
status stays small (a machine without cycles never takes more than its number of phases)."""

REASON_FORBIDDEN = "ForbiddenTransition"
REASON_LOOP = "TransitionLoop"

MACHINE_CONDITIONS = (c.PROGRESSING, c.SUCCEEDED, c.FAILED, c.READY)
"""Condition types the machine owns; a handler's own conditions come first, Ready last."""


class ConditionValue(NamedTuple):
    """A condition a handler asks for besides the machine's own."""

    type: str
    status: bool | str
    reason: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """What a phase handler decides: stay with these children, or move to another phase.

    Use `Outcome.stay` and `Outcome.move`. `reason` is a CamelCase condition reason and `message`
    a sentence for `kubectl describe`. `at` is when a move really happened when an observed child
    knows it (a Job's completionTime), so that status tells the truth rather than when the hook
    happened to notice.
    """

    reason: str
    message: str
    children: tuple[KubeObject, ...] = ()
    next_phase: str | None = None
    at: str | None = None
    conditions: tuple[ConditionValue, ...] = ()

    @classmethod
    def stay(
        cls,
        children: Sequence[KubeObject],
        reason: str,
        message: str,
        *,
        conditions: Sequence[ConditionValue] = (),
    ) -> Outcome:
        """Stay in the current phase and answer these desired children."""
        return cls(reason, message, children=tuple(children), conditions=tuple(conditions))

    @classmethod
    def move(cls, phase: str, reason: str, message: str, *, at: str | None = None) -> Outcome:
        """Move to `phase`; its own handler (or the terminal rules) decides the children."""
        return cls(reason, message, next_phase=phase, at=at)


Handler = Callable[[ContextT], Outcome]


@dataclass(frozen=True)
class PhaseResult:
    """One call's answer: the children, the phase part of the status, and when to call again."""

    phase: str
    terminal: bool
    children: list[KubeObject]
    status: KubeObject
    """`phase`, `startTime`, `completionTime`, `phaseMessages`, `history` and `conditions`."""
    resync_after_seconds: int | None
    transitions: tuple[tuple[str, str], ...]
    """The transitions taken in this call, in order."""
    error: str | None = None
    """Why a requested transition was refused, if one was."""


@dataclass(frozen=True)
class PhaseMachine(Generic[ContextT]):
    """The phases of a kind, its transition matrix, and a handler for every non-terminal phase.

    `transitions` maps every phase to the phases that may follow it; a phase mapped to nothing is
    terminal. `succeeded` names the terminal phases that count as success (Ready=True); the other
    terminal phases are failures.
    """

    initial: str
    transitions: Mapping[str, frozenset[str]]
    handlers: Mapping[str, Handler[ContextT]]
    succeeded: frozenset[str]
    history_limit: int = HISTORY_LIMIT

    def __post_init__(self) -> None:
        phases = self.phases
        problems = []
        if self.initial not in self.transitions:
            problems.append(f"initial phase {self.initial!r} is not in the matrix")
        for phase, targets in self.transitions.items():
            unknown = sorted(set(targets) - set(phases))
            if unknown:
                problems.append(f"{phase} -> {unknown}: unknown phases")
            if phase in targets:
                problems.append(f"{phase} -> {phase}: staying is not a transition")
        working = {p for p in phases if self.transitions[p]}
        if set(self.handlers) != working:
            problems.append(
                f"handlers {sorted(self.handlers)} must be exactly the non-terminal phases "
                f"{sorted(working)}"
            )
        if not self.succeeded <= self.terminal:
            problems.append(f"succeeded phases {sorted(self.succeeded)} must be terminal")
        if problems:
            raise ValueError("invalid phase machine: " + "; ".join(problems))

    @property
    def phases(self) -> tuple[str, ...]:
        """Return every phase, in declaration order."""
        return tuple(self.transitions)

    @property
    def terminal(self) -> frozenset[str]:
        """Return the phases with no way out."""
        return frozenset(p for p, targets in self.transitions.items() if not targets)

    def allows(self, source: str, target: str) -> bool:
        """Say whether the matrix lets `target` follow `source`."""
        return target in self.transitions.get(source, frozenset())

    def current(self, status: KubeObject) -> str:
        """Return the phase a status records; the initial one when it records none we know."""
        phase = status.get("phase")
        return phase if isinstance(phase, str) and phase in self.transitions else self.initial

    def run(
        self,
        context: ContextT,
        *,
        previous: KubeObject,
        observed: Iterable[KubeObject],
        conditions: Conditions,
        now: datetime,
        ttl_seconds: int | None = None,
        resync_seconds: int | None = None,
    ) -> PhaseResult:
        """Decide this call's phase, children and phase status from the previous status.

        :param previous: the parent's status as observed (the machine's memory).
        :param observed: every observed child, kept as applied when nothing else is decided.
        :param conditions: the answer's conditions, started from the parent's.
        :param ttl_seconds: delete the children this long after a terminal phase was reached.
        :param resync_seconds: ask to be called again after this long while work is under way.
        """
        observed = list(observed)
        memory = _Memory.read(previous, self.phases)
        phase = self.current(previous)
        if phase in self.terminal:
            return self._terminal(phase, memory, observed, conditions, now, ttl_seconds)
        taken: list[tuple[str, str]] = []
        visited = {phase}
        while True:
            outcome = self.handlers[phase](context)
            target = outcome.next_phase
            if target is None:
                memory.messages[phase] = outcome.message
                for extra in outcome.conditions:
                    conditions.set(extra.type, extra.status, extra.reason, extra.message)
                self._set_conditions(conditions, phase, outcome.reason, outcome.message)
                return PhaseResult(
                    phase=phase,
                    terminal=False,
                    children=list(outcome.children),
                    status=memory.status(phase, conditions),
                    resync_after_seconds=resync_seconds,
                    transitions=tuple(taken),
                )
            refusal = self._refusal(phase, target, visited)
            if refusal is not None:
                reason, message = refusal
                memory.messages[phase] = message
                self._set_conditions(conditions, phase, reason, message)
                return PhaseResult(
                    phase=phase,
                    terminal=False,
                    children=[as_desired(child) for child in observed],
                    status=memory.status(phase, conditions),
                    resync_after_seconds=None,
                    transitions=tuple(taken),
                    error=message,
                )
            when = _time_or(outcome.at, now)
            memory.enter(phase, target, outcome.reason, outcome.message, when, self)
            taken.append((phase, target))
            visited.add(target)
            phase = target
            if phase in self.terminal:
                result = self._terminal(phase, memory, observed, conditions, now, ttl_seconds)
                return replace(result, transitions=tuple(taken))

    def run_request(self, context: ContextT, request: HookRequest[Any, Any]) -> PhaseResult:
        """Run on a controller's request: its status is the memory, its spec's TTL wins over
        the controller option's default, and the option sets the resync period."""
        spec_ttl = request.spec.ttl_seconds_after_finished
        return self.run(
            context,
            previous=request.parent.status,
            observed=request.children.everything(),
            conditions=request.conditions(),
            now=request.now,
            ttl_seconds=spec_ttl
            if spec_ttl is not None
            else request.options.ttl_seconds_after_finished,
            resync_seconds=request.options.resync_seconds,
        )

    def _refusal(self, phase: str, target: str, visited: set[str]) -> tuple[str, str] | None:
        if not self.allows(phase, target):
            allowed = ", ".join(sorted(self.transitions.get(phase, ()))) or "none"
            return (
                REASON_FORBIDDEN,
                f"the {phase} handler asked for {target}, which the transition matrix forbids "
                f"(allowed from {phase}: {allowed})",
            )
        if target in visited:
            return (
                REASON_LOOP,
                f"the {phase} handler asked for {target} again in the same call; the observed "
                "children are inconsistent with the handlers",
            )
        return None

    def _terminal(
        self,
        phase: str,
        memory: _Memory,
        observed: list[KubeObject],
        conditions: Conditions,
        now: datetime,
        ttl_seconds: int | None,
    ) -> PhaseResult:
        """Keep what is observed and repeat the recorded verdict, until the TTL runs out."""
        last = memory.history[-1] if memory.history else {}
        reason = str(last.get("reason") or phase) if last.get("to") == phase else phase
        message = memory.messages.get(phase, f"reached {phase}")
        for previous in memory.conditions:
            if previous["type"] not in MACHINE_CONDITIONS:
                conditions.set(
                    previous["type"], previous["status"], previous["reason"], previous["message"]
                )
        self._set_conditions(conditions, phase, reason, message)
        children: list[KubeObject] = [as_desired(child) for child in observed]
        resync: int | None = None
        completed = _parse_time(memory.completion_time)
        if ttl_seconds is not None and completed is not None and children:
            remaining = ttl_seconds - (now - completed).total_seconds()
            if remaining <= 0:
                children = []
            else:
                resync = max(1, math.ceil(remaining))
        return PhaseResult(
            phase=phase,
            terminal=True,
            children=children,
            status=memory.status(phase, conditions),
            resync_after_seconds=resync,
            transitions=(),
        )

    def _set_conditions(
        self, conditions: Conditions, phase: str, reason: str, message: str
    ) -> None:
        if phase in self.terminal:
            conditions.set(c.PROGRESSING, False, reason, message)
            verdict = c.SUCCEEDED if phase in self.succeeded else c.FAILED
            conditions.set(verdict, True, reason, message)
        else:
            conditions.set(c.PROGRESSING, True, reason, message)
        conditions.set(c.READY, phase in self.succeeded, reason, message)


@dataclass
class _Memory:
    """The phase part of the previous status, read leniently (anyone may have edited it)."""

    start_time: str | None
    completion_time: str | None
    messages: dict[str, str]
    history: list[dict[str, str]]
    conditions: list[dict[str, str]]
    starting: bool = False
    """No start time was recorded before this call: the earliest transition of the call sets it."""

    @classmethod
    def read(cls, status: KubeObject, phases: Sequence[str]) -> _Memory:
        messages = status.get("phaseMessages")
        history = status.get("history")
        conditions = status.get("conditions")
        return cls(
            start_time=_str_or_none(status.get("startTime")),
            completion_time=_str_or_none(status.get("completionTime")),
            messages={
                k: v
                for k, v in (messages.items() if isinstance(messages, dict) else ())
                if k in phases and isinstance(v, str)
            },
            history=[
                {k: str(v) for k, v in item.items() if k in ("from", "to", "reason", "time")}
                for item in (history if isinstance(history, list) else ())
                if isinstance(item, dict) and item.get("to") in phases
            ],
            conditions=[
                {k: str(item.get(k, "")) for k in ("type", "status", "reason", "message")}
                for item in (conditions if isinstance(conditions, list) else ())
                if isinstance(item, dict)
                and isinstance(item.get("type"), str)
                and item.get("status") in ("True", "False", "Unknown")
                and item.get("reason")
            ],
        )

    def enter(
        self,
        source: str,
        target: str,
        reason: str,
        message: str,
        when: str,
        machine: PhaseMachine[Any],
    ) -> None:
        """Record a transition: its time, why, and the message of the phase left behind."""
        self.messages[source] = message
        if target in machine.terminal:
            self.messages[target] = message
            self.completion_time = when
        if self.start_time is None:
            self.starting = True
        if self.starting and (self.start_time is None or when < self.start_time):
            # A parent whose status was lost catches up in one call; its earlier transitions
            # carry the observed Jobs' own (earlier) times, and the start is the earliest.
            self.start_time = when
        self.history.append({"from": source, "to": target, "reason": reason, "time": when})
        del self.history[: -machine.history_limit]

    def status(self, phase: str, conditions: Conditions) -> KubeObject:
        out: KubeObject = {"phase": phase}
        if self.start_time:
            out["startTime"] = self.start_time
        if self.completion_time:
            out["completionTime"] = self.completion_time
        if self.messages:
            out["phaseMessages"] = dict(sorted(self.messages.items()))
        if self.history:
            out["history"] = self.history
        out["conditions"] = conditions.to_list()
        return out


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _time_or(value: str | None, now: datetime) -> str:
    """Return an observed RFC 3339 time in the API server's form, or `now` when there is none."""
    parsed = _parse_time(value)
    return format_time(parsed if parsed is not None else now)
