"""The portal's rendered objects: valid Kubernetes, least privilege, never in the default stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from hooks.manifests import PORTAL_FILE, all_manifests, render_stream
from hooks.settings import Settings
from tests.goldens import KUBERNETES_VERSION


def _objects() -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in all_manifests(Settings())[PORTAL_FILE]}


def test_portal_objects_validate() -> None:
    objects = _objects()
    assert set(objects) == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Service",
    }
    for obj in objects.values():
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_portal_rbac_is_read_and_impersonate_only() -> None:
    rules = _objects()["ClusterRole"]["rules"]
    verbs = {verb for rule in rules for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch", "impersonate"}
    children = [rule for rule in rules if rule["apiGroups"] == ["batch"]]
    assert children == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list"]}]
    (read,) = [rule for rule in rules if rule["apiGroups"] == ["kubehooks.dev"]]
    assert "aijobs" in read["resources"] and "redismigrations" in read["resources"]
    assert not any("*" in rule["resources"] for rule in rules)


def test_portal_runs_the_portal_image_on_8099() -> None:
    settings = Settings(image="registry.example/kubehooks:1.2")
    objects = {o["kind"]: o for o in all_manifests(settings)[PORTAL_FILE]}
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/kubehooks:1.2-portal", "--target portal"
    assert container["args"] == ["--config", "/etc/kubehooks-portal/portal.yaml"]
    assert objects["Service"]["spec"]["ports"][0]["port"] == 8099
    configured = Settings(image="r/kubehooks:1.2", portal_image="r/kubehooks-portal@sha256:ab")
    objects = {o["kind"]: o for o in all_manifests(configured)[PORTAL_FILE]}
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "r/kubehooks-portal@sha256:ab"


def test_the_portal_image_is_derived_from_the_servers_tag() -> None:
    from hooks.portal.manifests import portal_image

    assert portal_image("kubehooks:0.1.0") == "kubehooks:0.1.0-portal"
    assert (
        portal_image("registry:5000/team/kubehooks") == "registry:5000/team/kubehooks:latest-portal"
    )
    assert portal_image("x/kubehooks@sha256:ab", "x/portal:1") == "x/portal:1"
    with pytest.raises(ValueError, match="portalImage"):
        portal_image("x/kubehooks@sha256:ab")


def test_host_and_port_from_the_environment_when_the_file_is_silent(tmp_path: Path) -> None:
    from hooks.portal.config import load_portal_settings

    env = {"KUBEHOOKS_PORTAL_HOST": "0.0.0.0", "KUBEHOOKS_PORTAL_PORT": "9000"}
    assert (load_portal_settings(None, env).host, load_portal_settings(None, env).port) == (
        "0.0.0.0",
        9000,
    )
    config = tmp_path / "portal.yaml"
    config.write_text("port: 8099\n")
    assert load_portal_settings(config, env).port == 8099


def test_the_default_stream_leaves_the_portal_out() -> None:
    assert "kubehooks-portal" not in render_stream(Settings())
