"""What the API server refuses in the children our hooks answer, written from its source.

An oracle for property tests, independent of the spec models: it reads children (Pods, pod
templates, Services, Ingresses, HPAs, Jobs) and applies the rules of
k8s.io/kubernetes v1.37 pkg/apis/core/validation/validation.go that concern the fields our
controllers fill in (validateContainers, validateContainerPorts, ValidateEnv,
validateResourceRequirements, ValidatePortNumOrName, validateServicePort), plus the API
server's warnings we promise to avoid (pkg/api/pod/warnings.go: duplicate env names and port
names, fractional bytes). kubernetes-validate's OpenAPI check knows types, not these rules.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hooks.api import names
from hooks.api.quantity import parse_quantity
from hooks.builders.workloads import pod_specs_of

STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


def child_problems(child: dict[str, Any]) -> list[str]:
    """Return every rule a child breaks (empty when the API server would accept it)."""
    problems = names.child_name_problems(child)
    meta = child.get("metadata") or {}
    problems += _annotation_problems("metadata.annotations", meta.get("annotations"))
    for pod_spec in pod_specs_of(child):
        problems += _pod_spec_problems(pod_spec)
    kind = child.get("kind")
    spec = child.get("spec") or {}
    if kind == "Service":
        problems += _service_problems(spec)
    if kind == "Ingress":
        class_name = spec.get("ingressClassName")
        if class_name is not None and not names.is_dns1123_subdomain(class_name):
            problems.append(f"ingressClassName {class_name!r} is not a DNS subdomain")
        for tls in spec.get("tls") or []:
            if not names.is_dns1123_subdomain(tls.get("secretName", "")):
                problems.append(f"tls secretName {tls.get('secretName')!r}")
    return problems


def _annotation_problems(where: str, annotations: Any) -> list[str]:
    if not annotations:
        return []
    try:
        names.check_annotations(annotations)
    except ValueError as err:
        return [f"{where}: {err}"]
    return []


def _pod_spec_problems(spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    port_names: list[str] = []
    for container in containers:
        problems += _container_problems(container)
        port_names += [p["name"] for p in container.get("ports") or [] if p.get("name")]
    if len(port_names) != len(set(port_names)):
        problems.append(f"port names repeated in the Pod: {sorted(port_names)}")
    container_names = [c.get("name") for c in containers]
    if len(container_names) != len(set(container_names)):
        problems.append(f"container names repeated: {container_names}")
    return problems


def _container_problems(container: dict[str, Any]) -> list[str]:
    where = f"container {container.get('name')!r}"
    problems = []
    if not names.is_dns1123_label(str(container.get("name", ""))):
        problems.append(f"{where}: name is not a DNS-1123 label")
    image = container.get("image", "")
    if not image or _is_go_space(image[0]) or _is_go_space(image[-1]):
        problems.append(f"{where}: image {image!r} is empty or padded")
    seen_ports: set[str] = set()
    for port in container.get("ports") or []:
        name = port.get("name")
        if name is not None and not names.is_port_name(name):
            problems.append(f"{where}: port name {name!r}")
        if name in seen_ports:
            problems.append(f"{where}: port name {name!r} twice")
        seen_ports.add(name)
        if not 1 <= port.get("containerPort", 0) <= 65535:
            problems.append(f"{where}: containerPort {port.get('containerPort')}")
    env_names: set[str] = set()
    for item in container.get("env") or []:
        problems += _env_problems(where, item)
        if item.get("name") in env_names:
            problems.append(f"{where}: env {item.get('name')!r} twice")
        env_names.add(item.get("name"))
    problems += _resource_problems(where, container.get("resources") or {})
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name) or {}
        for handler in ("tcpSocket", "httpGet"):
            if handler in probe:
                problem = names.port_number_or_name_problem(probe[handler].get("port"))
                if problem:
                    problems.append(f"{where}: {probe_name}.{handler}.port {problem}")
        if probe_name == "livenessProbe" and probe.get("successThreshold", 1) != 1:
            problems.append(f"{where}: livenessProbe.successThreshold must be 1")
    return problems


def _env_problems(where: str, item: dict[str, Any]) -> list[str]:
    problems = []
    name = str(item.get("name", ""))
    if not name or not _full(names.ENV_VAR_NAME, name):
        problems.append(f"{where}: env name {name!r}")
    source = item.get("valueFrom") or {}
    if item.get("value") and source:
        problems.append(f"{where}: env {name} has value and valueFrom")
    if source and len(source) != 1:
        problems.append(f"{where}: env {name} valueFrom has {len(source)} sources")
    for ref in ("secretKeyRef", "configMapKeyRef"):
        selector = source.get(ref)
        if selector is not None:
            if not names.is_dns1123_subdomain(str(selector.get("name", ""))):
                problems.append(f"{where}: env {name} {ref}.name {selector.get('name')!r}")
            key = str(selector.get("key", ""))
            if len(key) > 253 or not _full(names.CONFIG_MAP_KEY, key):
                problems.append(f"{where}: env {name} {ref}.key {key!r}")
    return problems


def _resource_problems(where: str, resources: dict[str, Any]) -> list[str]:
    problems = []
    for half in ("requests", "limits"):
        for name, value in (resources.get(half) or {}).items():
            if name not in STANDARD_RESOURCES and not (
                "/" in name and names.is_label_key(name) and "kubernetes.io/" not in name
            ):
                problems.append(f"{where}: {half}.{name} is not a container resource")
            try:
                amount = parse_quantity(value)
            except ValueError:
                problems.append(f"{where}: {half}.{name} {value!r} is not a quantity")
                continue
            if amount < 0:
                problems.append(f"{where}: {half}.{name} {value!r} is negative")
            if (name in {"memory", "ephemeral-storage"} or "/" in name) and amount.denominator != 1:
                problems.append(f"{where}: {half}.{name} {value!r} is not whole")
    limits = resources.get("limits") or {}
    for name, value in (resources.get("requests") or {}).items():
        limit = limits.get(name)
        if limit is None:
            if "/" in name:
                problems.append(f"{where}: {name} requested without a limit")
            continue
        try:
            request_amount, limit_amount = parse_quantity(value), parse_quantity(limit)
        except ValueError:
            continue
        if request_amount > limit_amount or ("/" in name and request_amount != limit_amount):
            problems.append(f"{where}: requests.{name} {value} against limit {limit}")
    return problems


def _service_problems(spec: dict[str, Any]) -> list[str]:
    problems = []
    ports = spec.get("ports") or []
    port_names = [p.get("name") for p in ports if p.get("name")]
    if len(port_names) != len(set(port_names)):
        problems.append(f"Service port names repeated: {port_names}")
    if len(ports) > 1 and len(port_names) != len(ports):
        problems.append("a Service with several ports needs every port named")
    for port in ports:
        name = port.get("name")
        if name is not None and not names.is_dns1123_label(name):
            problems.append(f"Service port name {name!r}")
        if not 1 <= port.get("port", 0) <= 65535:
            problems.append(f"Service port {port.get('port')}")
        target = port.get("targetPort")
        if target is not None:
            problem = names.port_number_or_name_problem(target)
            if problem:
                problems.append(f"Service targetPort {problem}")
    return problems


def _is_go_space(char: str) -> bool:
    """unicode.IsSpace, which strings.TrimSpace uses (Python's str.strip also trims \\x1c-\\x1f)."""
    return char in "\t\n\v\f\r \x85\xa0" or unicodedata.category(char) in {"Zs", "Zl", "Zp"}


def _full(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern[1:-1], value) is not None
