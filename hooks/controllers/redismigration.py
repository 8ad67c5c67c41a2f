"""RedisMigration: a precheck Job, then a migration Job, as phases of a PhaseMachine.

Pending -> Precheck -> Run -> Succeeded; a failed precheck ends in PreFailed, a failed migration
in Failed (after the Job's own retries). The phase is derived on every call from `status.phase`
and the observed Jobs (`hooks.phases`). A Job, once created, is answered as it was applied: its
pod template is immutable, and a migration that runs must not be disturbed by a spec change.

The Jobs run `sh` and `redis-cli` (redis:7-alpine by default): the precheck PINGs both ends,
compares their versions and checks the dest is a writable primary; the migration SCANs the
source and copies batches of keys with `MIGRATE ... COPY REPLACE`. Passwords come from Secrets
through REDISCLI_AUTH, never from the spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hooks.api.redismigration import REDISMIGRATION, RedisMigrationOptions, RedisMigrationSpec
from hooks.sdk import (
    JOB,
    JOBS,
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
    resources,
    standard_labels,
)

BUILTIN_IMAGE = "redis:7-alpine"
NAME = "redismigration"

PENDING, PRECHECK, RUN = "Pending", "Precheck", "Run"
SUCCEEDED, PREFAILED, FAILED = "Succeeded", "PreFailed", "Failed"

PRECHECK_DEADLINE_SECONDS = 300
"""A precheck is a handful of round trips; five minutes covers retries on a slow network."""

MAX_NAME_LENGTH = 63 - len("-precheck")
"""Job names end up in the `job-name` label of their Pods, and label values stop at 63."""

REDIS_UID = 999
"""The redis user of the official images: the Jobs need no root."""

Request = HookRequest[RedisMigrationSpec, RedisMigrationOptions]

PRECHECK_SCRIPT = """\
set -eu
fail() { echo "precheck failed: $*" >&2; exit 1; }
cli() {
  auth=$1 host=$2 port=$3 db=$4
  shift 4
  if [ -n "$auth" ]; then
    REDISCLI_AUTH=$auth timeout 10 redis-cli -h "$host" -p "$port" -n "$db" "$@" 2>&1
  else
    timeout 10 redis-cli -h "$host" -p "$port" -n "$db" "$@" 2>&1
  fi
}
source_cli() { cli "${SOURCE_AUTH:-}" "$SOURCE_HOST" "$SOURCE_PORT" "$SOURCE_DB" "$@"; }
dest_cli() { cli "${DEST_AUTH:-}" "$DEST_HOST" "$DEST_PORT" "$DEST_DB" "$@"; }
field() { tr -d '\\r' | sed -n "s/^$1://p"; }
version_number() { echo "$1" | awk -F. '{ printf "%d", $1 * 1000 + $2 }'; }
check() {
  name=$1 address=$2 run=$3
  reply=$($run PING) || fail "$name $address is unreachable: $reply"
  [ "$reply" = PONG ] || fail "$name $address answered PING with: $reply"
  version=$($run INFO server | field redis_version)
  [ -n "$version" ] || fail "$name $address did not report its version"
  echo "$name $address db $4: Redis $version"
}
check source "$SOURCE_HOST:$SOURCE_PORT" source_cli "$SOURCE_DB"
source_version=$version
check dest "$DEST_HOST:$DEST_PORT" dest_cli "$DEST_DB"
dest_version=$version
[ "$(version_number "$dest_version")" -ge "$(version_number "$source_version")" ] ||
  fail "dest runs Redis $dest_version, older than the source's $source_version:" \\
    "it may not read the source's DUMP format"
role=$(dest_cli INFO replication | field role)
[ "$role" = master ] || fail "dest is not a writable primary (role: $role)"
[ -n "$(source_cli COMMAND INFO MIGRATE | tr -d '\\r\\n')" ] ||
  fail "the source does not offer MIGRATE (renamed or disabled)"
echo "source holds $(source_cli DBSIZE) keys in db $SOURCE_DB; ready to migrate"
"""
"""Checks both ends from the Job's Pod: reachable, authenticated, database selectable, dest at
least as new as the source (RESTORE reads older DUMP payloads, not newer), dest a primary, and
MIGRATE available at the source."""

MIGRATE_SCRIPT = """\
set -eu
source_cli() {
  if [ -n "${SOURCE_AUTH:-}" ]; then
    REDISCLI_AUTH=$SOURCE_AUTH redis-cli -h "$SOURCE_HOST" -p "$SOURCE_PORT" -n "$SOURCE_DB" "$@"
  else
    redis-cli -h "$SOURCE_HOST" -p "$SOURCE_PORT" -n "$SOURCE_DB" "$@"
  fi
}
copy() {
  [ "$#" -gt 0 ] || return 0
  if [ -n "${DEST_AUTH:-}" ]; then
    set -- AUTH "$DEST_AUTH" KEYS "$@"
  else
    set -- KEYS "$@"
  fi
  reply=$(source_cli MIGRATE "$DEST_HOST" "$DEST_PORT" "" "$DEST_DB" "$TIMEOUT_MS" \\
    COPY REPLACE "$@" 2>&1) || { echo "MIGRATE failed: $reply" >&2; exit 1; }
  case $reply in
    OK | NOKEY) ;;
    *) echo "MIGRATE failed: $reply" >&2; exit 1 ;;
  esac
}
copy_keys() {
  total=0
  set --
  while IFS= read -r key; do
    set -- "$@" "$key"
    if [ "$#" -ge "$BATCH_SIZE" ]; then
      copy "$@"
      total=$((total + $#))
      set --
    fi
  done
  copy "$@"
  echo "copied $((total + $#))"
}
# POSIX sh has no pipefail (dash, the sh of Debian-based images): the scan's exit status
# comes back through fd 3, so a scan cut short fails the Job instead of passing for complete.
result=$({
  {
    scan=0
    source_cli --scan --pattern "$KEY_PATTERN" || scan=$?
    echo "scan $scan" >&3
  } | copy_keys
} 3>&1)
case $result in
  *"scan 0"*) ;;
  *) echo "SCAN of the source failed; $(echo "$result" | sed -n 's/^copied //p') keys copied" >&2
     exit 1 ;;
esac
echo "$(echo "$result" | sed -n 's/^copied //p') keys matching $KEY_PATTERN copied" \\
  "from $SOURCE_HOST:$SOURCE_PORT db $SOURCE_DB to $DEST_HOST:$DEST_PORT db $DEST_DB"
"""
"""SCAN the source (keys present for the whole scan are guaranteed to be seen) and copy each
batch with MIGRATE COPY REPLACE, which keeps TTLs and leaves the source untouched. The source
itself connects to the dest, so the dest address must be reachable from the source server."""


@dataclass(frozen=True)
class Endpoint:
    """A resolved Redis address."""

    host: str
    port: int


@dataclass(frozen=True)
class Context:
    """What every phase handler of a RedisMigration looks at."""

    request: Request
    precheck: KubeObject | None
    migrate: KubeObject | None

    def kept(self) -> list[KubeObject]:
        """Return the observed Jobs as they were applied: a Job is never rebuilt."""
        return [job_as_applied(obj) for obj in (self.precheck, self.migrate) if obj is not None]


def sync(request: Request) -> SyncResponse:
    """Run the phase machine over the observed Jobs."""
    name = request.parent.name
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidSpec(
            f"the name {name!r} is longer than {MAX_NAME_LENGTH} characters, too long for the "
            "Jobs' names to fit in a label",
            reason="InvalidName",
        )
    context = Context(
        request,
        precheck=request.children.named(JOB, f"{name}-precheck"),
        migrate=request.children.named(JOB, f"{name}-migrate"),
    )
    result = MACHINE.run_request(context, request)
    return SyncResponse(
        status=result.status,
        children=result.children,
        resyncAfterSeconds=result.resync_after_seconds,
    )


def pending(context: Context) -> Outcome:
    """Nothing has run yet: resolve both ends and precheck.

    An instance ID the server's table does not name yet leaves the migration Pending, saying
    so, and it goes on by itself once the table names it (the phase machine resyncs Pending).
    """
    try:
        source, dest = _endpoints(context.request)
    except InvalidSpec as err:
        if err.reason != REASON_UNKNOWN_INSTANCE:
            raise
        message = f"{err.message}; waiting for it to be added"
        return Outcome.stay(context.kept(), REASON_UNKNOWN_INSTANCE, message)
    return Outcome.move(
        PRECHECK,
        "PrecheckStarting",
        f"checking source {source.host}:{source.port} and dest {dest.host}:{dest.port}",
    )


def precheck(context: Context) -> Outcome:
    """Run the precheck Job; its success starts the migration, its failure is PreFailed."""
    return _job_step(
        context,
        "precheck",
        done=(RUN, "PrecheckSucceeded", "Job {job} found both ends reachable and compatible"),
        failed=(PREFAILED, "PrecheckFailed"),
        working="Prechecking",
    )


def run(context: Context) -> Outcome:
    """Run the migration Job; the precheck Job is kept so its log stays readable."""
    return _job_step(
        context,
        "migrate",
        done=(
            SUCCEEDED,
            "MigrationSucceeded",
            "Job {job} copied the keys; see kubectl logs job/{job}",
        ),
        failed=(FAILED, "MigrationFailed"),
        working="Migrating",
    )


def _job_step(
    context: Context,
    step: str,
    *,
    done: tuple[str, str, str],
    failed: tuple[str, str],
    working: str,
) -> Outcome:
    """Follow one step's Job: create it if missing, move on when it completes or fails."""
    name = f"{context.request.parent.name}-{step}"
    state = job_state(context.precheck if step == "precheck" else context.migrate)
    if state.outcome == "Complete":
        target, reason, message = done
        return Outcome.move(target, reason, message.format(job=name), at=state.finished_at)
    if state.outcome == "Failed":
        target, reason = failed
        message = _failure(name, state, context.request.spec.backoff_limit)
        return Outcome.move(target, reason, message, at=state.finished_at)
    children = context.kept()
    if not state.exists:
        # Keep the answer's order stable: the precheck Job first, then the migration Job.
        position = 0 if step == "precheck" else len(children)
        children.insert(position, redismigration_job(context.request, step))
    return Outcome.stay(children, working, _progress(name, state))


MACHINE: PhaseMachine[Context] = PhaseMachine(
    initial=PENDING,
    transitions={
        PENDING: frozenset({PRECHECK}),
        PRECHECK: frozenset({RUN, PREFAILED}),
        RUN: frozenset({SUCCEEDED, FAILED}),
        SUCCEEDED: frozenset(),
        PREFAILED: frozenset(),
        FAILED: frozenset(),
    },
    handlers={PENDING: pending, PRECHECK: precheck, RUN: run},
    succeeded=frozenset({SUCCEEDED}),
)


def redismigration_job(request: Request, role: str) -> KubeObject:
    """Build the precheck or migrate Job: the script, both ends' addresses, passwords by ref."""
    spec = request.spec
    source, dest = _endpoints(request)
    env: list[KubeObject] = [
        {"name": "SOURCE_HOST", "value": source.host},
        {"name": "SOURCE_PORT", "value": str(source.port)},
        {"name": "SOURCE_DB", "value": str(spec.source_database)},
        {"name": "DEST_HOST", "value": dest.host},
        {"name": "DEST_PORT", "value": str(dest.port)},
        {"name": "DEST_DB", "value": str(spec.dest_database)},
    ]
    if role == "migrate":
        env += [
            {"name": "KEY_PATTERN", "value": spec.key_pattern},
            {"name": "BATCH_SIZE", "value": str(spec.batch_size)},
            {"name": "TIMEOUT_MS", "value": str(spec.timeout_milliseconds)},
        ]
    for variable, secret in (
        ("SOURCE_AUTH", spec.source_password),
        ("DEST_AUTH", spec.dest_password),
    ):
        if secret is not None:
            env.append({"name": variable, "valueFrom": {"secretKeyRef": secret.to_wire()}})
    main = container(
        role,
        request.image(spec.image, BUILTIN_IMAGE),
        command=["sh", "-c", PRECHECK_SCRIPT if role == "precheck" else MIGRATE_SCRIPT],
        env=env,
        resources=resources(requests={"cpu": "50m", "memory": "32Mi"}, limits={"memory": "128Mi"}),
        security_context={
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": REDIS_UID,
            "runAsGroup": REDIS_UID,
        },
    )
    labels = standard_labels(NAME, request.parent.name, component=role)
    return job(
        request.meta(f"{request.parent.name}-{role}", labels),
        template=pod_template(labels, pod_spec([main], restart_policy="Never")),
        backoff_limit=spec.backoff_limit,
        active_deadline_seconds=(
            PRECHECK_DEADLINE_SECONDS if role == "precheck" else spec.active_deadline_seconds
        ),
    )


REASON_UNKNOWN_INSTANCE = "UnknownInstance"


def _endpoints(request: Request) -> tuple[Endpoint, Endpoint]:
    spec, table = request.spec, request.options.instances
    return _resolve("source", spec.source, table), _resolve("dest", spec.dest, table)


def _resolve(field: str, value: str, table: dict[str, str]) -> Endpoint:
    """Return an instance ID's address from the server's table, or a host:port as given."""
    address = table.get(value, value)
    match = re.fullmatch(r"(?P<host>[^:]+):(?P<port>[0-9]+)", address)
    if match is None:
        known = ", ".join(sorted(table)) or "none"
        raise InvalidSpec(
            f"spec.{field}: {value!r} is neither an instance ID of the server's table "
            f"(known: {known}) nor host:port",
            reason=REASON_UNKNOWN_INSTANCE,
        )
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise InvalidSpec(f"spec.{field}: port {port} is out of range", reason="InvalidSpec")
    return Endpoint(match["host"], port)


def _progress(name: str, state: JobState) -> str:
    if not state.exists:
        return f"creating Job {name}"
    if state.suspended:
        return f"Job {name} is suspended"
    retries = f", {state.failed} failed attempt(s) so far" if state.failed else ""
    if state.active:
        return f"Job {name} is running{retries}"
    return f"Job {name} is starting{retries}"


def _failure(name: str, state: JobState, backoff_limit: int) -> str:
    why = state.reason or "Failed"
    detail = f": {state.message}" if state.message else ""
    return (
        f"Job {name} failed ({why}{detail}) after {state.failed} failed attempt(s) "
        f"with backoffLimit {backoff_limit}; see kubectl logs job/{name}"
    )


CONTROLLER = Controller(
    name="redismigration",
    kind=REDISMIGRATION,
    children=(JOBS,),
    sync=sync,
    options=RedisMigrationOptions,
    builtin_image=BUILTIN_IMAGE,
)
"""Registered as the `redismigration` entry point of the `kubehooks.controllers` group."""
