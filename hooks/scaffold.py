"""`kubehooks new NAME --kind KIND`: write a pip-installable operator package.

Like kubebuilder's `create api`: a template per file, nothing hidden. The package holds the
spec and status models, a pure `sync` building the declared children with `hooks.sdk`
builders, the `kubehooks.controllers` entry point, an example parent, golden cases (their
answers computed here, from the written code, so the package passes its own tests at once),
the CRD, tests using the test kit, and a README.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import yaml

CHILD_TYPES = ("deployments", "services", "ingresses", "jobs", "configmaps", "hpas")
NAME_RULE = re.compile(r"^[a-z][a-z0-9]{1,40}$")
KIND_RULE = re.compile(r"^[A-Z][A-Za-z0-9]{1,40}$")
GROUP_RULE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")


class ScaffoldError(ValueError):
    """The scaffold cannot be written as asked; the message says why."""


@dataclass(frozen=True)
class Plan:
    """What to write: names and the child types."""

    name: str
    kind: str
    group: str
    children: tuple[str, ...]

    @property
    def plural(self) -> str:
        return self.kind.lower() + "s"

    def has(self, child: str) -> bool:
        return child in self.children


def plan(name: str, kind: str, children: str, group: str | None) -> Plan:
    """Check the names and return the plan; errors are one line."""
    if not NAME_RULE.match(name):
        raise ScaffoldError(
            f"NAME {name!r}: use lower-case letters and digits ({NAME_RULE.pattern})"
        )
    if not KIND_RULE.match(kind):
        raise ScaffoldError(
            f"--kind {kind!r}: use CamelCase letters and digits ({KIND_RULE.pattern})"
        )
    chosen = tuple(part.strip() for part in children.split(",") if part.strip())
    unknown = sorted(set(chosen) - set(CHILD_TYPES))
    if unknown or not chosen:
        raise ScaffoldError(f"--children {children!r}: choose from {','.join(CHILD_TYPES)}")
    if "hpas" in chosen and "deployments" not in chosen:
        raise ScaffoldError("--children: hpas scale a Deployment; add deployments")
    if "ingresses" in chosen and "services" not in chosen:
        raise ScaffoldError("--children: an Ingress routes to a Service; add services")
    group = group or f"{name}.example.com"
    if not GROUP_RULE.match(group):
        raise ScaffoldError(f"--group {group!r}: must be a DNS subdomain such as example.com")
    ordered = tuple(child for child in CHILD_TYPES if child in chosen)
    return Plan(name, kind, group, ordered)


def add_new_command(commands: Any) -> None:
    """Add `new` to the `kubehooks` command's subparsers."""
    new = commands.add_parser("new", help="write a new operator package (a scaffold)")
    new.add_argument("name", help="package and controller name: lower-case letters and digits")
    new.add_argument("--kind", required=True, help="the parent kind, CamelCase")
    new.add_argument(
        "--children",
        default="deployments,services",
        help=f"comma-separated child types from {','.join(CHILD_TYPES)} (default: %(default)s)",
    )
    new.add_argument("--group", help="API group of the kind (default: NAME.example.com)")
    new.add_argument("--dir", default=".", help="folder to create the package in (default: .)")
    new.set_defaults(func=run_new)


def run_new(args: argparse.Namespace) -> int:
    """Write the package and print where."""
    root = write(plan(args.name, args.kind, args.children, args.group), Path(args.dir))
    print(f"wrote {root}: cd {root} && pip install -e . && pytest")
    return 0


def write(p: Plan, parent_dir: Path) -> Path:
    """Write every file of the package under `parent_dir/NAME`; refuse to overwrite one."""
    root = parent_dir / p.name
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(f"{root} exists and is not empty")
    files = render_files(p)
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    write_goldens(p, root)
    return root


def _values(p: Plan) -> dict[str, str]:
    return {
        "name": p.name,
        "Kind": p.kind,
        "plural": p.plural,
        "group": p.group,
        "children": ", ".join(p.children),
    }


def render_files(p: Plan) -> dict[str, str]:
    """Return relative path -> text of every template file."""
    values = _values(p)
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{p.name}/__init__.py": INIT,
        f"{p.name}/api.py": _api(p),
        f"{p.name}/controller.py": _controller(p),
        f"tests/test_{p.name}.py": TESTS,
        "conftest.py": CONFTEST,
        "example.yaml": _example(p),
    }
    return {path: Template(text).substitute(values) for path, text in files.items()}


# Templates ---------------------------------------------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "kubehooks-${name}"
version = "0.1.0"
description = "The ${Kind} operator, served by kubehooks."
requires-python = ">=3.11"
dependencies = ["kubehooks"]

[project.optional-dependencies]
test = ["kubehooks[test]"]

[project.entry-points."kubehooks.controllers"]
${name} = "${name}.controller:CONTROLLER"

[tool.setuptools]
packages = ["${name}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-p hooks.testing.plugin"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["B", "E", "F", "I", "UP", "W"]
isort.known-first-party = ["${name}"]
"""

README = """\
# ${Kind} operator

A kubehooks operator: `${name}/api.py` holds the spec and status models (the CRD is generated
from them), `${name}/controller.py` a pure `sync` that returns the children (${children}).

    pip install -e '.[test]'
    pytest                                   # goldens, properties, CRD drift
    pytest --update-goldens                  # after a change: rewrite, then read the diff
    kubehooks render -f example.yaml         # the children of the example parent
    kubehooks manifests > all.yaml           # CRDs and CompositeControllers, ${Kind} included
    kubehooks serve                          # serves /${name}/sync beside the built-ins

Without installing: `kubehooks render -f example.yaml --controller ${name}.controller:CONTROLLER`.
See kubehooks' docs/writing-an-operator.md.
"""

INIT = '''\
"""The ${Kind} operator for kubehooks."""
'''

CONFTEST = '''\
"""Here so that pytest puts this folder on sys.path: the tests run before `pip install -e .`."""
'''

TESTS = '''\
"""The ${Kind} operator, tested with kubehooks' test kit (hooks.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hooks import testing
from hypothesis import HealthCheck, given, settings

from ${name}.controller import CONTROLLER

HERE = Path(__file__).parent
CASES = testing.discover_cases(HERE / "goldens", plugins=("${name}.controller:CONTROLLER",))
EXAMPLE = yaml.safe_load((HERE.parent / "example.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_golden(case: testing.GoldenCase, update_goldens: bool) -> None:
    status, body = case.call()
    assert status == 200, body
    testing.assert_golden(case.response_path, body, update=update_goldens)
    testing.validate_children(body["children"])


def test_the_crd_matches_the_model(update_goldens: bool) -> None:
    testing.check_crd_matches(CONTROLLER, HERE / "crd.yaml", update=update_goldens)


def test_the_example_keeps_every_property() -> None:
    testing.check_all_properties(CONTROLLER, EXAMPLE["spec"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=testing.spec_strategy(CONTROLLER))
def test_any_valid_spec_keeps_every_property(spec: dict[str, object]) -> None:
    testing.check_all_properties(CONTROLLER, spec)
'''


FIELDS = {
    "image": """\
    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Container image; the configured default, else the built-in.",
    )""",
    "replicas": """\
    replicas: int = Field(default=1, ge=0, le=100, description="Pods to run.")""",
    "min_replicas": """\
    min_replicas: int = Field(default=1, ge=1, le=100, description="Fewest Pods.")""",
    "max_replicas": """\
    max_replicas: int = Field(default=3, ge=1, le=100, description="Most Pods.")""",
    "port": """\
    port: int = Field(default=8080, ge=1, le=65535, description="Port served.")""",
    "host": """\
    host: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$$",
        max_length=253,
        description="Host name the Ingress routes; none: any.",
    )""",
    "command": """\
    command: list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=lambda: ["true"],
        min_length=1,
        max_length=32,
        description="Command the Job runs.",
    )""",
    "data": """\
    data: dict[Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$$")], str] = Field(
        default_factory=dict, max_length=64, description="Files of the ConfigMap."
    )""",
}
"""Spec fields by name; each has a default, so an empty spec is valid (and probed at start)."""


def _spec_fields(p: Plan) -> list[str]:
    names = []
    if p.has("deployments") or p.has("jobs"):
        names.append("image")
    if p.has("deployments"):
        names += ["min_replicas", "max_replicas"] if p.has("hpas") else ["replicas"]
    if p.has("deployments") or p.has("services"):
        names.append("port")
    if p.has("ingresses"):
        names.append("host")
    if p.has("jobs"):
        names.append("command")
    if p.has("configmaps"):
        names.append("data")
    return names


def _api(p: Plan) -> str:
    names = _spec_fields(p)
    fields = [FIELDS[name] for name in names]
    body = "\n".join(fields)
    extra_import = (
        "from typing import Annotated\n\n" if (p.has("jobs") or p.has("configmaps")) else ""
    )
    return (
        '"""${Kind}: the spec and status models; the CRD is generated from them."""\n\n'
        "from __future__ import annotations\n\n"
        f"{extra_import}"
        "from hooks.sdk import AGE, READY_COLUMN, REASON_COLUMN, Kind, KubeModel, StatusBase\n"
        "from pydantic import Field\n\n\n"
        "class ${Kind}Spec(KubeModel):\n"
        '    """What a ${Kind} asks for; every field has a default, so `spec: {}` works."""\n\n'
        f"{body}\n\n\n"
        "class ${Kind}Status(StatusBase):\n"
        '    """What the controller observed: conditions (Ready) and the generation."""\n\n\n'
        "${Kind_upper} = Kind(\n"
        '    kind="${Kind}",\n'
        '    plural="${plural}",\n'
        "    spec=${Kind}Spec,\n"
        "    status=${Kind}Status,\n"
        "    printer_columns=(READY_COLUMN, REASON_COLUMN, AGE),\n"
        '    description="A ${Kind}, kept by kubehooks.",\n'
        '    group="${group}",\n'
        ")\n"
    ).replace("${Kind_upper}", p.kind.upper())


def _controller(p: Plan) -> str:
    imports = {"Controller", "HookRequest", "KubeObject", "NoOptions", "SyncResponse", "conditions"}
    imports.add("standard_labels")
    if p.has("deployments") or p.has("services"):
        imports.add("selector_labels")
    builders: list[str] = []
    calls: list[str] = []
    child_consts: list[str] = []
    if p.has("deployments") or p.has("jobs"):
        imports |= {"container", "pod_spec", "pod_template"}
        builders.append(_main_container(p))
    if p.has("deployments"):
        imports |= {"DEPLOYMENTS", "DEPLOYMENT", "deployment", "deployment_state", "container_port"}
        child_consts.append("DEPLOYMENTS")
        calls.append("${name}_deployment(request)")
        replicas = "None" if p.has("hpas") else "request.spec.replicas"
        builders.append(
            "def ${name}_deployment(request: Request) -> KubeObject:\n"
            '    """Build the Deployment running the main container."""\n'
            "    name = request.parent.name\n"
            '    labels = standard_labels("${name}", name, component="server")\n'
            "    return deployment(\n"
            "        request.meta(name, labels),\n"
            '        selector=selector_labels("${name}", name),\n'
            "        template=pod_template(labels, pod_spec([${name}_container(request)])),\n"
            f"        replicas={replicas},\n"
            "    )\n"
        )
    if p.has("services"):
        imports |= {"SERVICES", "service", "service_port"}
        child_consts.append("SERVICES")
        calls.append("${name}_service(request)")
        target = '"http"' if p.has("deployments") else "request.spec.port"
        builders.append(
            "def ${name}_service(request: Request) -> KubeObject:\n"
            '    """Build the Service in front of the Pods."""\n'
            "    name = request.parent.name\n"
            "    return service(\n"
            '        request.meta(name, standard_labels("${name}", name, component="server")),\n'
            '        selector=selector_labels("${name}", name),\n'
            f'        ports=[service_port(request.spec.port, name="http", target_port={target})],\n'
            "    )\n"
        )
    if p.has("ingresses"):
        imports |= {"INGRESSES", "ingress"}
        child_consts.append("INGRESSES")
        calls.append("${name}_ingress(request)")
        builders.append(
            "def ${name}_ingress(request: Request) -> KubeObject:\n"
            '    """Build the Ingress routing every path to the Service."""\n'
            "    name = request.parent.name\n"
            "    return ingress(\n"
            '        request.meta(name, standard_labels("${name}", name, component="server")),\n'
            "        class_name=None,\n"
            "        host=request.spec.host,\n"
            '        path="/",\n'
            '        path_type="Prefix",\n'
            "        service_name=name,\n"
            "        service_port=request.spec.port,\n"
            "    )\n"
        )
    if p.has("jobs"):
        imports |= {"JOBS", "JOB", "job", "job_as_applied"}
        if not p.has("deployments"):
            imports.add("job_state")  # the status judges the Job when there is no Deployment
        child_consts.append("JOBS")
        calls.append("${name}_job(request)")
        builders.append(
            "def ${name}_job(request: Request) -> KubeObject:\n"
            '    """Build the Job; an existing one is answered as applied (its template is'
            ' immutable)."""\n'
            '    name = f"{request.parent.name}-job"\n'
            "    observed = request.children.named(JOB, name)\n"
            "    if observed is not None:\n"
            "        return job_as_applied(observed)\n"
            '    labels = standard_labels("${name}", request.parent.name, component="job")\n'
            "    main = ${name}_container(request)\n"
            '    main["command"] = list(request.spec.command)\n'
            '    template = pod_template(labels, pod_spec([main], restart_policy="Never"))\n'
            "    return job(request.meta(name, labels), template=template, backoff_limit=2)\n"
        )
    if p.has("configmaps"):
        imports |= {"CONFIGMAPS"}
        child_consts.append("CONFIGMAPS")
        calls.append("${name}_configmap(request)")
        builders.append(
            "def ${name}_configmap(request: Request) -> KubeObject:\n"
            '    """Build the ConfigMap holding the spec\'s files, keys sorted."""\n'
            "    name = request.parent.name\n"
            '    labels = standard_labels("${name}", name, component="config")\n'
            "    return {\n"
            '        "apiVersion": "v1",\n'
            '        "kind": "ConfigMap",\n'
            '        "metadata": request.meta(f"{name}-files", labels),\n'
            '        "data": dict(sorted(request.spec.data.items())),\n'
            "    }\n"
        )
    if p.has("hpas"):
        imports |= {
            "HPAS",
            "horizontal_pod_autoscaler",
            "scale_target_ref",
            "resource_utilization_metric",
            "DEFAULT_CPU_UTILIZATION",
        }
        child_consts.append("HPAS")
        calls.append("${name}_autoscaler(request)")
        builders.append(
            "def ${name}_autoscaler(request: Request) -> KubeObject:\n"
            '    """Build the HorizontalPodAutoscaler scaling the Deployment on CPU."""\n'
            "    name = request.parent.name\n"
            "    spec = request.spec\n"
            "    return horizontal_pod_autoscaler(\n"
            '        request.meta(name, standard_labels("${name}", name, component="server")),\n'
            '        target=scale_target_ref("apps/v1", "Deployment", name),\n'
            "        min_replicas=spec.min_replicas,\n"
            "        max_replicas=max(spec.min_replicas, spec.max_replicas),\n"
            '        metrics=[resource_utilization_metric("cpu", DEFAULT_CPU_UTILIZATION)],\n'
            "    )\n"
        )
    status = _status(p)
    imports_text = "".join(f"    {name},\n" for name in sorted(imports, key=_import_order))
    return (
        '"""${Kind}: its children, and its status judged on what is observed."""\n\n'
        "from __future__ import annotations\n\n"
        "from hooks.sdk import (\n"
        f"{imports_text}"
        ")\n\n"
        "from ${name}.api import ${Kind_upper}, ${Kind}Spec\n\n"
        'BUILTIN_IMAGE = "nginxinc/nginx-unprivileged:1.27"\n'
        "Request = HookRequest[${Kind}Spec, NoOptions]\n\n\n"
        "def sync(request: Request) -> SyncResponse:\n"
        '    """Return the ${Kind}\'s children, and its status judged on the observed ones."""\n'
        "    status = ${name}_status(request)\n"
        "    children = [\n" + "".join(f"        {call},\n" for call in calls) + "    ]\n"
        "    return SyncResponse(status=status, children=children)\n\n\n"
        f"{status}\n\n" + "\n\n".join(builders) + "\n\nCONTROLLER = Controller(\n"
        '    name="${name}",\n'
        "    kind=${Kind_upper},\n"
        f"    children=({', '.join(child_consts)}{',' if len(child_consts) == 1 else ''}),\n"
        "    sync=sync,\n"
        "    builtin_image=BUILTIN_IMAGE,\n"
        ")\n"
        '"""Registered as the `${name}` entry point of the `kubehooks.controllers` group."""\n'
    ).replace("${Kind_upper}", p.kind.upper())


def _import_order(name: str) -> tuple[int, str]:
    """isort's force-sort-within-sections order: constants, classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def _main_container(p: Plan) -> str:
    ports = (
        '\n        ports=[container_port(request.spec.port, name="http")],'
        if p.has("deployments")
        else ""
    )
    return (
        "def ${name}_container(request: Request) -> KubeObject:\n"
        '    """Build the main container: the spec\'s image, else the configured default."""\n'
        "    return container(\n"
        '        "main",\n'
        "        request.image(request.spec.image, BUILTIN_IMAGE),"
        f"{ports}\n"
        "    )\n"
    )


def _status(p: Plan) -> str:
    if p.has("deployments"):
        wanted = "request.spec.min_replicas" if p.has("hpas") else "request.spec.replicas"
        judge = (
            "    observed = request.children.named(DEPLOYMENT, request.parent.name)\n"
            "    state = deployment_state(observed)\n"
            f"    wanted = {wanted}\n"
            "    if not state.exists:\n"
            '        ready, reason = False, "Creating"\n'
            '        message = "the Deployment is being created"\n'
            "    else:\n"
            "        ready = state.available >= wanted and state.current_generation\n"
            '        reason = "DeploymentReady" if ready else "Scaling"\n'
            '        message = f"{state.available}/{wanted} replicas available"\n'
        )
    elif p.has("jobs"):
        judge = (
            '    state = job_state(request.children.named(JOB, f"{request.parent.name}-job"))\n'
            '    ready = state.outcome == "Complete"\n'
            '    reason = state.outcome or ("Running" if state.exists else "Creating")\n'
            '    message = state.message or f"{state.succeeded} succeeded, {state.failed} failed"\n'
        )
    else:
        judge = (
            '    ready, reason, message = True, "ChildrenDeclared", "the children are declared"\n'
        )
    return (
        "def ${name}_status(request: Request) -> KubeObject:\n"
        '    """Judge the ${Kind} by its observed children (never by the desired ones)."""\n'
        f"{judge}"
        "    found = request.conditions()\n"
        "    found.set(conditions.READY, ready, reason, message)\n"
        '    return {"conditions": found.to_list()}\n'
    )


def _example(p: Plan) -> str:
    spec: dict[str, Any] = {}
    if p.has("deployments") and not p.has("hpas"):
        spec["replicas"] = 2
    if p.has("ingresses"):
        spec["host"] = f"{p.name}.example.com"
    if p.has("configmaps"):
        spec["data"] = {"index.html": "<h1>Hello</h1>\n"}
    doc = {
        "apiVersion": f"{p.group}/v1alpha1",
        "kind": p.kind,
        "metadata": {"name": "example", "namespace": "default"},
        "spec": spec,
    }
    return yaml.safe_dump(doc, sort_keys=False)


# Golden cases, answered by the written code --------------------------------------------------


def write_goldens(p: Plan, root: Path) -> None:
    """Write the golden cases and the CRD, answered by the package just written.

    Importing the new package here (from its folder, then forgetting it) is what makes the
    scaffold pass its own tests at once: the goldens are that code's answers, ready to review.
    """
    from hooks.testing import goldens, kit

    sys.path.insert(0, str(root))
    try:
        controller = importlib.import_module(f"{p.name}.controller").CONTROLLER
        example = yaml.safe_load((root / "example.yaml").read_text(encoding="utf-8"))
        fresh = kit.parent(controller, "example", example["spec"])
        observed = [
            kit.observe(child, fresh) for child in kit.render(controller, fresh)["children"]
        ]
        cases = {
            "fresh-parent": kit.sync_request(controller, fresh),
            "steady-state": kit.sync_request(controller, fresh, observed),
            "v1-keys": kit.sync_request(controller, fresh, observed, version="v1"),
            "invalid-spec-keeps-children": kit.sync_request(
                controller, {**fresh, "spec": {"notAField": 1}}, observed
            ),
        }
        folder = root / "tests" / "goldens" / p.name
        for case, request in cases.items():
            goldens.write_json(folder / case / "request.json", request)
            goldens.write_json(folder / case / "case.json", {"now": "2026-01-15T10:00:00Z"})
            answer = kit.render(controller, request["parent"], _observed(request))
            goldens.write_json(folder / case / "response.json", answer)
        (root / "tests" / "crd.yaml").write_text(kit.crd_text(controller), encoding="utf-8")
    finally:
        sys.path.remove(str(root))
        for module in [m for m in sys.modules if m == p.name or m.startswith(f"{p.name}.")]:
            del sys.modules[module]


def _observed(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [obj for group in request["children"].values() for obj in group.values()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `kubehooks new` alone (the `kubehooks` command is the usual way)."""
    parser = argparse.ArgumentParser(prog="kubehooks")
    add_new_command(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
