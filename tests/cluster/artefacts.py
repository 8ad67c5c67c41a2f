"""The repository's artefacts the real-cluster tests put in front of the API server.

Everything is discovered from the working tree at collection time (crds/, metacontroller/,
examples/, tests/invalid/, tests/fixtures/*/*/response.json), so a new controller's files are
picked up without touching these tests.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hooks.registry import CONTROLLERS
from tests.cluster.kube import ApiError, Kube, KubeObject

ROOT = Path(__file__).resolve().parent.parent.parent
CRDS = ROOT / "crds"
COMPOSITE_CONTROLLERS = ROOT / "metacontroller"
EXAMPLES = ROOT / "examples"
INVALID = ROOT / "tests" / "invalid"
FIXTURES = ROOT / "tests" / "fixtures"
HERE = Path(__file__).resolve().parent
COMPOSITE_CONTROLLER_CRD = HERE / "fixtures" / "compositecontroller-crd.yaml"
CONTROLLER_REVISION_CRD = HERE / "fixtures" / "controllerrevision-crd.yaml"
GOLDEN_NAMESPACE = "default"
"""Goldens build their children in `default`; a child without a namespace goes there too."""


def documents(path: Path) -> list[KubeObject]:
    """Return the non-empty YAML documents of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def of_kind(folder: Path, kind: str) -> list[Path]:
    """Return the YAML files of a folder holding at least one object of that kind."""
    return [
        path
        for path in sorted(folder.glob("*.yaml"))
        if any(doc.get("kind") == kind for doc in documents(path))
    ]


def crd_files() -> list[Path]:
    return of_kind(CRDS, "CustomResourceDefinition")


def composite_controller_files() -> list[Path]:
    return of_kind(COMPOSITE_CONTROLLERS, "CompositeController")


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def invalid_files() -> list[Path]:
    return sorted(INVALID.glob("*.yaml"))


def expected_field(path: Path) -> str:
    """Return the field an invalid resource's first line names (`# expect: spec.replicas`)."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if not first.startswith("# expect:"):
        raise ValueError(f"{path.name}: the first line must be `# expect: <field path>`")
    return first.removeprefix("# expect:").strip()


def api_field(dotted: str) -> str:
    """Turn a JSON-Schema path (`spec.ports.0.nodePort`) into the API server's
    (`spec.ports[0].nodePort`)."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", dotted)


@dataclass(frozen=True)
class GoldenChild:
    """One child of one golden response."""

    case: str
    """`<controller>/<case>`."""
    index: int
    obj: KubeObject

    @property
    def id(self) -> str:
        meta = self.obj.get("metadata") or {}
        return f"{self.case}:{self.obj.get('kind')}/{meta.get('name')}"


def golden_children() -> list[GoldenChild]:
    """Return every child of every tests/fixtures/<controller>/<case>/response.json."""
    out = []
    for path in sorted(FIXTURES.glob("*/*/response.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        case = f"{path.parent.parent.name}/{path.parent.name}"
        children = body.get("children") if isinstance(body, dict) else None
        for index, child in enumerate(children or []):
            out.append(GoldenChild(case, index, child))
    return out


@dataclass
class CrdInstall:
    """How one CRD fared: the API server's answer, then its conditions once settled."""

    name: str
    stored: KubeObject | None = None
    error: ApiError | None = None
    conditions: dict[str, KubeObject] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def established(self) -> bool:
        return (self.conditions.get("Established") or {}).get("status") == "True"


CRD_RESOURCE = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")


def install_crd(kube: Kube, crd: KubeObject) -> CrdInstall:
    """Create a CRD (replacing an existing one) and record its conditions."""
    resource = kube.resource(CRD_RESOURCE[0], kind=CRD_RESOURCE[1])
    name = crd["metadata"]["name"]
    outcome = CrdInstall(name)
    started = time.monotonic()
    try:
        outcome.stored = kube.create(crd)
    except ApiError as err:
        if err.status != 409:
            outcome.error = err
            return outcome
        live = kube.get(resource, None, name)
        replacement = copy.deepcopy(crd)
        replacement["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        try:
            outcome.stored = kube.update(replacement)
        except ApiError as update_err:
            outcome.error = update_err
            return outcome
    outcome.conditions = wait_crd_settled(kube, name)
    outcome.seconds = time.monotonic() - started
    return outcome


def crd_conditions(kube: Kube, name: str) -> dict[str, KubeObject]:
    resource = kube.resource(CRD_RESOURCE[0], kind=CRD_RESOURCE[1])
    live = kube.get(resource, None, name)
    return {c["type"]: c for c in (live.get("status") or {}).get("conditions") or []}


def wait_crd_settled(kube: Kube, name: str, timeout: float = 60) -> dict[str, KubeObject]:
    """Wait until a CRD is Established (or NamesAccepted is False); return its conditions."""
    deadline = time.monotonic() + timeout
    while True:
        conditions = crd_conditions(kube, name)
        if (conditions.get("Established") or {}).get("status") == "True":
            return conditions
        if (conditions.get("NamesAccepted") or {}).get("status") == "False":
            return conditions
        if time.monotonic() > deadline:
            return conditions
        time.sleep(0.1)


def served_kind(kube: Kube, crd: KubeObject) -> tuple[str, str]:
    """Return (apiVersion, kind) of a CRD's storage version, waiting until discovery has it."""
    spec = crd["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("storage"))
    api_version = f"{spec['group']}/{version}"
    kube.wait_served(api_version, spec["names"]["kind"])
    return api_version, spec["names"]["kind"]


def contains(stored: Any, sent: Any) -> bool:
    """Say whether everything sent is in what was stored (defaults may add, never drop)."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            key in stored and contains(stored[key], value) for key, value in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(contains(a, b) for a, b in zip(stored, sent, strict=True))
        )
    return bool(stored == sent)


def composite_controller_for(kube: Kube, controller: str) -> KubeObject:
    """Install (or find) the CompositeController of metacontroller/ whose parent is this
    controller's kind, and return it as stored (with the API server's defaults)."""
    plural = CONTROLLERS[controller].kind.plural
    for path in composite_controller_files():
        for doc in documents(path):
            if (
                doc.get("kind") == "CompositeController"
                and doc["spec"]["parentResource"]["resource"] == plural
            ):
                resource = kube.resource_of(doc)
                stored = kube.get_or_none(resource, None, doc["metadata"]["name"])
                return stored if stored is not None else kube.create(doc)
    raise LookupError(f"no CompositeController in metacontroller/ manages {plural}")
