"""The security policy every Pod-bearing child passes before it leaves the server.

Hooks run with Metacontroller's cluster-wide permissions, so a parent's spec must not be a way
to get a privileged Pod, a host mount or an object in someone else's namespace. The policy judges
the children as built, not the spec, so every controller is covered by the same code.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from hooks.builders.workloads import pod_specs_of
from hooks.contract import KubeObject
from hooks.errors import PolicyViolation

BASELINE_CAPABILITIES = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
"""The capabilities the Pod Security Standards' baseline profile lets a container add."""


class SecurityPolicy(BaseModel):
    """What user specs may ask of the Pods the hooks build; everything risky is off by default."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    allow_privileged: bool = Field(
        default=False,
        description="privileged containers, Windows hostProcess and an unmasked /proc",
    )
    allowed_capabilities: tuple[str, ...] = Field(
        default=BASELINE_CAPABILITIES, description="capabilities a container may add"
    )
    allow_host_path: bool = Field(default=False, description="hostPath volumes")
    allow_host_namespaces: bool = Field(default=False, description="hostNetwork/PID/IPC")
    allow_host_ports: bool = Field(default=False, description="containers' hostPort")
    allow_cross_namespace: bool = Field(
        default=False, description="children outside the parent's namespace"
    )


class VettedContainers:
    """The containers one answer has already passed, by identity.

    Controllers share one container among many children (a PodCluster's thousand Pods), so
    each is judged once per answer; the children are alive for the whole check, so no identity
    is reused while it is remembered.
    """

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: set[int] = set()

    def first_time(self, container: KubeObject) -> bool:
        """Say whether this container is new to this answer, remembering it."""
        key = id(container)
        if key in self._ids:
            return False
        self._ids.add(key)
        return True


def check_child(
    child: KubeObject,
    parent_namespace: str | None,
    policy: SecurityPolicy,
    vetted: VettedContainers | None = None,
) -> None:
    """Raise PolicyViolation, naming the rule, if a child breaks the policy."""
    namespace = (child.get("metadata") or {}).get("namespace")
    if (
        not policy.allow_cross_namespace
        and parent_namespace
        and namespace
        and namespace != parent_namespace
    ):
        raise PolicyViolation(
            "namespace",
            f"{child.get('kind')} would be created in namespace {namespace!r}, "
            f"outside the parent's namespace {parent_namespace!r}",
        )
    for spec in pod_specs_of(child):
        check_pod_spec(spec, policy, child, vetted or VettedContainers())


def check_pod_spec(
    spec: KubeObject, policy: SecurityPolicy, child: KubeObject, vetted: VettedContainers
) -> None:
    """Raise PolicyViolation if a PodSpec of `child` asks for more than the policy allows."""
    if not policy.allow_host_namespaces:
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(field):
                raise PolicyViolation("hostNamespaces", f"{_where(child)}: {field} is not allowed")
    if not policy.allow_host_path:
        for volume in spec.get("volumes") or ():
            if "hostPath" in volume:
                raise PolicyViolation(
                    "hostPath",
                    f"{_where(child)}: hostPath volume {volume.get('name')!r} is not allowed",
                )
    if not policy.allow_privileged and _host_process(spec.get("securityContext")):
        raise PolicyViolation(
            "privileged", f"{_where(child)}: Windows hostProcess Pods are not allowed"
        )
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for item in spec.get(field) or ():
            if vetted.first_time(item):
                _check_container(item, policy, child)


def _host_process(context: object) -> bool:
    """Say whether a security context asks for a Windows HostProcess (privileged on the node)."""
    options = context.get("windowsOptions") if isinstance(context, dict) else None
    return isinstance(options, dict) and bool(options.get("hostProcess"))


def _check_container(container: KubeObject, policy: SecurityPolicy, child: KubeObject) -> None:
    context = container.get("securityContext") or {}
    if not policy.allow_privileged:
        if context.get("privileged"):
            raise PolicyViolation(
                "privileged", f"{_where(child, container)}: privileged containers are not allowed"
            )
        if _host_process(context):
            raise PolicyViolation(
                "privileged", f"{_where(child, container)}: Windows hostProcess is not allowed"
            )
        if context.get("procMount") not in (None, "Default"):
            raise PolicyViolation(
                "privileged", f"{_where(child, container)}: an unmasked /proc is not allowed"
            )
    added = (context.get("capabilities") or {}).get("add") or []
    refused = sorted(cap for cap in added if _bare(cap) not in _allowed(policy)) if added else []
    if refused:
        raise PolicyViolation(
            "capabilities",
            f"{_where(child, container)}: adding {', '.join(refused)} is not allowed",
        )
    if not policy.allow_host_ports:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                raise PolicyViolation(
                    "hostPorts", f"{_where(child, container)}: hostPort is not allowed"
                )


def _bare(capability: object) -> str:
    return str(capability).upper().removeprefix("CAP_")


@cache
def _allowed(policy: SecurityPolicy) -> frozenset[str]:
    """Return the policy's capabilities as compared (upper case, no CAP_), once per policy."""
    return frozenset(_bare(cap) for cap in policy.allowed_capabilities)


def _where(child: KubeObject, container: KubeObject | None = None) -> str:
    """Name the child (and container) a violation is in; built only once one is found."""
    where = f"{child.get('kind')} {(child.get('metadata') or {}).get('name', '')}"
    return where if container is None else f"{where} container {container.get('name')!r}"
