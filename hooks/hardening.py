"""The security contexts kubehooks' own Deployments (the hook server and the portal) run under:
non-root as the image's user 10001, the runtime's seccomp profile, no privilege escalation, no
capabilities, a read-only root filesystem."""

from __future__ import annotations

from typing import Any

IMAGE_USER = 10001
"""The user (and group) the Dockerfile creates and runs as."""


def pod_security_context() -> dict[str, Any]:
    """Return a Pod's securityContext (a new dict each time: manifests are built, then dumped)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": IMAGE_USER,
        "runAsGroup": IMAGE_USER,
        "fsGroup": IMAGE_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Return a container's securityContext."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
