"""Services and Ingresses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hooks.contract import KubeObject
from hooks.errors import InvalidSpec

_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def require_service_name(name: str) -> None:
    """Raise InvalidSpec unless `name` can name a Service (a DNS-1035 label, 63 chars at most).

    Object names may start with a digit and run to 253 characters; Service names may not, and
    the API server would refuse the Service only after the rest was created.
    """
    if len(name) > 63 or not _DNS_1035_LABEL.match(name):
        raise InvalidSpec(
            f"metadata.name {name!r} cannot name a Service: it must be at most 63 characters "
            "of lower-case letters, digits and '-', starting with a letter",
            reason="InvalidName",
        )


def service_port(
    port: int,
    *,
    target_port: int | str | None = None,
    name: str | None = None,
    protocol: str = "TCP",
    node_port: int | None = None,
) -> KubeObject:
    """Build a ServicePort; targetPort defaults to the port, as Kubernetes does."""
    out: KubeObject = {"port": port, "protocol": protocol}
    if name:
        out["name"] = name
    out["targetPort"] = port if target_port is None else target_port
    if node_port is not None:
        out["nodePort"] = node_port
    return out


def service(
    meta: KubeObject,
    *,
    selector: dict[str, str],
    ports: Sequence[KubeObject],
    type_: str = "ClusterIP",
    headless: bool = False,
    publish_not_ready_addresses: bool | None = None,
) -> KubeObject:
    """Build a core/v1 Service; a headless one gives each selected Pod a stable DNS name."""
    spec: KubeObject = {"type": type_, "selector": dict(sorted(selector.items()))}
    if headless:
        spec["clusterIP"] = "None"
    if publish_not_ready_addresses is not None:
        spec["publishNotReadyAddresses"] = publish_not_ready_addresses
    spec["ports"] = list(ports)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def ingress(
    meta: KubeObject,
    *,
    class_name: str | None,
    host: str | None,
    path: str,
    path_type: str,
    service_name: str,
    service_port: int,
    tls_secret_name: str | None = None,
) -> KubeObject:
    """Build a networking.k8s.io/v1 Ingress with one rule routing a path to one Service port."""
    rule: KubeObject = {
        "http": {
            "paths": [
                {
                    "path": path,
                    "pathType": path_type,
                    "backend": {
                        "service": {"name": service_name, "port": {"number": service_port}}
                    },
                }
            ]
        }
    }
    if host:
        rule = {"host": host, **rule}
    spec: KubeObject = {}
    if class_name:
        spec["ingressClassName"] = class_name
    spec["rules"] = [rule]
    if tls_secret_name:
        tls: KubeObject = {"secretName": tls_secret_name}
        if host:
            tls = {"hosts": [host], **tls}
        spec["tls"] = [tls]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": spec,
    }
