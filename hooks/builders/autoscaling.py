"""Autoscalers: the autoscaling/v2 HorizontalPodAutoscaler and its parts.

Reading an observed HPA is `observe.autoscaler_state`; this module only builds.
"""

from __future__ import annotations

from collections.abc import Sequence

from hooks.contract import KubeObject

DEFAULT_CPU_UTILIZATION = 80
"""The target the API server defaults an autoscaling/v2 HPA without metrics to (average CPU
utilization 80%). Written out, so the object we apply is the one the API server stores."""


def scale_target_ref(api_version: str, kind: str, name: str) -> KubeObject:
    """Build a CrossVersionObjectReference to a workload in the HPA's namespace."""
    return {"apiVersion": api_version, "kind": kind, "name": name}


def resource_utilization_metric(resource: str, average_utilization: int) -> KubeObject:
    """Build a Resource metric targeting an average utilization (percent of the requests)."""
    return {
        "type": "Resource",
        "resource": {
            "name": resource,
            "target": {"type": "Utilization", "averageUtilization": average_utilization},
        },
    }


def horizontal_pod_autoscaler(
    meta: KubeObject,
    *,
    target: KubeObject,
    min_replicas: int,
    max_replicas: int,
    metrics: Sequence[KubeObject],
) -> KubeObject:
    """Build an autoscaling/v2 HorizontalPodAutoscaler.

    The HPA controller moves a target whose replica count lies outside [min, max] to the nearest
    bound before it reads any metric, so the bounds hold even where no metrics API is installed;
    metrics only move replicas within them. A target at 0 replicas is left alone (the HPA
    reports ScalingDisabled), and minReplicas 0 needs the HPAScaleToZero feature gate, hence
    `1 <= min_replicas <= max_replicas`.
    """
    if not 1 <= min_replicas <= max_replicas:
        raise ValueError(f"need 1 <= minReplicas ({min_replicas}) <= maxReplicas ({max_replicas})")
    spec: KubeObject = {
        "scaleTargetRef": target,
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "metrics": list(metrics),
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": spec,
    }
