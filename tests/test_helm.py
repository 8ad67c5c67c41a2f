"""The Helm chart: committed as generated, linted, and rendering what `kubehooks manifests` does.

The equivalence tests are what keeps the two install paths from drifting: for each values file
of tests/helm/values, the objects `helm template` renders equal those of
`hooks.manifests.all_manifests` for the same settings, once what only the chart adds (Helm's
labels, the config checksum, the Secrets it may create, scheduling) is set aside and checked
against the values on its own.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from hooks.cli import main
from hooks.helm import CHART_DIR, render_chart, shared_keys
from hooks.manifests import ACCEPTED_TOKENS_KEY, AUTH_SECRET, PORTAL_FILE, TLS_SECRET, all_manifests
from hooks.registry import CONTROLLERS
from hooks.settings import Settings
from tests.goldens import KUBERNETES_VERSION
from tests.helm.chart import CHART, HelmError, lint, template, values_files
from tests.test_production_manifests import (
    METACONTROLLER_CRD,
    _composite_controller_schema,
    _pruned,
)

ROOT = Path(__file__).parent.parent
FILES = render_chart()
CHART_LABELS = {
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
}
DEPLOYMENT_ONLY = ("imagePullSecrets", "nodeSelector", "tolerations", "affinity")
DEPLOYMENT_ONLY += ("topologySpreadConstraints",)
CASES = [None, *values_files()]
CASE_IDS = ["defaults", *(path.stem for path in values_files())]

Obj = dict[str, Any]
needs_helm = pytest.mark.helm
"""Runs the helm CLI (tests/helm/install.sh builds it once); `-m "not helm"` skips these."""


# --- the committed chart is the generated one -------------------------------------------------


@pytest.mark.parametrize("relative", sorted(FILES))
def test_committed_chart_matches_generated(relative: str) -> None:
    path = CHART / relative
    assert path.exists(), f"{CHART_DIR}/{relative} missing: run `kubehooks chart`"
    assert path.read_text() == FILES[relative], (
        f"{CHART_DIR}/{relative} drifted from hooks/manifests.py: run `kubehooks chart` and review"
    )


def test_no_stale_chart_files() -> None:
    committed = {str(p.relative_to(CHART)) for p in CHART.rglob("*") if p.is_file()}
    assert committed == set(FILES)


def test_the_chart_crds_are_the_repository_crds() -> None:
    for relative, text in FILES.items():
        if relative.startswith("crds/"):
            assert (ROOT / relative).read_text() == text


def test_kubehooks_chart_writes_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chart", "--out", str(tmp_path)]) == 0
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set(FILES)
    assert (tmp_path / "values.yaml").read_text() == FILES["values.yaml"]
    assert "wrote" in capsys.readouterr().out


def test_the_values_schema_is_the_settings_schema_for_shared_keys() -> None:
    schema = json.loads(FILES["values.schema.json"])
    defaults = yaml.safe_load(FILES["values.yaml"])
    jsonschema.Draft202012Validator(schema).validate(defaults)
    for bad in ({"limits": {"maxInFlite": 3}}, {"hookTokenKey": "a/b"}, {"hookAuth": "basic"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(schema).validate({**defaults, **bad})
    Settings.model_validate({key: defaults[key] for key in shared_keys() if defaults[key] != ""})


# --- helm lint and helm template --------------------------------------------------------------


def _values(case: Path | None) -> tuple[Path, ...]:
    return () if case is None else (case,)


@needs_helm
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_helm_lint_is_clean(case: Path | None) -> None:
    lint(*_values(case))


@needs_helm
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_rendered_object_passes_strict_schema_validation(case: Path | None) -> None:
    objects = template(*_values(case), crds=True)
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "Service", "ConfigMap", "CustomResourceDefinition"} <= kinds
    for obj in objects:
        if obj["kind"] == "CompositeController":
            if METACONTROLLER_CRD.exists():
                schema = _composite_controller_schema()
                jsonschema.Draft4Validator(schema).validate(obj)
                assert _pruned(obj, schema) == [], obj["metadata"]["name"]
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def _effective_values(case: Path | None) -> Obj:
    """Return the chart's defaults with the case's values merged in, as Helm merges them."""
    merged: Obj = yaml.safe_load(FILES["values.yaml"])
    given = yaml.safe_load(case.read_text()) if case else {}

    def merge(into: Obj, new: Obj) -> None:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(merged, given or {})
    return merged


def _settings(values: Obj) -> Settings:
    """Return the Settings that `kubehooks manifests` would be given for these values."""
    config = {key: values[key] for key in shared_keys() if key in values}
    if not config.get("hookUrl"):
        config.pop("hookUrl", None)  # the default names the Service in namespace kubehooks
    config.setdefault("enabled", list(CONTROLLERS))  # the chart's image holds no plugin
    return Settings.model_validate(config)


def _key(obj: Obj) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def _comparable(obj: Obj) -> Obj:
    """Return an object with its config parsed, so key order and defaults do not matter."""
    obj = copy.deepcopy(obj)
    if obj["kind"] == "ConfigMap":
        text = obj["data"]["config.yaml"]
        obj["data"]["config.yaml"] = Settings.model_validate(yaml.safe_load(text))
    return obj


def _set_aside_chart_only(obj: Obj, values: Obj) -> Obj:
    """Check what only the chart adds or decides against the values, then remove it."""
    obj = copy.deepcopy(obj)
    labels = obj["metadata"].get("labels") or {}
    assert CHART_LABELS <= set(labels), obj["metadata"]["name"]
    for label in CHART_LABELS:
        labels.pop(label)
    if obj["kind"] != "Deployment":
        return obj
    spec = obj["spec"]
    assert spec.pop("replicas") == values["replicaCount"]
    pod = spec["template"]["spec"]
    annotations = spec["template"]["metadata"].pop("annotations")
    expected = {"checksum/config", *values["podAnnotations"]}
    if values["auth"]["create"] and values["auth"]["tokens"]:
        expected.add("checksum/auth")
    if values["tls"]["create"] and values["tls"]["cert"]:
        expected.add("checksum/tls")
    assert set(annotations) == expected
    for key in DEPLOYMENT_ONLY:
        assert pod.pop(key, None) == (values[key] or None), key
    (container,) = pod["containers"]
    image = values["image"]
    app_version = yaml.safe_load(FILES["Chart.yaml"])["appVersion"]
    expected_image = (
        f"{image['repository']}@{image['digest']}"
        if image["digest"]
        else f"{image['repository']}:{image['tag'] or app_version}"
    )
    assert container.pop("image") == expected_image
    assert container.pop("imagePullPolicy", None) == (image["pullPolicy"] or None)
    assert container.pop("resources") == values["resources"]
    args = container["args"]
    assert args[args.index("--workers") + 1] == str(values["workers"])
    args[args.index("--workers") + 1] = "*"
    return obj


def _set_aside_manifest_only(obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    if obj["kind"] == "Deployment":
        spec = obj["spec"]
        spec.pop("replicas")
        (container,) = spec["template"]["spec"]["containers"]
        container.pop("image")
        container.pop("resources")
        args = container["args"]
        args[args.index("--workers") + 1] = "*"
    return obj


def _secret_names_as_manifests(objects: list[Obj], values: Obj) -> list[Obj]:
    """Return objects with the values' Secret names swapped for the manifests' fixed ones."""
    text = json.dumps(objects)
    for chosen, fixed in (
        (values["auth"]["secretName"], AUTH_SECRET),
        (values["tls"]["secretName"], TLS_SECRET),
    ):
        if chosen:
            assert json.dumps(chosen) in text, f"{chosen} is never referenced"
            text = text.replace(json.dumps(chosen), json.dumps(fixed))
    loaded: list[Obj] = json.loads(text)
    return loaded


@needs_helm
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_helm_renders_what_kubehooks_manifests_renders(case: Path | None) -> None:
    values = _effective_values(case)
    settings = _settings(values)
    files = all_manifests(settings)
    # crds/ cannot be templated: the chart ships every CRD, whatever `enabled` says.
    files.update(
        {
            path: objs
            for path, objs in all_manifests(Settings(enabled=tuple(CONTROLLERS))).items()
            if "crds/" in path
        }
    )
    expected = {
        _key(obj): _comparable(_set_aside_manifest_only(obj))
        for path, objects in files.items()
        if not path.endswith("kustomization.yaml") and path != PORTAL_FILE  # no portal yet
        for obj in objects
        if obj["kind"] != "Namespace"
    }
    rendered = [obj for obj in template(*_values(case), crds=True) if obj["kind"] != "Secret"]
    rendered = _secret_names_as_manifests(rendered, values)
    actual = {
        _key(obj): _comparable(
            _set_aside_manifest_only(obj)
            if obj["kind"] == "CustomResourceDefinition"
            else _set_aside_chart_only(obj, values)
        )
        for obj in rendered
    }
    assert sorted(actual) == sorted(expected)
    for key, obj in expected.items():
        assert actual[key] == obj, key


@needs_helm
def test_with_default_values_the_deployment_is_the_manifests_one() -> None:
    (rendered,) = [obj for obj in template() if obj["kind"] == "Deployment"]
    (manifest,) = [
        o for o in all_manifests(Settings())["deploy/server.yaml"] if o["kind"] == "Deployment"
    ]
    rendered["spec"]["template"]["metadata"].pop("annotations")
    for label in CHART_LABELS:
        rendered["metadata"]["labels"].pop(label)
    assert rendered == manifest


# --- Secrets the chart creates ----------------------------------------------------------------


def _secrets(*sets: str, case: Path | None = None) -> dict[str, Obj]:
    return {
        obj["metadata"]["name"]: obj
        for obj in template(*_values(case), sets=sets)
        if obj["kind"] == "Secret"
    }


@needs_helm
def test_no_secret_is_rendered_unless_asked() -> None:
    assert _secrets() == {}
    assert (
        _secrets(
            "auth.create=true",
            "tls.create=true",
            "hookAuth=none",
            "hookUrl=http://kubehooks.kubehooks.svc:8080",
        )
        == {}
    )


@needs_helm
def test_the_auth_secret_holds_every_token_and_the_accepted_list() -> None:
    case = Path(__file__).parent / "helm" / "values" / "created-secrets.yaml"
    secret = _secrets(case=case)[AUTH_SECRET]
    tokens = yaml.safe_load(case.read_text())["auth"]["tokens"]
    assert secret["stringData"] == {
        **tokens,
        ACCEPTED_TOKENS_KEY: "\n".join(sorted(tokens.values())),
    }
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


@needs_helm
def test_a_created_auth_secret_without_tokens_gets_a_random_one() -> None:
    first = _secrets("auth.create=true")[AUTH_SECRET]["stringData"]
    second = _secrets("auth.create=true")[AUTH_SECRET]["stringData"]
    assert set(first) == {"token", ACCEPTED_TOKENS_KEY}
    assert first["token"] == first[ACCEPTED_TOKENS_KEY] and len(first["token"]) == 48
    assert first["token"] != second["token"]


def _public_key_matches(cert: x509.Certificate, key_pem: bytes) -> bool:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(key_pem, password=None)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
    return bool(key.public_key().public_numbers() == cert.public_key().public_numbers())  # type: ignore[union-attr]


@needs_helm
def test_a_created_tls_secret_is_signed_by_its_ca_for_the_hook_host() -> None:
    import base64

    secret = _secrets("tls.create=true")[TLS_SECRET]
    assert secret["type"] == "kubernetes.io/tls"
    data = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    cert = x509.load_pem_x509_certificate(data["tls.crt"])
    ca = x509.load_pem_x509_certificate(data["ca.crt"])
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(names.get_values_for_type(x509.DNSName))
    assert {"kubehooks.kubehooks.svc", "kubehooks.kubehooks.svc.cluster.local"} <= dns
    assert cert.issuer == ca.subject
    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    assert cert.signature_hash_algorithm is not None
    ca_key.verify(
        cert.signature,
        cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        cert.signature_hash_algorithm,
    )
    assert _public_key_matches(cert, data["tls.key"])


@needs_helm
def test_a_given_certificate_is_used_as_is() -> None:
    rendered = _secrets("tls.create=true", "tls.cert=CERT", "tls.key=KEY")[TLS_SECRET]
    import base64

    data = {key: base64.b64decode(value).decode() for key, value in rendered["data"].items()}
    assert data == {"tls.crt": "CERT", "tls.key": "KEY", "ca.crt": "CERT"}


# --- what the chart refuses, in one line ------------------------------------------------------


@needs_helm
@pytest.mark.parametrize(
    "sets,message",
    [
        (("hookUrl=http://kubehooks.kubehooks.svc:8080",), "set allowInsecureAuth: true"),
        (("hookUrl=ftp://kubehooks",), "must start with https:// or http://"),
        (("enabled={foo,fooo}",), "unknown controllers [fooo]"),
        (("controllers.podclustr.resyncPeriodSeconds=5",), "unknown controllers [podclustr]"),
        (("limits.maxInFlite=3",), "maxInFlite"),
        (("hookTokenKey=a/b",), "hookTokenKey"),
        (("portal.enabled=true",), "no portal yet"),
        (("auth.create=true", "auth.tokens.other=x"), 'auth.tokens has no key "token"'),
        (("tls.create=true", "tls.cert=CERT"), "tls.cert needs tls.key"),
    ],
)
def test_the_chart_refuses_what_manifests_refuse(sets: tuple[str, ...], message: str) -> None:
    with pytest.raises(HelmError) as raised:
        template(sets=sets)
    assert message in str(raised.value)


@needs_helm
def test_the_chart_states_the_minimum_kubernetes_version() -> None:
    chart = yaml.safe_load(FILES["Chart.yaml"])
    assert chart["kubeVersion"] == ">=1.29.0-0"
    assert template(kube_version="1.29.0")
    with pytest.raises(HelmError, match="kubeVersion"):
        template(kube_version="1.28.9")


@needs_helm
def test_each_rotation_step_changes_only_what_it_must() -> None:
    """The three upgrades of docs/helm.md: add a token, send it, drop the old one."""

    def render(*sets: str) -> dict[tuple[str, str], Obj]:
        return {_key(obj): obj for obj in template(sets=("auth.create=true", *sets))}

    def changed(a: dict[tuple[str, str], Obj], b: dict[tuple[str, str], Obj]) -> set[str]:
        assert set(a) == set(b)
        return {kind for (kind, name) in a if a[(kind, name)] != b[(kind, name)]}

    old = render("auth.tokens.token=OLD")
    both = render("auth.tokens.token=OLD", "auth.tokens.token-2=NEW")
    sent = render("auth.tokens.token=OLD", "auth.tokens.token-2=NEW", "hookTokenKey=token-2")
    new = render("auth.tokens.token-2=NEW", "hookTokenKey=token-2")
    assert changed(old, both) == {"Secret", "Deployment"}, "the server restarts to read them"
    assert changed(both, sent) == {"CompositeController"}, "a spec change, the server untouched"
    assert changed(sent, new) == {"Secret", "Deployment"}
