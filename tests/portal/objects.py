"""Watched objects as the API server sends them, for the portal's tests."""

from __future__ import annotations

from typing import Any


def aijob(
    name: str = "train",
    *,
    namespace: str = "team-a",
    uid: str = "uid-1",
    phase: str | None = None,
    ready: str | None = None,
    reason: str = "",
    transition: str = "2026-01-01T00:01:00Z",
    start: str | None = None,
    completion: str | None = None,
    labels: dict[str, str] | None = None,
    rv: str = "1",
) -> dict[str, Any]:
    """Return an AIJob with the given status (none when phase and ready are None)."""
    obj: dict[str, Any] = {
        "apiVersion": "kubehooks.dev/v1alpha1",
        "kind": "AIJob",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": rv,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": labels or {},
        },
        "spec": {"image": "trainer:1", "workers": 4, "gpusPerWorker": 2},
    }
    status: dict[str, Any] = {}
    if phase:
        status["phase"] = phase
    if ready:
        status["conditions"] = [
            {
                "type": "Ready",
                "status": ready,
                "reason": reason,
                "message": f"{reason} message",
                "lastTransitionTime": transition,
            }
        ]
    if start:
        status["startTime"] = start
    if completion:
        status["completionTime"] = completion
    if status:
        obj["status"] = status
    return obj
