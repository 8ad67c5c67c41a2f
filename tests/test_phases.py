"""The phase machine: its declaration, every cell of every transition matrix, and its invariants.

The invariants are checked on random runs: sequences of observed Job states fed to the real
controllers, each answer's status becoming the next parent's, as Metacontroller would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks.builders.conditions import Conditions
from hooks.builders.meta import LAST_APPLIED
from hooks.builders.observe import job_state
from hooks.builders.workloads import job_as_applied
from hooks.contract import SyncRequest
from hooks.controllers import aijob, redismigration
from hooks.phases import REASON_FORBIDDEN, REASON_LOOP, Outcome, PhaseMachine
from hooks.registry import CONTROLLERS
from hooks.runtime import bind, run_sync
from hooks.settings import Settings
from tests.cases.common import job_status, observe, parent, request
from tests.goldens import discover_cases

T0 = datetime(2026, 1, 15, 10, tzinfo=UTC)
KEPT = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}}

MACHINES: dict[str, PhaseMachine[Any]] = {
    "redismigration": redismigration.MACHINE,
    "aijob": aijob.MACHINE,
}

DOCUMENTED = {
    "redismigration": {
        ("Pending", "Precheck"),
        ("Precheck", "Run"),
        ("Precheck", "PreFailed"),
        ("Run", "Succeeded"),
        ("Run", "Failed"),
    },
    "aijob": {
        ("Pending", "Running"),
        ("Pending", "Suspended"),
        ("Pending", "Succeeded"),
        ("Pending", "Failed"),
        ("Running", "Suspended"),
        ("Running", "Succeeded"),
        ("Running", "Failed"),
        ("Suspended", "Running"),
        ("Suspended", "Succeeded"),
        ("Suspended", "Failed"),
    },
}
"""The matrices as the README documents them."""


def _stay(name: str) -> Any:
    return lambda context: Outcome.stay([{"kind": "Job", "name": name}], f"In{name}", name)


def _scripted(machine: PhaseMachine[Any], source: str, target: str) -> PhaseMachine[Any]:
    """Return the machine with stub handlers: `source` asks for `target`, the others stay."""
    handlers = {phase: _stay(phase) for phase in machine.handlers}
    handlers[source] = lambda context: Outcome.move(target, "Asked", f"{source} asks {target}")
    return dataclasses.replace(machine, handlers=handlers)


def _run(machine: PhaseMachine[Any], status: dict[str, Any], **kwargs: Any) -> Any:
    return machine.run(
        None,
        previous=status,
        observed=[copy.deepcopy(KEPT)],
        conditions=Conditions(status.get("conditions"), 1, T0),
        now=T0,
        **kwargs,
    )


# -- the declaration -----------------------------------------------------------------------


def test_a_machine_must_have_a_handler_for_exactly_its_working_phases() -> None:
    with pytest.raises(ValueError, match="handlers"):
        PhaseMachine(
            initial="A",
            transitions={"A": frozenset({"B"}), "B": frozenset()},
            handlers={"A": _stay("A"), "B": _stay("B")},
            succeeded=frozenset({"B"}),
        )


def test_a_machine_refuses_unknown_phases_self_loops_and_odd_success() -> None:
    with pytest.raises(ValueError) as err:
        PhaseMachine(
            initial="Z",
            transitions={"A": frozenset({"A", "Q"}), "B": frozenset()},
            handlers={"A": _stay("A")},
            succeeded=frozenset({"A"}),
        )
    message = str(err.value)
    assert "initial phase 'Z'" in message and "unknown phases" in message
    assert "staying is not a transition" in message and "must be terminal" in message


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_the_matrix_is_the_documented_one(name: str) -> None:
    machine = MACHINES[name]
    cells = {(a, b) for a, targets in machine.transitions.items() for b in targets}
    assert cells == DOCUMENTED[name]
    assert machine.terminal == {"Succeeded", "Failed"} | (
        {"PreFailed"} if name == "redismigration" else set()
    )


# -- every cell of every matrix ------------------------------------------------------------


def _cells() -> list[Any]:
    return [
        pytest.param(name, a, b, id=f"{name}:{a}->{b}")
        for name, machine in MACHINES.items()
        for a in machine.phases
        for b in machine.phases
    ]


@pytest.mark.parametrize("name,source,target", _cells())
def test_every_cell_is_taken_exactly_when_the_matrix_allows_it(
    name: str, source: str, target: str
) -> None:
    machine = MACHINES[name]
    if source in machine.terminal:
        # A terminal phase has no handler: nothing can move it, whatever is observed.
        result = _run(machine, {"phase": source})
        assert (result.phase, result.transitions, result.error) == (source, (), None)
        return
    result = _run(_scripted(machine, source, target), {"phase": source})
    if machine.allows(source, target):
        assert result.error is None
        assert result.transitions == ((source, target),)
        assert result.phase == target
        assert result.status["history"][-1]["from"] == source
        assert result.status["history"][-1]["to"] == target
        return
    assert result.phase == source and result.transitions == ()
    assert result.status["phase"] == source
    assert "forbids" in (result.error or "")
    assert result.children == [KEPT], "a refused move keeps every observed child as it is"
    ready = result.status["conditions"][-1]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", REASON_FORBIDDEN)
    assert result.resync_after_seconds is None


def _golden_requests(controller: str) -> list[Any]:
    return [
        case
        for case in discover_cases()
        if case.controller == controller and case.hook == "sync" and "keeps-children" not in case.id
    ]


def _answer(
    controller: str, body: dict[str, Any], now: datetime = T0, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    settings_ = Settings.model_validate(config or {})
    bound = bind(
        CONTROLLERS[controller],
        settings_.controller(controller),
        settings_.policy,
        settings_.limits,
    )
    answer = run_sync(bound, SyncRequest.model_validate(copy.deepcopy(body)), now=now).to_wire()
    return json.loads(json.dumps(answer))  # as it crosses the wire: plain objects only


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_real_observations_reach_every_allowed_cell_and_never_a_forbidden_one(name: str) -> None:
    """Each golden observation, tried from every working phase: the handlers only ever ask
    for allowed moves, and together they take every move the matrix allows."""
    machine = MACHINES[name]
    taken: set[tuple[str, str]] = set()
    for case in _golden_requests(name):
        for phase in machine.handlers:
            body = copy.deepcopy(case.request)
            body["parent"]["status"] = {"phase": phase}
            answer = _answer(name, body, config=case.meta.get("config"))
            status = answer["status"]
            reasons = {c["reason"] for c in status["conditions"]}
            assert not reasons & {REASON_FORBIDDEN, REASON_LOOP}, (case.id, phase, status)
            moves = [(h["from"], h["to"]) for h in status.get("history", [])]
            assert all(machine.allows(a, b) for a, b in moves)
            if moves:
                assert moves[0][0] == phase and moves[-1][1] == status["phase"]
                taken.update(moves)
    assert taken == DOCUMENTED[name]


# -- terminal phases, history, memory ------------------------------------------------------

TOY: PhaseMachine[Any] = PhaseMachine(
    initial="A",
    transitions={
        "A": frozenset({"B"}),
        "B": frozenset({"A", "Done", "Bad"}),
        "Done": frozenset(),
        "Bad": frozenset(),
    },
    handlers={"A": _stay("A"), "B": _stay("B")},
    succeeded=frozenset({"Done"}),
)


def test_terminal_phase_copies_status_keeps_children_and_stops_resyncing() -> None:
    moved = _run(_scripted(TOY, "B", "Done"), {"phase": "B"}, resync_seconds=30)
    assert moved.terminal and moved.resync_after_seconds is None
    later = _run(TOY, moved.status, resync_seconds=30)
    assert later.status == moved.status
    assert later.children == [KEPT] and later.resync_after_seconds is None
    types = {c["type"]: c["status"] for c in later.status["conditions"]}
    assert types == {"Progressing": "False", "Succeeded": "True", "Ready": "True"}


def test_terminal_ttl_drops_children_once_passed_and_resyncs_until_then() -> None:
    done = _run(_scripted(TOY, "B", "Bad"), {"phase": "B"}).status
    assert done["completionTime"] == "2026-01-15T10:00:00Z"
    before = TOY.run(
        None,
        previous=done,
        observed=[KEPT],
        conditions=Conditions(done["conditions"], 1, T0 + timedelta(seconds=59.5)),
        now=T0 + timedelta(seconds=59.5),
        ttl_seconds=60,
    )
    assert before.children == [KEPT] and before.resync_after_seconds == 1
    after = TOY.run(
        None,
        previous=done,
        observed=[KEPT],
        conditions=Conditions(done["conditions"], 1, T0 + timedelta(seconds=60)),
        now=T0 + timedelta(seconds=60),
        ttl_seconds=60,
    )
    assert after.children == [] and after.resync_after_seconds is None
    assert after.status == done, "the status outlives the children"
    gone = TOY.run(
        None,
        previous=done,
        observed=[],
        conditions=Conditions(done["conditions"], 1, T0),
        now=T0,
        ttl_seconds=60,
    )
    assert gone.children == [] and gone.resync_after_seconds is None


def test_a_move_back_is_taken_only_because_the_matrix_allows_it() -> None:
    result = _run(_scripted(TOY, "B", "A"), {"phase": "B"})
    assert result.phase == "A" and result.transitions == (("B", "A"),)


def test_a_move_to_a_phase_already_visited_in_the_call_is_refused() -> None:
    handlers = {
        "A": lambda context: Outcome.move("B", "Go", "go"),
        "B": lambda context: Outcome.move("A", "Back", "back"),
    }
    result = _run(dataclasses.replace(TOY, handlers=handlers), {"phase": "A"})
    assert result.transitions == (("A", "B"),)
    assert result.phase == "B" and result.children == [KEPT]
    assert result.status["conditions"][-1]["reason"] == REASON_LOOP


def test_history_is_short_and_copied_unchanged() -> None:
    handlers = {
        "A": lambda context: Outcome.move("B", "Go", "go"),
        "B": lambda context: Outcome.stay([], "InB", "b"),
    }
    machine = dataclasses.replace(TOY, handlers=handlers, history_limit=3)
    status: dict[str, Any] = {"phase": "A"}
    for minute in range(6):
        status = {**status, "phase": "A"}
        now = T0 + timedelta(minutes=minute)
        status = machine.run(
            None, previous=status, observed=[], conditions=Conditions(None, 1, now), now=now
        ).status
    assert [h["time"] for h in status["history"]] == [
        "2026-01-15T10:03:00Z",
        "2026-01-15T10:04:00Z",
        "2026-01-15T10:05:00Z",
    ]
    assert status["startTime"] == "2026-01-15T10:00:00Z", "the start is copied, not moved"


def test_an_unknown_or_garbled_status_starts_from_the_initial_phase() -> None:
    garbage = {
        "phase": "Exploded",
        "history": ["x", {"to": "Nowhere"}],
        "phaseMessages": {"A": 3, "Zz": "no"},
        "conditions": [{"type": 1}],
        "startTime": 7,
    }
    result = _run(TOY, garbage)
    assert result.phase == "A"
    assert "history" not in result.status and "startTime" not in result.status
    assert result.status["phaseMessages"] == {"A": "A"}


def test_a_transition_time_comes_from_the_observed_child_when_known() -> None:
    handlers = {
        "A": lambda context: Outcome.move("B", "Go", "go", at="2026-01-15T09:59:00Z"),
        "B": _stay("B"),
    }
    result = _run(dataclasses.replace(TOY, handlers=handlers), {"phase": "A"})
    assert result.status["history"][0]["time"] == "2026-01-15T09:59:00Z"
    bad = {"A": lambda context: Outcome.move("B", "Go", "go", at="yesterday"), "B": _stay("B")}
    result = _run(dataclasses.replace(TOY, handlers=bad), {"phase": "A"})
    assert result.status["history"][0]["time"] == "2026-01-15T10:00:00Z"


# -- the Job builders the controllers rely on ----------------------------------------------


def test_job_state_reads_counts_and_only_final_conditions() -> None:
    running = job_state({"status": job_status(active=2, ready=1)})
    assert (running.exists, running.active, running.ready, running.outcome) == (True, 2, 1, None)
    assert running.started and not running.suspended
    interim = job_status(succeeded=1, outcome="Complete")
    interim["conditions"] = interim["conditions"][:1]  # SuccessCriteriaMet only: not done yet
    assert job_state({"status": interim}).outcome is None
    failed = job_state({"status": job_status(failed=3, outcome="Failed")})
    assert (failed.outcome, failed.reason) == ("Failed", "BackoffLimitExceeded")
    assert failed.finished_at == "2026-01-15T09:50:00Z"
    suspended = job_state({"status": job_status(suspended=True)})
    assert suspended.suspended and suspended.suspended_at == "2026-01-15T09:30:00Z"
    assert not job_state(None).exists


def test_job_as_applied_changes_nothing_but_suspend() -> None:
    applied = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"suspend": False, "template": {"spec": {"containers": []}}},
    }
    observed = {
        **applied,
        "metadata": {"name": "j", "uid": "u", "annotations": {LAST_APPLIED: json.dumps(applied)}},
        "spec": {**applied["spec"], "selector": {"matchLabels": {"x": "y"}}},
        "status": {"active": 1},
    }
    assert job_as_applied(observed) == applied
    assert job_as_applied(observed, suspend=True)["spec"] == {**applied["spec"], "suspend": True}


# -- random runs through the real controllers ----------------------------------------------

JOB_STATES = ("absent", "pending", "running", "retrying", "suspended", "complete", "failed")


def _job_status(state: str, now: datetime, age: int) -> dict[str, Any] | None:
    """Return a Job status in that state; a finished Job ended `age` seconds before `now`."""
    started = _stamp(now - timedelta(seconds=age + 60))
    finished = _stamp(now - timedelta(seconds=age))
    return {
        "absent": None,
        "pending": job_status(active=1, started=None),
        "running": job_status(active=1, ready=1, started=started),
        "retrying": job_status(active=1, failed=1, started=started),
        "suspended": job_status(suspended=True),
        "complete": job_status(succeeded=2, outcome="Complete", started=started, finished=finished),
        "failed": job_status(failed=3, outcome="Failed", started=started, finished=finished),
    }[state]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


KNOWN_NAMES = {
    "redismigration": {"rmtest-precheck", "rmtest-migrate"},
    "aijob": {"train"},
}
SPECS = {
    "redismigration": {"source": "10.0.0.5:6379", "dest": "10.0.0.6:6379"},
    "aijob": {"image": "busybox:1.36", "workers": 2},
}


@st.composite
def _runs(
    draw: st.DrawFn,
) -> tuple[str, int | None, list[tuple[dict[str, str], bool, int]]]:
    controller = draw(st.sampled_from(sorted(MACHINES)))
    # Boundary values, so that Jobs ending just before, at and after a TTL all come up.
    ttl = draw(st.sampled_from([None, 0, 60, 120, 600]))
    names = sorted(KNOWN_NAMES[controller])
    steps = draw(
        st.lists(
            st.tuples(
                st.fixed_dictionaries({n: st.sampled_from(JOB_STATES) for n in names}),
                st.booleans(),
                st.sampled_from([0, 30, 59, 60, 61, 119, 120, 121, 599, 600, 900]),
            ),
            min_size=1,
            max_size=12,
        )
    )
    return controller, ttl, steps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=_runs())
def test_random_job_histories_never_take_a_forbidden_move_or_lose_a_child(
    run: tuple[str, int | None, list[tuple[dict[str, str], bool, int]]],
) -> None:
    controller, ttl, steps = run
    machine = MACHINES[controller]
    spec = {**SPECS[controller]}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    name = "rmtest" if controller == "redismigration" else "train"
    owner = parent(controller, name, spec)
    built: dict[str, Any] = {}  # every child ever asked for, as the API server would keep it
    phase = None
    for index, (states, flip_suspend, age) in enumerate(steps):
        now = T0 + timedelta(minutes=5 * index)
        if controller == "aijob" and flip_suspend:
            spec = {**spec, "suspend": not spec.get("suspend", False)}
            owner = parent(controller, name, spec, status=owner.get("status"), generation=index + 2)
        observed = []
        for child_name, desired in sorted(built.items()):
            state = states.get(child_name, "running")
            status = _job_status(state, now, age) if desired["kind"] == "Job" else {}
            if status is None:
                continue  # deleted by someone, or not created yet
            observed.append(observe(desired, owner, status=status))
        body = request(controller, owner, observed)
        answer = _answer(controller, body, now)
        status = answer["status"]
        before = (owner.get("status") or {}).get("phase")
        # 1. only allowed moves, chained from where the parent was, to where it is
        new = status.get("history", [])[len((owner.get("status") or {}).get("history", [])) :]
        if len(status.get("history", [])) < machine.history_limit:
            moves = [(h["from"], h["to"]) for h in new]
            assert all(machine.allows(a, b) for a, b in moves), moves
            if moves:
                assert moves[0][0] == (before or machine.initial)
                assert moves[-1][1] == status["phase"]
            else:
                assert status["phase"] == (before or machine.initial)
        reasons = {c["reason"] for c in status["conditions"]}
        assert not reasons & {REASON_FORBIDDEN, REASON_LOOP}
        # 2. a terminal phase never changes
        if before in machine.terminal:
            assert status["phase"] == before
        # 3. no observed child of ours is lost, except by the TTL of a terminal phase
        kept = {c["metadata"]["name"] for c in answer["children"]}
        ours = {o["metadata"]["name"] for o in observed} & (KNOWN_NAMES[controller] | {name})
        if status["phase"] in machine.terminal and ttl is not None:
            completed = datetime.fromisoformat(status["completionTime"].replace("Z", "+00:00"))
            if (now - completed).total_seconds() >= ttl:
                assert answer["children"] == []
                ours = set()
        assert ours <= kept, (status["phase"], ours - kept)
        # 4. the answer is a fixpoint: written back with nothing new observed, it is repeated
        settled = _answer(controller, request(controller, _with(owner, status), observed), now)
        assert settled["status"] == status
        assert settled["children"] == answer["children"]
        # 5. resync while work is under way, never once everything is settled
        if status["phase"] not in machine.terminal:
            assert answer["resyncAfterSeconds"] == 30
        elif not answer["children"]:
            assert "resyncAfterSeconds" not in answer
        for child in answer["children"]:
            built[child["metadata"]["name"]] = child
        owner = _with(owner, status)
        phase = status["phase"]
    assert phase in machine.phases


def _with(owner: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(owner)
    out["status"] = {**status, "observedGeneration": owner["metadata"]["generation"]}
    return out
