"""The rendered deploy/ and CompositeControllers show the secure setup, consistently."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from hooks.manifests import (
    AUTH_SECRET,
    ETAG_CACHE,
    NAMESPACE,
    TLS_SECRET,
    all_manifests,
    composite_controller,
    endpoint_config,
)
from hooks.registry import CONTROLLERS
from hooks.settings import ControllerConfig, Settings
from tests.goldens import KUBERNETES_VERSION

ROOT = Path(__file__).parent.parent
METACONTROLLER_CRD = ROOT / "tests" / "cluster" / "fixtures" / "compositecontroller-crd.yaml"


def _server(settings: Settings) -> dict[str, Any]:
    return {obj["kind"]: obj for obj in all_manifests(settings)["deploy/server.yaml"]}


def _mounted(deployment: dict[str, Any]) -> dict[str, str]:
    """Return mount path -> Secret name of the hook container."""
    pod = deployment["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    (container,) = pod["containers"]
    return {
        mount["mountPath"]: secrets[mount["name"]]
        for mount in container["volumeMounts"]
        if mount["name"] in secrets
    }


def test_the_server_reads_its_credentials_and_certificate_from_the_mounted_secrets() -> None:
    objects = _server(Settings())
    config = Settings.model_validate(yaml.safe_load(objects["ConfigMap"]["data"]["config.yaml"]))
    mounts = _mounted(objects["Deployment"])
    token = Path(str(config.auth.bearer_token_file))
    assert mounts[str(token.parent)] == AUTH_SECRET and token.name == "token"
    cert, key = Path(str(config.tls.cert_file)), Path(str(config.tls.key_file))
    assert mounts[str(cert.parent)] == mounts[str(key.parent)] == TLS_SECRET
    assert (cert.name, key.name) == ("tls.crt", "tls.key")
    assert config.tls.client_ca_file is None


def test_probes_and_ports_speak_https_and_shutdown_is_graceful() -> None:
    objects = _server(Settings())
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"][0]["name"] == "https"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + 25  # gunicorn graceful_timeout
    assert "--workers" in container["args"]
    service_port = objects["Service"]["spec"]["ports"][0]
    assert service_port["port"] == 443 and service_port["targetPort"] == "https"


def test_every_composite_controller_authenticates_and_checks_the_certificate() -> None:
    settings = Settings()
    files = all_manifests(settings)
    host = urlsplit(settings.hook_url).netloc
    for name in CONTROLLERS:
        (cc,) = files[f"metacontroller/{name}.yaml"]
        (endpoint,) = cc["spec"]["endpointConfigs"]
        assert endpoint["host"] == host
        assert endpoint["authorization"] == {
            "type": "Bearer",
            "secretRef": {"name": AUTH_SECRET, "namespace": NAMESPACE, "key": "token"},
        }
        assert endpoint["caBundle"]["secretRef"]["name"] == TLS_SECRET
        for hook in cc["spec"]["hooks"].values():
            url = urlsplit(hook["webhook"]["url"])
            assert url.scheme == "https" and url.netloc == host


def test_etag_cache_timeouts_are_set_together_or_not_at_all() -> None:
    assert {"cacheTimeoutSeconds", "cacheCleanupSeconds"} <= set(ETAG_CACHE)
    for name in CONTROLLERS:
        spec = all_manifests(Settings())[f"metacontroller/{name}.yaml"][0]["spec"]
        for hook, body in spec["hooks"].items():
            etag = body["webhook"].get("etag")
            if hook == "customize":
                assert etag is None
            else:
                assert etag == ETAG_CACHE
    off = composite_controller("foo", ControllerConfig(), "http://x")
    assert all("etag" not in hook["webhook"] for hook in off["spec"]["hooks"].values())
    assert "endpointConfigs" not in off["spec"]


def test_a_plain_http_hook_url_renders_no_tls() -> None:
    settings = Settings(hook_url="http://hooks.example.svc:8080")
    objects = _server(settings)
    config = yaml.safe_load(objects["ConfigMap"]["data"]["config.yaml"])
    assert "tls" not in config and config["auth"]["bearerTokenFile"]
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
    assert TLS_SECRET not in _mounted(objects["Deployment"]).values()
    assert objects["Service"]["spec"]["ports"][0]["port"] == 8080
    entry = endpoint_config(settings.hook_url)
    assert entry["host"] == "hooks.example.svc:8080" and "caBundle" not in entry
    for obj in objects.values():
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def _composite_controller_schema() -> dict[str, Any]:
    crd = yaml.safe_load(METACONTROLLER_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.skipif(
    not METACONTROLLER_CRD.exists(), reason="no CompositeController CRD fixture in this checkout"
)
@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_composite_controllers_fit_metacontrollers_crd(name: str) -> None:
    (cc,) = all_manifests(Settings())[f"metacontroller/{name}.yaml"]
    schema = _composite_controller_schema()
    jsonschema.Draft4Validator(schema).validate(cc)
    assert _pruned(cc, schema) == [], "the API server would silently drop these fields"


def _pruned(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Return the fields a structural schema would prune (unknown, not preserved)."""
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [p for i, item in enumerate(value) for p in _pruned(item, items, f"{path}[{i}]")]
    if not isinstance(value, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    found = []
    for key, item in value.items():
        if properties is not None and key in properties:
            found += _pruned(item, properties[key], f"{path}.{key}")
        elif isinstance(extra, dict):
            found += _pruned(item, extra, f"{path}.{key}")
        elif properties is not None:
            found.append(f"{path}.{key}")
    return found


@pytest.mark.skipif(
    not METACONTROLLER_CRD.exists(), reason="no CompositeController CRD fixture in this checkout"
)
def test_the_pruning_check_catches_a_misspelt_field() -> None:
    (cc,) = all_manifests(Settings())["metacontroller/foo.yaml"]
    cc["spec"]["endpointConfig"] = cc["spec"].pop("endpointConfigs")
    cc["spec"]["hooks"]["sync"]["webhook"]["etag"]["cacheTimeout"] = 1
    assert _pruned(cc, _composite_controller_schema()) == [
        ".spec.hooks.sync.webhook.etag.cacheTimeout",
        ".spec.endpointConfig",
    ]
