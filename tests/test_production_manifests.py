"""The rendered deploy/ and CompositeControllers show the secure setup, consistently."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from hooks.cli import main
from hooks.manifests import (
    ACCEPTED_TOKENS_KEY,
    AUTH_SECRET,
    ETAG_CACHE,
    NAMESPACE,
    TLS_SECRET,
    all_manifests,
    composite_controller,
    endpoint_config,
)
from hooks.registry import CONTROLLERS
from hooks.settings import ControllerConfig, Settings, SettingsError
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
    assert mounts[str(token.parent)] == AUTH_SECRET and token.name == ACCEPTED_TOKENS_KEY
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


def test_a_plain_http_hook_url_without_auth_renders_no_tls_and_no_secret() -> None:
    settings = Settings(hook_url="http://hooks.example.svc:8080", hook_auth="none")
    objects = _server(settings)
    config = yaml.safe_load(objects["ConfigMap"]["data"]["config.yaml"])
    assert "tls" not in config and "auth" not in config
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
    assert _mounted(objects["Deployment"]) == {}
    assert objects["Service"]["spec"]["ports"][0]["port"] == 8080
    for obj in objects.values():
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    for name in CONTROLLERS:
        (cc,) = all_manifests(settings)[f"metacontroller/{name}.yaml"]
        assert "endpointConfigs" not in cc["spec"], "Metacontroller would wait for its Secrets"


def _references(value: Any) -> set[tuple[str, str]]:
    """Return every (Secret or ConfigMap name, key) an object refers to, as Metacontroller
    resolves them before it starts a controller (`resolveFields`, pkg/hooks/endpoint_config.go)."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for field, item in value.items():
            if field in ("secretRef", "configMapRef"):
                found.add((item["name"], item.get("key", "")))
            else:
                found |= _references(item)
    return found


@pytest.mark.parametrize(
    "config,secrets",
    [
        pytest.param({}, {(AUTH_SECRET, "token"), (TLS_SECRET, "ca.crt")}, id="https-bearer"),
        pytest.param({"hookAuth": "none"}, {(TLS_SECRET, "ca.crt")}, id="https-none"),
        pytest.param({"hookUrl": "http://h.ns:8080", "hookAuth": "none"}, set(), id="http-none"),
        pytest.param(
            {"hookUrl": "http://h.ns:8080", "allowInsecureAuth": True},
            {(AUTH_SECRET, "token")},
            id="http-bearer-allowed",
        ),
    ],
)
def test_only_the_secrets_the_config_enables_are_referenced_and_mounted(
    config: dict[str, Any], secrets: set[tuple[str, str]]
) -> None:
    settings = Settings.model_validate(config)
    files = all_manifests(settings)
    for name in CONTROLLERS:
        (cc,) = files[f"metacontroller/{name}.yaml"]
        assert _references(cc) == secrets
    mounted = set(_mounted(_server(settings)["Deployment"]).values())
    assert mounted == {secret for secret, _ in secrets}


def test_auth_over_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(SettingsError, match="allowInsecureAuth: true"):
        all_manifests(Settings(hook_url="http://hooks.example.svc:8080"))
    with pytest.raises(SettingsError, match="https:// or http://"):
        all_manifests(Settings(hook_url="hooks.example.svc:8080", hook_auth="none"))
    allowed = Settings(hook_url="http://hooks.example.svc:8080", allow_insecure_auth=True)
    entry = endpoint_config(allowed)
    assert entry is not None
    assert entry["host"] == "hooks.example.svc:8080" and "caBundle" not in entry


def test_the_cli_refuses_auth_over_plain_http_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("hookUrl: http://hooks.example.svc:8080\n")
    assert main(["manifests", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("kubehooks: hookUrl http://hooks.example.svc:8080 is plain HTTP")
    assert "allowInsecureAuth: true" in line and "Traceback" not in captured.err
    config.write_text("hookUrl: http://hooks.example.svc:8080\nallowInsecureAuth: true\n")
    assert main(["manifests", "--config", str(config)]) == 0


def test_a_token_rotation_renders_a_spec_change_and_leaves_the_server_alone() -> None:
    """The README's rotation: switching `hookTokenKey` changes every CompositeController's spec.

    Metacontroller rebuilds a controller, and so re-reads its Secrets, only when the spec
    changes: `reconcileCompositeController` (pkg/controller/composite/metacontroller.go) keeps
    the running controller while `apiequality.Semantic.DeepEqual(cc.Spec, pc.cc.Spec)`, so an
    annotation is not enough. The server's objects must not change, or the apply would restart
    it in the middle of the overlap.
    """
    before = all_manifests(Settings())
    after = all_manifests(Settings(hook_token_key="token-2"))
    for name in CONTROLLERS:
        (old,) = before[f"metacontroller/{name}.yaml"]
        (new,) = after[f"metacontroller/{name}.yaml"]
        assert old["metadata"] == new["metadata"]
        assert old["spec"] != new["spec"]
        (endpoint,) = new["spec"]["endpointConfigs"]
        assert endpoint["authorization"]["secretRef"]["key"] == "token-2"
        assert _references(new) - _references(old) == {(AUTH_SECRET, "token-2")}
    assert after["deploy/server.yaml"] == before["deploy/server.yaml"]


def test_the_production_guide_rotates_with_overlap_and_a_spec_change() -> None:
    section = (ROOT / "docs" / "production.md").read_text()
    assert "kubectl annotate" not in section, "an annotation does not rebuild a controller"
    assert ACCEPTED_TOKENS_KEY in section and "hookTokenKey" in section
    assert "allowInsecureAuth" in section


def _composite_controller_schema() -> dict[str, Any]:
    crd = yaml.safe_load(METACONTROLLER_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.skipif(
    not METACONTROLLER_CRD.exists(), reason="no CompositeController CRD fixture in this checkout"
)
@pytest.mark.parametrize("name", sorted(CONTROLLERS))
@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(hook_token_key="token-2"),
        Settings(hook_url="http://h.ns:8080", allow_insecure_auth=True),
    ],
    ids=["default", "rotated", "http-bearer"],
)
def test_composite_controllers_fit_metacontrollers_crd(name: str, settings: Settings) -> None:
    (cc,) = all_manifests(settings)[f"metacontroller/{name}.yaml"]
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
