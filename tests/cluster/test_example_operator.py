"""The worked example plugin (examples/staticsite) against a real API server.

Its CRD, generated from its models, is established; its example parent is stored as written
(strict field validation); every child it answers is accepted by a server-side dry run; and
the test harness (playing Metacontroller) drives it create -> change -> delete through a real
`kubehooks serve --controller staticsite.controller:CONTROLLER`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from hooks import testing
from hooks.crd import crd
from hooks.manifests import composite_controller
from hooks.sdk import Controller
from hooks.settings import ControllerConfig
from tests.cluster.artefacts import CrdInstall, install_crd, served_kind
from tests.cluster.harness import CONTROLLER_UID, Metacontroller
from tests.cluster.kube import Kube
from tests.servers import free_port

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "staticsite"
PLUGIN = "staticsite.controller:CONTROLLER"


@pytest.fixture(scope="module")
def staticsite() -> Iterator[Controller]:
    """The example's controller, importable whether or not the example is pip-installed."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from staticsite.controller import CONTROLLER

        yield CONTROLLER
    finally:
        sys.path.remove(str(EXAMPLE))


def _example() -> dict[str, Any]:
    parent: dict[str, Any] = yaml.safe_load((EXAMPLE / "example.yaml").read_text())
    return parent


def test_the_example_crd_is_established_and_its_parent_stored(
    kube: Kube, staticsite: Controller
) -> None:
    definition = crd(staticsite.kind)
    outcome = install_crd(kube, definition)
    assert outcome.established, f"{definition['metadata']['name']}: {outcome.error}"
    served_kind(kube, definition)
    parent = _example()
    stored = kube.create(parent, dry_run=True, strict=True)
    # stored as written, plus the schema's defaults (port) the API server fills in
    assert {key: stored["spec"][key] for key in parent["spec"]} == parent["spec"]
    assert stored["spec"]["port"] == 80


def test_every_child_of_the_example_is_accepted_by_a_dry_run(
    kube: Kube, staticsite: Controller
) -> None:
    parent = testing.parent(staticsite, "docs", _example()["spec"])
    children = testing.render(staticsite, parent)["children"]
    assert sorted(child["kind"] for child in children) == ["ConfigMap", "Deployment", "Service"]
    for child in children:
        kube.ensure_namespace(child["metadata"]["namespace"])
        stored = kube.create(child, dry_run=True, strict=True)
        assert kube.last_warnings == [], f"the API server warned: {kube.last_warnings}"
        assert stored["metadata"]["name"] == child["metadata"]["name"]


@pytest.fixture(scope="module")
def plugin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run `python -m hooks serve --controller staticsite...` on loopback; yield its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("plugin-server") / "server.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBEHOOKS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLE), str(ROOT)])
    command = [sys.executable, "-m", "hooks", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--workers", "1", "--controller", PLUGIN],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the plugin server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=1).ok
    except requests.RequestException:
        return False


def test_the_harness_drives_the_example_create_change_delete(
    kube: Kube,
    staticsite: Controller,
    plugin_server: str,
    composite_controller_crd: CrdInstall,
) -> None:
    definition = crd(staticsite.kind)
    assert install_crd(kube, definition).established
    served_kind(kube, definition)
    cc = composite_controller(
        "staticsite", ControllerConfig(), plugin_server, controller=staticsite
    )
    stored_cc = kube.get_or_none(kube.resource_of(cc), None, cc["metadata"]["name"])
    harness = Metacontroller(kube, stored_cc or kube.create(cc), plugin_server)
    parent = {**_example(), "metadata": {"name": "loop", "namespace": "default"}}
    resource = kube.resource_of(parent)
    try:
        kube.create(parent)
        harness.sync_until_stable("default", "loop")
        uid = kube.get(resource, "default", "loop")["metadata"]["uid"]
        files = kube.get(kube.resource("v1", kind="ConfigMap"), "default", "loop-files")
        assert files["data"] == parent["spec"]["files"]
        assert files["metadata"]["labels"][CONTROLLER_UID] == uid

        kube.patch(resource, "default", "loop", {"spec": {"files": {"index.html": "v2"}}})
        harness.sync_until_stable("default", "loop")
        files = kube.get(kube.resource("v1", kind="ConfigMap"), "default", "loop-files")
        assert files["data"]["index.html"] == "v2"

        kube.delete(resource, "default", "loop")
        results = harness.sync_until_stable("default", "loop")
        assert "finalize" in [result.hook for result in results]
        assert kube.get_or_none(resource, "default", "loop") is None
        for rule in harness.rules:
            left = kube.list(rule.resource, "default", selector=f"{CONTROLLER_UID}={uid}")
            assert left == [], f"children left behind: {[o['metadata']['name'] for o in left]}"
    finally:
        harness.close()
