"""The public API of kubehooks: everything an operator author imports, and nothing else.

This module defines nothing of its own; it re-exports names from where they live, so that
kubehooks can move code around without breaking an operator. Every name in `__all__` is a
promise: renaming or removing one, or changing its signature incompatibly, is a breaking
change recorded in CHANGELOG.md. The seven built-in controllers import only from here (and
their own `hooks.api.<kind>` module), which `tests/test_sdk.py` checks, so the SDK is proven
by real operators.

A controller is a spec model, a status model, a `Kind`, a pure `sync` function and a
`Controller` value naming them; register the value under the `kubehooks.controllers` entry
point group (see docs/writing-an-operator.md).
"""

from __future__ import annotations

from hooks import schedule as schedule
from hooks.api import names as names
from hooks.api.common import (
    NAME_PATTERN,
    NODE_PORT_MAX,
    NODE_PORT_MIN,
    ContainerPort,
    ContainerPortList,
    EnvList,
    EnvVar,
    ExtraContainer,
    Image,
    Integer,
    KeySelector,
    KubeModel,
    Probe,
    Probes,
    ResourceRequirements,
    StatusBase,
    check_container_ports,
    check_env,
)
from hooks.api.kind import (
    AGE,
    API_VERSION,
    GROUP,
    READY_COLUMN,
    REASON_COLUMN,
    REPLICAS_SCALE,
    VERSION,
    Kind,
    PrinterColumn,
    ScaleSubresource,
)
from hooks.api.phased import PHASE_COLUMN, PhasedStatus
from hooks.api.quantity import check_limits_cover_requests
from hooks.builders import conditions as conditions
from hooks.builders.autoscaling import (
    DEFAULT_CPU_UTILIZATION,
    horizontal_pod_autoscaler,
    resource_utilization_metric,
    scale_target_ref,
)
from hooks.builders.conditions import Conditions, format_time
from hooks.builders.meta import (
    DEPLOYMENT,
    HPA,
    INGRESS,
    JOB,
    PARENT_GENERATION,
    PART_OF,
    POD,
    SERVICE,
    as_desired,
    is_terminating,
    name_of,
    object_meta,
    selector_labels,
    selector_string,
    standard_labels,
)
from hooks.builders.networking import ingress, require_service_name, service, service_port
from hooks.builders.observe import (
    AutoscalerState,
    DeploymentState,
    JobState,
    autoscaler_state,
    deployment_state,
    find_condition,
    ingress_url,
    job_state,
    pod_is_ready,
    set_workload_conditions,
)
from hooks.builders.workloads import (
    container,
    container_port,
    deployment,
    extra_container,
    http_probe,
    job,
    job_as_applied,
    main_container,
    main_probes,
    pod,
    pod_spec,
    pod_template,
    resources,
    rolling_update,
    tcp_probe,
)
from hooks.contract import (
    CustomizeResponse,
    KubeObject,
    RelatedResourceRule,
    SyncResponse,
    child_key,
)
from hooks.controller import (
    CONFIGMAPS,
    DEPLOYMENTS,
    HPAS,
    INGRESSES,
    JOBS,
    PODS,
    SERVICES,
    ChildResource,
    Controller,
    FinalizeRequest,
    HookRequest,
    NoOptions,
    ParentMeta,
)
from hooks.errors import InvalidSpec, TransientError
from hooks.phases import HISTORY_LIMIT, Outcome, PhaseMachine

__all__ = [
    # What a controller is
    "Controller",
    "ChildResource",
    "HookRequest",
    "FinalizeRequest",
    "ParentMeta",
    "NoOptions",
    "SyncResponse",
    "CustomizeResponse",
    "RelatedResourceRule",
    "KubeObject",
    "child_key",
    # Child resource types (the `childResources` rules)
    "DEPLOYMENTS",
    "PODS",
    "SERVICES",
    "INGRESSES",
    "JOBS",
    "HPAS",
    "CONFIGMAPS",
    # Child map keys (`request.children` groups)
    "DEPLOYMENT",
    "POD",
    "SERVICE",
    "INGRESS",
    "JOB",
    "HPA",
    # The kind and its models
    "Kind",
    "KubeModel",
    "StatusBase",
    "PhasedStatus",
    "PrinterColumn",
    "ScaleSubresource",
    "GROUP",
    "VERSION",
    "API_VERSION",
    "AGE",
    "READY_COLUMN",
    "REASON_COLUMN",
    "PHASE_COLUMN",
    "REPLICAS_SCALE",
    "NAME_PATTERN",
    "NODE_PORT_MIN",
    "NODE_PORT_MAX",
    "ContainerPort",
    "EnvVar",
    "ExtraContainer",
    "KeySelector",
    "Probe",
    "Probes",
    "ResourceRequirements",
    "check_limits_cover_requests",
    # Spec field types with Kubernetes' own rules (strict, as the CRDs are)
    "Integer",
    "Image",
    "EnvList",
    "ContainerPortList",
    "check_env",
    "check_container_ports",
    "names",
    # Errors
    "InvalidSpec",
    "TransientError",
    # Builders: metadata
    "object_meta",
    "standard_labels",
    "selector_labels",
    "selector_string",
    "as_desired",
    "name_of",
    "is_terminating",
    "PART_OF",
    "PARENT_GENERATION",
    # Builders: workloads
    "container",
    "container_port",
    "main_container",
    "extra_container",
    "http_probe",
    "tcp_probe",
    "main_probes",
    "resources",
    "pod_spec",
    "pod_template",
    "pod",
    "deployment",
    "rolling_update",
    "job",
    "job_as_applied",
    # Builders: networking and autoscaling
    "service",
    "service_port",
    "require_service_name",
    "ingress",
    "horizontal_pod_autoscaler",
    "resource_utilization_metric",
    "scale_target_ref",
    "DEFAULT_CPU_UTILIZATION",
    # Conditions and observed state
    "conditions",
    "Conditions",
    "format_time",
    "find_condition",
    "DeploymentState",
    "deployment_state",
    "set_workload_conditions",
    "JobState",
    "job_state",
    "AutoscalerState",
    "autoscaler_state",
    "ingress_url",
    "pod_is_ready",
    # The phase machine
    "PhaseMachine",
    "Outcome",
    "HISTORY_LIMIT",
    # Cron schedules (a namespace: `schedule.next_fire`, `schedule.Job`)
    "schedule",
]
