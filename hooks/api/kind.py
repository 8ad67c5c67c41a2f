"""What a kind's CRD says beyond its schema: names, scope, subresources, printer columns."""

from __future__ import annotations

from dataclasses import dataclass

from hooks.api.common import KubeModel, StatusBase

GROUP = "kubehooks.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class PrinterColumn:
    """One `additionalPrinterColumns` entry of `kubectl get`."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class ScaleSubresource:
    """Paths of the scale subresource, so `kubectl scale` and HPAs work on the parent."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str | None = None


REPLICAS_SCALE = ScaleSubresource(".spec.replicas", ".status.replicas", ".status.selector")
"""The scale subresource of a kind with spec.replicas and the usual status counts."""

AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
READY_COLUMN = PrinterColumn("Ready", "string", '.status.conditions[?(@.type=="Ready")].status')
REASON_COLUMN = PrinterColumn(
    "Reason", "string", '.status.conditions[?(@.type=="Ready")].reason', priority=1
)


@dataclass(frozen=True)
class Kind:
    """One custom resource kind, by default of the kubehooks.dev group."""

    kind: str
    plural: str
    spec: type[KubeModel]
    status: type[StatusBase]
    short_names: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()
    scale: ScaleSubresource | None = None
    description: str = ""
    group: str = GROUP
    """A plugin's kinds may live in its own API group; the built-ins use kubehooks.dev."""
    version: str = VERSION

    @property
    def singular(self) -> str:
        """Return the lower-case singular name."""
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        """Return `<group>/<version>`, e.g. `kubehooks.dev/v1alpha1`."""
        return f"{self.group}/{self.version}"

    @property
    def crd_name(self) -> str:
        """Return the CRD's metadata.name, `<plural>.<group>`."""
        return f"{self.plural}.{self.group}"
