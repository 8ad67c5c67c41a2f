"""AIJob: a (distributed) training run as one Indexed Job, and a headless Service for its workers.

Phases Pending -> Running -> Succeeded | Failed, with Suspended in between while `spec.suspend`
holds the Job; all derived on every call from `status.phase` and the observed Job
(`hooks.phases`). The Job's pod template is immutable, so once the Job exists it is answered as
it was applied and only `suspend` follows the spec; other spec changes wait for a new AIJob.

Each worker gets WORLD_SIZE, RANK (its completion index), MASTER_ADDR (the stable DNS name of
index 0 through the headless Service) and MASTER_PORT, as torch.distributed and friends expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hooks.api.aijob import AIJOB, AIJobOptions, AIJobSpec
from hooks.sdk import (
    JOB,
    JOBS,
    SERVICES,
    Controller,
    HookRequest,
    InvalidSpec,
    JobState,
    KubeObject,
    Outcome,
    PhaseMachine,
    SyncResponse,
    container,
    job,
    job_as_applied,
    job_state,
    pod_spec,
    pod_template,
    selector_labels,
    service,
    service_port,
    standard_labels,
)

NAME = "aijob"

PENDING, RUNNING, SUSPENDED = "Pending", "Running", "Suspended"
SUCCEEDED, FAILED = "Succeeded", "Failed"

COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
COUNTS = ("active", "ready", "succeeded", "failed")

Request = HookRequest[AIJobSpec, AIJobOptions]


@dataclass(frozen=True)
class Context:
    """What every phase handler of an AIJob looks at."""

    request: Request
    job: KubeObject | None
    state: JobState

    def children(self) -> list[KubeObject]:
        """Return the Job (as applied, with the spec's suspend; else built) and its Service.

        The Service exists while the Job that runs has more than one worker: the observed Job's
        own count decides, since a changed `workers` does not reach a Job that exists.
        """
        suspend = self.request.spec.suspend
        worker_job = (
            job_as_applied(self.job, suspend=suspend) if self.job else aijob_job(self.request)
        )
        children = [worker_job]
        if _completions(worker_job) > 1:
            children.append(aijob_service(self.request))
        return children

    @property
    def workers(self) -> int:
        """Return how many workers the Job that runs (or will run) has."""
        return _completions(self.job) if self.job else self.request.spec.workers


def sync(request: Request) -> SyncResponse:
    """Run the phase machine over the observed Job, and report its worker counts."""
    _check_name(request)
    _resources(request)  # a spec error whether or not the Job exists yet
    observed = request.children.named(JOB, request.parent.name)
    state = job_state(observed)
    result = MACHINE.run_request(Context(request, observed, state), request)
    status = {**_counts(request, state, result.terminal), **result.status}
    return SyncResponse(
        status=status, children=result.children, resyncAfterSeconds=result.resync_after_seconds
    )


def pending(context: Context) -> Outcome:
    """The Job is being created or its workers scheduled (GPUs may be scarce)."""
    state = context.state
    if state.outcome is not None or state.suspended:
        return _leave(context)
    if state.started:
        return Outcome.move(
            RUNNING, "WorkersStarted", _workers_message(context), at=state.start_time
        )
    if not state.exists:
        reason, message = "JobCreating", f"creating Job {context.request.parent.name}"
    else:
        reason, message = "WaitingForWorkers", _workers_message(context)
    return Outcome.stay(context.children(), reason, message)


def running(context: Context) -> Outcome:
    """Workers run; a Job deleted by someone is created again (the run starts over)."""
    if context.state.outcome is not None or context.state.suspended:
        return _leave(context)
    if not context.state.exists:
        reason, message = "JobRecreating", f"Job {context.request.parent.name} is being recreated"
        return Outcome.stay(context.children(), reason, message)
    return Outcome.stay(context.children(), "Running", _workers_message(context))


def suspended(context: Context) -> Outcome:
    """The Job is suspended: no worker runs until `spec.suspend` is false again."""
    state = context.state
    if state.outcome is not None:
        return _leave(context)
    if state.exists and not state.suspended:
        return Outcome.move(RUNNING, "Resumed", "the Job was resumed; workers are starting")
    message = "the Job is suspended; set spec.suspend to false to resume"
    if not context.request.spec.suspend:
        message = "resuming the Job"
    return Outcome.stay(context.children(), "Suspended", message)


def _leave(context: Context) -> Outcome:
    """Follow the Job into its end, or into suspension."""
    state, name = context.state, context.request.parent.name
    if state.outcome == "Complete":
        return Outcome.move(
            SUCCEEDED,
            "JobSucceeded",
            f"all {context.workers} workers of Job {name} completed",
            at=state.finished_at,
        )
    if state.outcome == "Failed":
        detail = f": {state.message}" if state.message else ""
        return Outcome.move(
            FAILED,
            "JobFailed",
            f"Job {name} failed ({state.reason or 'Failed'}{detail}); "
            f"{state.failed} worker Pod(s) failed, see kubectl logs job/{name}",
            at=state.finished_at,
        )
    return Outcome.move(SUSPENDED, "Suspended", f"Job {name} is suspended", at=state.suspended_at)


MACHINE: PhaseMachine[Context] = PhaseMachine(
    initial=PENDING,
    transitions={
        PENDING: frozenset({RUNNING, SUSPENDED, SUCCEEDED, FAILED}),
        RUNNING: frozenset({SUSPENDED, SUCCEEDED, FAILED}),
        SUSPENDED: frozenset({RUNNING, SUCCEEDED, FAILED}),
        SUCCEEDED: frozenset(),
        FAILED: frozenset(),
    },
    handlers={PENDING: pending, RUNNING: running, SUSPENDED: suspended},
    succeeded=frozenset({SUCCEEDED}),
)


def aijob_job(request: Request) -> KubeObject:
    """Build the Indexed Job: one Pod per rank, each with the distributed environment."""
    spec, options = request.spec, request.options
    name = request.parent.name
    workers = spec.workers
    env: list[KubeObject] = [
        {"name": "WORLD_SIZE", "value": str(workers)},
        {
            "name": "RANK",
            "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": COMPLETION_INDEX}},
        },
        {"name": "MASTER_ADDR", "value": f"{name}-0.{name}" if workers > 1 else "localhost"},
        {"name": "MASTER_PORT", "value": str(options.master_port)},
        *(item.to_wire() for item in spec.env or []),
    ]
    worker = container(
        "worker",
        spec.image,
        command=spec.command,
        args=spec.args,
        env=env,
        resources=_resources(request),
    )
    labels = standard_labels(NAME, name, component="worker")
    template = pod_template(
        labels,
        pod_spec([worker], restart_policy="Never", subdomain=name if workers > 1 else None),
    )
    return job(
        request.meta(name, labels),
        template=template,
        backoff_limit=spec.backoff_limit,
        completions=workers,
        parallelism=workers,
        completion_mode="Indexed",
        active_deadline_seconds=spec.active_deadline_seconds,
        suspend=spec.suspend,
    )


def aijob_service(request: Request) -> KubeObject:
    """Build the headless Service that gives worker i the name `<job>-<i>.<service>`.

    Not-ready addresses are published because batch Pods have no readiness probe worth waiting
    for, and rank 0 must be resolvable as soon as it runs.
    """
    name = request.parent.name
    port = request.options.master_port
    return service(
        request.meta(name, standard_labels(NAME, name, component="workers")),
        selector=selector_labels(NAME, name),
        ports=[service_port(port, name="master")],
        headless=True,
        publish_not_ready_addresses=True,
    )


def _resources(request: Request) -> KubeObject | None:
    """Return the worker's resources with `gpusPerWorker` GPUs as a limit (requests follow)."""
    spec, gpu = request.spec, request.options.gpu_resource
    out = spec.resources.to_wire() if spec.resources else {}
    for half in ("limits", "requests"):
        if gpu in (out.get(half) or {}):
            raise InvalidSpec(
                f"spec.resources.{half}: ask for GPUs with spec.gpusPerWorker, not {gpu}",
                reason="InvalidSpec",
            )
    if spec.gpus_per_worker:
        limits = {**(out.get("limits") or {}), gpu: str(spec.gpus_per_worker)}
        out = {
            "limits": dict(sorted(limits.items())),
            **{k: v for k, v in out.items() if k != "limits"},
        }
    return out or None


def _counts(request: Request, state: JobState, terminal: bool) -> KubeObject:
    """Return the worker counts of the observed Job; a finished job whose Job was deleted keeps
    the last ones reported."""
    if state.exists:
        return {key: getattr(state, key) for key in COUNTS}
    previous = request.parent.status
    if terminal:
        return {key: previous[key] for key in COUNTS if isinstance(previous.get(key), int)}
    return {key: 0 for key in COUNTS}


def _workers_message(context: Context) -> str:
    state = context.state
    return (
        f"{state.ready}/{context.workers} workers ready, {state.active} active, "
        f"{state.succeeded} succeeded, {state.failed} failed"
    )


def _completions(job_object: KubeObject | None) -> int:
    value = ((job_object or {}).get("spec") or {}).get("completions")
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _check_name(request: Request) -> None:
    """Refuse a name that cannot become the Service's name and every worker's hostname."""
    name = request.parent.name
    longest = f"{name}-{request.spec.workers - 1}"
    if not DNS_LABEL.fullmatch(name) or len(longest) > 63:
        raise InvalidSpec(
            f"the name {name!r} must be a DNS label (lower-case letters, digits and '-', "
            f"starting with a letter) and short enough for {longest!r} to fit in 63 characters",
            reason="InvalidName",
        )


CONTROLLER = Controller(
    name="aijob",
    kind=AIJOB,
    children=(JOBS, SERVICES),
    sync=sync,
    options=AIJobOptions,
)
"""Registered as the `aijob` entry point of the `kubehooks.controllers` group."""
