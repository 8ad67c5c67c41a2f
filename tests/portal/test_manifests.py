"""The portal's rendered objects: valid Kubernetes, least privilege, never in the default stream."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

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


def test_portal_runs_the_portal_command_on_8099_with_the_configured_image() -> None:
    settings = Settings(image="registry.example/kubehooks:1.2")
    objects = {o["kind"]: o for o in all_manifests(settings)[PORTAL_FILE]}
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/kubehooks:1.2"
    assert container["args"][0] == "portal"
    assert objects["Service"]["spec"]["ports"][0]["port"] == 8099


def test_the_default_stream_leaves_the_portal_out() -> None:
    assert "kubehooks-portal" not in render_stream(Settings())
