"""Golden cases of the aijob controller: every phase and transition of a training run.

The run is replayed step by step (tests.cases.phased): `train` is created, its Indexed Job waits
for GPUs, the workers start, and the run is suspended, resumed, and ends.
"""

from __future__ import annotations

from typing import Any

from tests.cases.common import Case, job_status, observe, parent, request
from tests.cases.phased import answer, applied, observed_as

C = "aijob"
NAME = "train"
SINGLE = {
    "image": "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
    "command": ["python", "train.py"],
}
DISTRIBUTED = {
    "image": "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
    "command": ["torchrun"],
    "args": [
        "--nnodes=$(WORLD_SIZE)",
        "--node-rank=$(RANK)",
        "--master-addr=$(MASTER_ADDR)",
        "--master-port=$(MASTER_PORT)",
        "--nproc-per-node=1",
        "train.py",
    ],
    "env": [
        {"name": "EPOCHS", "value": "10"},
        {"name": "DATA_TOKEN", "valueFrom": {"secretKeyRef": {"name": "data", "key": "token"}}},
    ],
    "workers": 2,
    "gpusPerWorker": 1,
    "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"memory": "16Gi"}},
    "backoffLimit": 0,
    "activeDeadlineSeconds": 86400,
}

# The run's timeline: created at 09:00, the Job starts at once, both workers are ready at 09:05,
# the run is suspended at 09:30 (EARLIER) and ends at JOB_FINISHED (09:50). Each *_STEP is
# when the hook answered an event; NOW (10:00) is when the case happens.
CREATED_STEP = "2026-01-15T09:00:01Z"
JOB_STARTED = "2026-01-15T09:00:02Z"
SCHEDULING_STEP = "2026-01-15T09:00:03Z"
READY_STEP = "2026-01-15T09:05:00Z"
FINISHED_STEP = "2026-01-15T09:50:01Z"

Obj = dict[str, Any]


def _run(spec: Obj) -> dict[str, Any]:
    """Replay a run up to both workers running; return the parents and answers met."""
    fresh = parent(C, NAME, spec)
    first = answer(C, fresh, [], config={}, now=CREATED_STEP)
    pending = applied(fresh, first)
    scheduling = _observe(first, fresh, job_status(active=2, started=JOB_STARTED))
    second = answer(C, pending, scheduling, config={}, now=SCHEDULING_STEP)
    pending = applied(pending, second)
    ready = _observe(first, fresh, job_status(active=2, ready=2, started=JOB_STARTED))
    third = answer(C, pending, ready, config={}, now=READY_STEP)
    return {
        "fresh": fresh,
        "first": first,
        "pending": pending,
        "scheduling": scheduling,
        "ready": ready,
        "running": applied(pending, third),
    }


def _observe(body: Obj, parent_obj: Obj, status: Obj) -> list[Obj]:
    """Return an answer's Job with that status, and its Service (if any) as created."""
    job, *services = observed_as(body, parent_obj, {NAME: status})
    for obj in body["children"]:
        if obj["kind"] == "Service":
            services.append(observe(obj, parent_obj, status={"loadBalancer": {}}))
    return [job, *services]


def cases() -> list[Case]:
    """Return every aijob case."""
    run = _run(DISTRIBUTED)
    single = _run(SINGLE)

    def jobs(status: Obj) -> list[Obj]:
        return _observe(run["first"], run["fresh"], status)

    running = jobs(job_status(active=2, ready=2, started=JOB_STARTED))
    suspended_job = jobs(job_status(suspended=True))
    resumed_job = jobs(job_status(active=2, started="2026-01-15T09:45:00Z"))
    succeeded = jobs(job_status(succeeded=2, outcome="Complete", started=JOB_STARTED))
    suspend = {**DISTRIBUTED, "suspend": True}
    suspending = _respec(run["running"], suspend, generation=2)
    paused = applied(
        suspending, answer(C, suspending, suspended_job, config={}, now="2026-01-15T09:30:01Z")
    )
    done = applied(
        run["running"], answer(C, run["running"], succeeded, config={}, now=FINISHED_STEP)
    )
    return [
        Case(
            C,
            "fresh-parent",
            "One worker, nothing observed: an Indexed Job of 1 (WORLD_SIZE 1, MASTER_ADDR "
            "localhost), no Service; Pending.",
            request(C, single["fresh"]),
        ),
        Case(
            C,
            "fresh-distributed",
            "Two workers with a GPU each: the Indexed Job (completions = parallelism = 2, "
            "nvidia.com/gpu limit, RANK from the completion index, MASTER_ADDR train-0.train) "
            "and the headless Service train.",
            request(C, run["fresh"]),
        ),
        Case(
            C,
            "waiting-for-workers",
            "The Job exists but no worker runs yet (GPUs being scheduled): stay Pending.",
            request(C, run["pending"], run["scheduling"]),
        ),
        Case(
            C,
            "workers-started",
            "Both workers are ready: Pending -> Running, at the Job's startTime.",
            request(C, run["pending"], run["ready"]),
        ),
        Case(
            C,
            "steady-state",
            "Running with both workers ready: same children, same status.",
            request(C, run["running"], running),
        ),
        Case(
            C,
            "v1-keys",
            "Steady state as a v1 hook sends it: same answer.",
            request(C, run["running"], running, version="v1"),
        ),
        Case(
            C,
            "suspending",
            "spec.suspend set while running: the Job (as applied) asks for suspend: true; the "
            "phase stays Running until the Job reports Suspended.",
            request(C, suspending, running),
        ),
        Case(
            C,
            "suspended",
            "The Job reports Suspended: Running -> Suspended.",
            request(C, suspending, suspended_job),
        ),
        Case(
            C,
            "resumed",
            "spec.suspend back to false and the Job runs again: Suspended -> Running (a move "
            "back that the matrix allows).",
            request(C, _respec(paused, DISTRIBUTED, generation=3), resumed_job),
        ),
        Case(
            C,
            "succeeded",
            "Both indexes completed: Succeeded, Ready=True, counts from the Job, no resync.",
            request(C, run["running"], succeeded),
        ),
        Case(
            C,
            "failed",
            "The Job ran past activeDeadlineSeconds: Failed with the Job's reason, Job kept.",
            request(
                C,
                run["running"],
                jobs(
                    job_status(
                        failed=2,
                        outcome="Failed",
                        reason="DeadlineExceeded",
                        message="Job was active longer than specified deadline",
                        started=JOB_STARTED,
                    )
                ),
            ),
        ),
        Case(
            C,
            "ttl-expired",
            "Succeeded 10 minutes ago with ttlSecondsAfterFinished 60: Job and Service are "
            "dropped, status (counts included) stays.",
            request(
                C,
                _respec(done, {**DISTRIBUTED, "ttlSecondsAfterFinished": 60}, generation=2),
                succeeded,
            ),
        ),
        Case(
            C,
            "finished-and-cleaned",
            "Succeeded and the children are gone: the status, counts included, is copied.",
            request(
                C, _respec(done, {**DISTRIBUTED, "ttlSecondsAfterFinished": 60}, generation=2), []
            ),
        ),
        Case(
            C,
            "workers-change-keeps-job",
            "workers 2 -> 4 while running: the Job's template is immutable, so it is answered "
            "as applied (2 workers) and the Service stays.",
            request(
                C, _respec(run["running"], {**DISTRIBUTED, "workers": 4}, generation=2), running
            ),
        ),
        Case(
            C,
            "job-deleted-recreated",
            "Someone deleted the Job while running: it is created again, the Service kept.",
            request(C, run["running"], running[1:]),
        ),
        Case(
            C,
            "reserved-env-keeps-children",
            "The spec sets RANK itself: refused, the Job and Service are kept as they are.",
            request(
                C,
                _respec(
                    run["running"],
                    {**DISTRIBUTED, "env": [{"name": "RANK", "value": "0"}]},
                    generation=2,
                ),
                running,
            ),
        ),
        Case(
            C,
            "gpu-in-resources-keeps-children",
            "resources.limits names nvidia.com/gpu besides gpusPerWorker: refused, children kept.",
            request(
                C,
                _respec(
                    run["running"],
                    {
                        **DISTRIBUTED,
                        "resources": {"limits": {"nvidia.com/gpu": 2, "memory": "16Gi"}},
                    },
                    generation=2,
                ),
                running,
            ),
        ),
        Case(
            C,
            "finalize-with-children",
            "Deleted mid-run with the Job and Service left: ask for none, not finalized.",
            request(
                C, _respec(run["running"], DISTRIBUTED, deleting=True), running, finalizing=True
            ),
            hook="finalize",
        ),
        Case(
            C,
            "finalize-done",
            "Deleted mid-run and nothing left: finalized.",
            request(C, _respec(run["running"], DISTRIBUTED, deleting=True), [], finalizing=True),
            hook="finalize",
        ),
    ]


def _respec(parent_obj: Obj, spec: Obj, *, generation: int = 1, deleting: bool = False) -> Obj:
    """Return the same parent (status included) with another spec and generation."""
    return parent(
        C, NAME, spec, generation=generation, status=parent_obj.get("status"), deleting=deleting
    )
