"""Golden cases of the redismigration controller: every phase and transition of a run.

The run is replayed step by step (tests.cases.phased): the seed's `rmtest` is created, its
precheck Job runs and succeeds, the migration Job runs and ends. Each case is one moment of it.
"""

from __future__ import annotations

from typing import Any

from tests.cases.common import Case, job_status, parent, request
from tests.cases.phased import answer, applied, observed_as

C = "redismigration"
NAME = "rmtest"
SEED = {"source": "ali-123", "dest": "tx-123"}
"""The seed's sample CR, as written in the kubecontroller notes."""
INSTANCES = {"ali-123": "10.0.0.5:6379", "tx-123": "10.1.0.7:6379"}
OPTIONS = {"options": {"instances": INSTANCES}}
CONFIG = {"controllers": {C: OPTIONS}}

# The run's timeline: created at CREATED (09:00), the precheck Job starts at once and
# completes at 09:20, the migration Job starts at EARLIER (09:30) and ends at JOB_FINISHED
# (09:50); each *_STEP is when the hook answered the event, NOW (10:00) when the case happens.
CREATED_STEP = "2026-01-15T09:00:01Z"
PRECHECK_STARTED = "2026-01-15T09:00:03Z"
PRECHECK_RUNNING_STEP = "2026-01-15T09:00:04Z"
PRECHECK_DONE = "2026-01-15T09:20:00Z"
PRECHECK_DONE_STEP = "2026-01-15T09:20:01Z"
FINISHED_STEP = "2026-01-15T09:50:01Z"

PRECHECK = f"{NAME}-precheck"
MIGRATE = f"{NAME}-migrate"

Obj = dict[str, Any]


def _run(spec: Obj, *, config: Obj = OPTIONS, generation: int = 1) -> dict[str, Obj]:
    """Replay a run up to the migration Job running; return the parents and answers met."""
    fresh = parent(C, NAME, spec, generation=generation)
    first = answer(C, fresh, [], config=config, now=CREATED_STEP)
    prechecking = applied(fresh, first)
    precheck_running = observed_as(
        first, fresh, {PRECHECK: job_status(active=1, started=PRECHECK_STARTED)}
    )
    second = answer(C, prechecking, precheck_running, config=config, now=PRECHECK_RUNNING_STEP)
    prechecking = applied(prechecking, second)
    precheck_done = observed_as(
        first,
        fresh,
        {
            PRECHECK: job_status(
                succeeded=1, outcome="Complete", started=PRECHECK_STARTED, finished=PRECHECK_DONE
            )
        },
    )
    third = answer(C, prechecking, precheck_done, config=config, now=PRECHECK_DONE_STEP)
    running = applied(prechecking, third)
    return {
        "fresh": fresh,
        "first": first,
        "prechecking": prechecking,
        "precheck_running": {"observed": precheck_running},
        "precheck_done": {"observed": precheck_done},
        "running": running,
        "third": third,
    }


def _migrate(run: dict[str, Obj], status: Obj) -> list[Obj]:
    """Return the precheck Job (succeeded) and the migration Job with the given status."""
    return [
        *run["precheck_done"]["observed"],
        *observed_as(run["third"], run["fresh"], {MIGRATE: status}),
    ]


def cases() -> list[Case]:
    """Return every redismigration case."""
    run = _run(SEED)
    running = _migrate(run, job_status(active=1, ready=1))
    succeeded = _migrate(run, job_status(succeeded=1, outcome="Complete"))
    failed = _migrate(run, job_status(failed=3, outcome="Failed"))
    done = applied(
        run["running"], answer(C, run["running"], succeeded, config=OPTIONS, now=FINISHED_STEP)
    )
    with_ttl = _with_spec(done, {**SEED, "ttlSecondsAfterFinished": 300}, generation=2)
    ttl_pending = _with_spec(done, {**SEED, "ttlSecondsAfterFinished": 3600}, generation=2)
    gone = _with_spec(run["running"], SEED, deleting=True)
    direct = {
        "source": "redis-a.cache.svc:6379",
        "dest": "10.1.0.7:6380",
        "sourcePassword": {"name": "redis-a", "key": "password"},
        "destPassword": {"name": "redis-b", "key": "password"},
        "keyPattern": "session:*",
        "sourceDatabase": 2,
        "destDatabase": 3,
        "batchSize": 500,
        "backoffLimit": 1,
        "activeDeadlineSeconds": 3600,
    }
    direct_run = _run(direct)
    return [
        Case(
            C,
            "fresh-parent",
            "The seed's rmtest (ali-123 -> tx-123), nothing observed: Pending moves to Precheck "
            "at once and the precheck Job is created.",
            request(C, run["fresh"]),
            config=CONFIG,
        ),
        Case(
            C,
            "precheck-running",
            "The precheck Job runs: stay in Precheck, keep the Job as applied, resync.",
            request(C, run["prechecking"], run["precheck_running"]["observed"]),
            config=CONFIG,
        ),
        Case(
            C,
            "precheck-failed",
            "The precheck Job failed after its retries: PreFailed (terminal), the Job is kept "
            "for its log, no resync, Failed=True with the Job's reason.",
            request(
                C,
                run["prechecking"],
                observed_as(
                    run["first"],
                    run["fresh"],
                    {PRECHECK: job_status(failed=3, outcome="Failed", started=PRECHECK_STARTED)},
                ),
            ),
            config=CONFIG,
        ),
        Case(
            C,
            "precheck-succeeded",
            "The precheck Job completed: Run, with the migration Job created beside the "
            "precheck Job; the transition time is the Job's completionTime.",
            request(C, run["prechecking"], run["precheck_done"]["observed"]),
            config=CONFIG,
        ),
        Case(
            C,
            "steady-state",
            "The migration Job runs: stay in Run, both Jobs answered as applied, status as before.",
            request(C, run["running"], running),
            config=CONFIG,
        ),
        Case(
            C,
            "v1-keys",
            "Steady state as a v1 hook sends it: same answer.",
            request(C, run["running"], running, version="v1"),
            config=CONFIG,
        ),
        Case(
            C,
            "succeeded",
            "The migration Job completed: Succeeded (terminal), Ready=True, completionTime from "
            "the Job, Jobs kept, no resync.",
            request(C, run["running"], succeeded),
            config=CONFIG,
        ),
        Case(
            C,
            "failed",
            "The migration Job failed after its backoffLimit: Failed (terminal), Jobs kept.",
            request(C, run["running"], failed),
            config=CONFIG,
        ),
        Case(
            C,
            "succeeded-stays",
            "Already Succeeded: status copied unchanged (no hot loop), Jobs kept, no resync.",
            request(C, done, succeeded),
            config=CONFIG,
        ),
        Case(
            C,
            "ttl-expired",
            "Succeeded 10 minutes ago with ttlSecondsAfterFinished 300: the Jobs are dropped "
            "(Metacontroller deletes them), the status stays.",
            request(C, with_ttl, succeeded),
            config=CONFIG,
        ),
        Case(
            C,
            "ttl-pending",
            "Succeeded 10 minutes ago with ttlSecondsAfterFinished 3600: Jobs kept, resync when "
            "the TTL runs out (50 minutes).",
            request(C, ttl_pending, succeeded),
            config=CONFIG,
        ),
        Case(
            C,
            "status-lost",
            "No status (lost or never written) while the migration Job runs: one call walks "
            "Pending -> Precheck -> Run from the observed Jobs; nothing is recreated.",
            request(C, run["fresh"], running),
            config=CONFIG,
        ),
        Case(
            C,
            "direct-addresses",
            "host:port endpoints, password Secrets (REDISCLI_AUTH), databases, key pattern and "
            "batch size: the precheck Job succeeded and the migration Job is built.",
            request(C, direct_run["prechecking"], direct_run["precheck_done"]["observed"]),
            config=CONFIG,
        ),
        Case(
            C,
            "unknown-instance-keeps-children",
            "The precheck succeeded but tx-123 left the server's table: UnknownInstance, the "
            "precheck Job is kept and no migration Job is created.",
            request(C, run["prechecking"], run["precheck_done"]["observed"]),
            config={
                "controllers": {C: {"options": {"instances": {"ali-123": INSTANCES["ali-123"]}}}}
            },
        ),
        Case(
            C,
            "unknown-instance-waits-in-pending",
            "A fresh migration whose dest tx-123 is not in the server's table yet: Pending, "
            "reason UnknownInstance, resynced so it starts once the table names it.",
            request(C, run["fresh"]),
            config={
                "controllers": {C: {"options": {"instances": {"ali-123": INSTANCES["ali-123"]}}}}
            },
        ),
        Case(
            C,
            "invalid-spec-keeps-children",
            "batchSize 0 while the migration runs: the spec is refused, both Jobs are kept.",
            request(C, _with_spec(run["running"], {**SEED, "batchSize": 0}, generation=2), running),
            config=CONFIG,
        ),
        Case(
            C,
            "default-image-from-config",
            "No image in the spec: the server's configured default image is used.",
            request(C, run["fresh"]),
            config={
                "controllers": {C: {**OPTIONS, "defaultImage": "registry.local/redis:7.4-alpine"}}
            },
        ),
        Case(
            C,
            "finalize-with-children",
            "Deleted mid-run with both Jobs left: ask for no Jobs (Metacontroller deletes them), "
            "not finalized yet.",
            request(C, gone, running, finalizing=True),
            hook="finalize",
            config=CONFIG,
        ),
        Case(
            C,
            "finalize-done",
            "Deleted mid-run and no Job left: finalized.",
            request(C, gone, [], finalizing=True),
            hook="finalize",
            config=CONFIG,
        ),
    ]


def _with_spec(parent_obj: Obj, spec: Obj, *, generation: int = 1, deleting: bool = False) -> Obj:
    """Return the same parent (status included) with another spec and generation."""
    return parent(
        C, NAME, spec, generation=generation, status=parent_obj.get("status"), deleting=deleting
    )
