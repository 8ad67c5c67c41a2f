"""The committed crds/, metacontroller/ and deploy/ files are exactly what the code generates."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from hooks.manifests import all_manifests, composite_controller, render_files
from hooks.registry import CONTROLLERS
from hooks.settings import ControllerConfig, Settings
from tests.goldens import KUBERNETES_VERSION

ROOT = Path(__file__).parent.parent
FILES = render_files(Settings(enabled=tuple(CONTROLLERS)))
"""The committed layout is the built-ins': an installed plugin (examples/staticsite in CI) adds
its own files to `kubehooks manifests`, not to this repository's."""


@pytest.mark.parametrize("relative", sorted(FILES))
def test_committed_manifest_matches_generated(relative: str) -> None:
    path = ROOT / relative
    assert path.exists(), f"{relative} missing: run `kubehooks manifests --out .`"
    assert path.read_text() == FILES[relative], (
        f"{relative} drifted from the models: run `kubehooks manifests --out .` and review"
    )


def test_no_stale_manifest_files() -> None:
    committed = {
        str(p.relative_to(ROOT))
        for folder in ("crds", "metacontroller", "deploy")
        for p in (ROOT / folder).glob("*.yaml")
    }
    assert committed == {p for p in FILES}


def test_server_objects_validate() -> None:
    for obj in all_manifests(Settings())["deploy/server.yaml"]:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_child_type_is_updated_without_a_metacontroller_rolling_strategy() -> None:
    """InPlace everywhere, except PodCluster's Pods: OnDelete, since the hook rolls them out.

    Metacontroller's rolling strategies stall on namespaced children (its
    `shouldContinueRolling` looks children up by bare name) and make it write ControllerRevisions,
    which hangs the deletion of a namespace (`composite/controller_revision.go`, `syncRevisions`).
    """
    for name in CONTROLLERS:
        spec = composite_controller(name, ControllerConfig(), "http://x")["spec"]
        for child in spec["childResources"]:
            method = child["updateStrategy"]["method"]
            expected = (
                "OnDelete" if (name, child["resource"]) == ("podcluster", "pods") else "InPlace"
            )
            assert method == expected, (name, child["resource"])
        assert spec["generateSelector"] is True
        assert {hook["version"] for hook in spec["hooks"].values()} == {"v2"}


def test_parent_selector_from_config_is_rendered() -> None:
    config = ControllerConfig.model_validate({"parentSelector": {"matchLabels": {"team": "a"}}})
    spec = composite_controller("foo", config, "http://x")["spec"]
    assert spec["parentResource"]["labelSelector"] == {"matchLabels": {"team": "a"}}


def test_enabled_subset_renders_only_those() -> None:
    files = all_manifests(Settings(enabled=("foo",)))
    assert "metacontroller/foo.yaml" in files
    assert "metacontroller/podcluster.yaml" not in files
    stream = list(yaml.safe_load_all(render_files(Settings(enabled=("foo",)))["crds/foo.yaml"]))
    assert stream[0]["spec"]["names"]["kind"] == "Foo"


def test_server_configmap_carries_every_setting_the_server_reads() -> None:
    from hooks.manifests import server_objects

    settings = Settings.model_validate(
        {
            "enabled": ["foo"],
            "controllers": {"foo": {"defaultImage": "registry.local/nginx:1"}},
            "policy": {"allowPrivileged": True},
            "limits": {"maxInFlight": 8},
            "auth": {"protectMetrics": True},
        }
    )
    (configmap,) = [obj for obj in server_objects(settings) if obj["kind"] == "ConfigMap"]
    loaded = Settings.model_validate(yaml.safe_load(configmap["data"]["config.yaml"]))
    assert loaded.enabled == ("foo",)
    assert loaded.controller("foo").default_image == "registry.local/nginx:1"
    assert loaded.policy.allow_privileged is True
    assert loaded.limits.max_in_flight == 8
    assert loaded.auth.bearer_token_file
    assert loaded.auth.protect_metrics is True  # not silently dropped: /metrics stays protected


def test_mutual_tls_is_refused_rather_than_rendered_without_it() -> None:
    from hooks.manifests import check_hook_auth
    from hooks.settings import SettingsError

    tls = {"certFile": "c.pem", "keyFile": "k.pem", "clientCaFile": "ca.pem"}
    settings = Settings.model_validate({"tls": tls})
    with pytest.raises(SettingsError, match="clientCaFile"):
        check_hook_auth(settings)
