"""Everything a cluster needs, generated: CRDs, CompositeControllers, the server Deployment.

The files under crds/, metacontroller/ and deploy/ are this module's output (`kubehooks manifests
--out .`); a test fails when they drift from it.

The rendered setup is the production one. Metacontroller authenticates with a bearer token, key
`hookTokenKey` (default `token`) of the Secret `kubehooks-auth`; the server mounts that Secret
and accepts every token in its key `accepted-tokens` (one a line, so a rotation can overlap).
When `hookUrl` is https (the default), Metacontroller checks the server's certificate against
`ca.crt` of the TLS Secret `kubehooks-tls` the server serves. Both Secrets are created by the
operator, never rendered (see the README's "Running in production"). Only what the config
enables is referenced: Metacontroller starts no controller while a referenced Secret is missing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

from hooks.controller import Controller
from hooks.crd import crd
from hooks.hardening import container_security_context, pod_security_context
from hooks.portal.manifests import portal_image, portal_objects
from hooks.registry import CONTROLLERS, enabled_names, load_controllers
from hooks.settings import ControllerConfig, Settings, SettingsError

NAMESPACE = "kubehooks"
APP = "kubehooks"
PORT = 8080
TLS_PORT = 8443
HOOK_TIMEOUT = "10s"
AUTH_SECRET = "kubehooks-auth"
ACCEPTED_TOKENS_KEY = "accepted-tokens"
"""Key of AUTH_SECRET the server reads: every token it accepts, one a line."""
TLS_SECRET = "kubehooks-tls"
SECRETS_DIR = "/var/run/secrets/kubehooks"
ETAG_CACHE = {"enabled": True, "cacheTimeoutSeconds": 3600, "cacheCleanupSeconds": 600}
"""Metacontroller's ETag cache per hook. Both timeouts or neither: with only the first set,
Metacontroller dereferences the unset second (webhook.go). An hour outlives its 30-minute relist,
which is when an unchanged parent is sent again; without timeouts entries never expire."""

Manifest = dict[str, Any]


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(objects: list[Manifest]) -> str:
    """Dump objects as a multi-document YAML stream, in the order given, without anchors."""
    return yaml.dump_all(objects, Dumper=_NoAliasDumper, sort_keys=False, width=100)


def check_hook_auth(settings: Settings) -> None:
    """Refuse a hook URL that is not http(s), or credentials sent over plain HTTP unasked.

    A bearer token over `http://` crosses the network in clear; only `allowInsecureAuth: true`
    (a mesh that encrypts Pod traffic) says that is intended. The message is one line: the CLI
    prints it as is.
    """
    scheme = urlsplit(settings.hook_url).scheme
    if scheme not in ("http", "https"):
        raise SettingsError(f"hookUrl {settings.hook_url!r} must start with https:// or http://")
    if settings.tls.client_ca_file:
        raise SettingsError(
            "tls.clientCaFile (mutual TLS) cannot be rendered yet: the manifests give "
            "Metacontroller no client certificate, so every hook call would be refused; "
            "remove it from the config you render, or deploy mutual TLS by hand"
        )
    if scheme == "http" and settings.hook_auth != "none" and not settings.allow_insecure_auth:
        raise SettingsError(
            f"hookUrl {settings.hook_url} is plain HTTP but hookAuth is {settings.hook_auth}, "
            "so the token would cross the network in clear: use an https:// hookUrl, "
            "set hookAuth: none, or set allowInsecureAuth: true if a mesh encrypts the traffic"
        )


def endpoint_config(settings: Settings) -> Manifest | None:
    """Return the endpointConfigs entry for the server, or None when it would say nothing.

    It holds the bearer token when `hookAuth` is bearer and the CA when `hookUrl` is https,
    nothing else. Metacontroller v4.17 resolves it in `ResolveEndpointConfig`
    (pkg/hooks/endpoint_config.go): per-webhook auth/TLS fields would replace the entry whole,
    else the first entry whose `host` matches the URL's host or host:port (`matchEndpointConfig`,
    case-insensitive, default port from the scheme) is used, and `resolveFields` reads every
    Secret it references (`ResolveAuthorization` in pkg/hooks/auth.go, `ResolveCABundle` in
    pkg/hooks/cabundle.go) whatever the scheme. One missing Secret fails `newParentController`
    (pkg/controller/composite/controller.go), so the CompositeController never starts: hence
    no reference the config does not enable. The Secrets are read there only, once per build
    of the controller, never per call.
    """
    url = urlsplit(settings.hook_url)
    entry: Manifest = {"host": url.netloc}
    if settings.hook_auth == "bearer":
        entry["authorization"] = {
            "type": "Bearer",
            "secretRef": {
                "name": AUTH_SECRET,
                "namespace": NAMESPACE,
                "key": settings.hook_token_key,
            },
        }
    if url.scheme == "https":
        entry["caBundle"] = {
            "secretRef": {"name": TLS_SECRET, "namespace": NAMESPACE, "key": "ca.crt"}
        }
    return entry if len(entry) > 1 else None


def composite_controller(
    name: str,
    config: ControllerConfig,
    hook_url: str,
    *,
    endpoint: Manifest | None = None,
    etag: bool = False,
    controller: Controller | None = None,
) -> Manifest:
    """Return the CompositeController that routes one controller's hooks to this server.

    v2 hooks (uniform `namespace/name` keys, strict response parsing), a generated selector
    (children carry `controller-uid`, so nothing unrelated is adopted), and a finalize hook so a
    parent is only gone once its children are. `endpoint` (see endpoint_config) adds the
    credentials and CA Metacontroller uses; `etag` turns on its ETag cache for sync and finalize.
    """
    controller = controller or CONTROLLERS[name]
    parent: dict[str, Any] = {
        "apiVersion": controller.kind.api_version,
        "resource": controller.kind.plural,
    }
    if config.parent_selector is not None:
        parent["labelSelector"] = config.parent_selector.to_wire()
    children = []
    for child in controller.children:
        strategy: dict[str, Any] = {"method": child.update_strategy}
        if child.status_checks:
            strategy["statusChecks"] = {
                "conditions": [{"type": t, "status": s} for t, s in child.status_checks]
            }
        children.append(
            {
                "apiVersion": child.api_version,
                "resource": child.resource,
                "updateStrategy": strategy,
            }
        )
    hooks: dict[str, dict[str, Any]] = {
        hook: {
            "version": "v2",
            "webhook": {"url": f"{hook_url}/{name}/{hook}", "timeout": HOOK_TIMEOUT},
        }
        for hook in ("sync", "finalize", "customize")
        if hook != "customize" or controller.customize is not None
    }
    if etag:
        for hook in ("sync", "finalize"):
            hooks[hook]["webhook"]["etag"] = dict(ETAG_CACHE)
    spec: dict[str, Any] = {
        "generateSelector": True,
        "parentResource": parent,
        "childResources": children,
        "hooks": hooks,
    }
    resync = config.resync_period_seconds or controller.resync_period_seconds
    if resync:
        spec["resyncPeriodSeconds"] = resync
    if endpoint is not None:
        spec["endpointConfigs"] = [endpoint]
    return {
        "apiVersion": "metacontroller.k8s.io/v1alpha1",
        "kind": "CompositeController",
        "metadata": {"name": f"kubehooks-{name}", "labels": {"app.kubernetes.io/part-of": APP}},
        "spec": spec,
    }


PORTAL_FILE = "deploy/portal.yaml"
"""Opt-in (`kubectl apply -f deploy/portal.yaml`): its image needs the `kubehooks[portal]` extra."""


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": APP}


def server_objects(settings: Settings) -> list[Manifest]:
    """Return the Namespace, ServiceAccount, ConfigMap, Deployment and Service of the server.

    With `hookAuth: bearer` the server reads the accepted tokens from the mounted
    `kubehooks-auth` Secret and, with an https `hookUrl`, serves the mounted `kubehooks-tls`
    certificate. On deletion the Pod first sleeps (preStop) so Service endpoints drop it, then
    gunicorn finishes in-flight calls on SIGTERM.
    """
    labels = _labels()
    meta = {"name": APP, "namespace": NAMESPACE, "labels": labels}
    url = urlsplit(settings.hook_url)
    tls = url.scheme == "https"
    port_name, port = ("https", TLS_PORT) if tls else ("http", PORT)
    # Everything the server reads goes into its ConfigMap, except what the Pod provides itself.
    passed_on = settings.model_dump(
        mode="json",
        by_alias=True,
        exclude_defaults=True,
        exclude={
            "enabled",
            "log_level",
            "auth",
            "tls",
            "hook_url",
            "hook_auth",
            "hook_token_key",
            "allow_insecure_auth",
        },
    )
    config: Manifest = {
        "enabled": enabled_names(settings),
        "logLevel": settings.log_level,
        **passed_on,
    }
    mounts: list[Manifest] = [{"name": "config", "mountPath": "/etc/kubehooks", "readOnly": True}]
    volumes: list[Manifest] = [{"name": "config", "configMap": {"name": APP}}]
    if settings.hook_auth == "bearer":
        config["auth"] = {"bearerTokenFile": f"{SECRETS_DIR}/auth/{ACCEPTED_TOKENS_KEY}"}
        if settings.auth.protect_metrics:
            config["auth"]["protectMetrics"] = True
        mounts.append({"name": "auth", "mountPath": f"{SECRETS_DIR}/auth", "readOnly": True})
        volumes.append(
            {"name": "auth", "secret": {"secretName": AUTH_SECRET, "defaultMode": 0o440}}
        )
    if tls:
        config["tls"] = {
            "certFile": f"{SECRETS_DIR}/tls/tls.crt",
            "keyFile": f"{SECRETS_DIR}/tls/tls.key",
        }
        mounts.append({"name": "tls", "mountPath": f"{SECRETS_DIR}/tls", "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": TLS_SECRET, "defaultMode": 0o440}})
    mounts.append({"name": "tmp", "mountPath": "/tmp"})
    volumes.append({"name": "tmp", "emptyDir": {}})
    scheme = "HTTPS" if tls else "HTTP"
    container = {
        "name": "hooks",
        "image": settings.image,
        # Pinned: by default gunicorn starts one worker per CPU of the node, not of the Pod.
        "args": [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--workers",
            "2",
            "--config",
            "/etc/kubehooks/config.yaml",
        ],
        "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": port_name, "scheme": scheme},
            "periodSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": port_name, "scheme": scheme},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    pod_labels = {"app.kubernetes.io/name": APP}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": labels},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta,
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"config.yaml": yaml.safe_dump(config, sort_keys=False)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": {**labels}},
                    "spec": {
                        "serviceAccountName": APP,
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": 40,
                        "securityContext": pod_security_context(),
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": pod_labels,
                "ports": [
                    {
                        "name": port_name,
                        "port": url.port or (443 if tls else 80),
                        "targetPort": port_name,
                        "protocol": "TCP",
                    }
                ],
            },
        },
    ]


def all_manifests(settings: Settings) -> dict[str, list[Manifest]]:
    """Return the repository layout: relative path -> the objects in that file.

    Raises SettingsError for credentials over plain HTTP that the config did not allow.
    """
    check_hook_auth(settings)
    endpoint = endpoint_config(settings)
    files: dict[str, list[Manifest]] = {}
    names = enabled_names(settings)
    known = load_controllers(settings)
    for name in names:
        kind = known[name].kind
        files[f"crds/{kind.singular}.yaml"] = [crd(kind)]
        files[f"metacontroller/{name}.yaml"] = [
            composite_controller(
                name,
                settings.controller(name),
                settings.hook_url,
                endpoint=endpoint,
                etag=settings.etag,
                controller=known[name],
            )
        ]
    kinds = sorted(known[name].kind.singular for name in names)
    files["crds/kustomization.yaml"] = [_kustomization([f"{k}.yaml" for k in kinds])]
    files["metacontroller/kustomization.yaml"] = [_kustomization([f"{n}.yaml" for n in names])]
    files["deploy/server.yaml"] = server_objects(settings)
    files["deploy/kustomization.yaml"] = [
        _kustomization(["../crds", "../metacontroller", "server.yaml"])
    ]
    kinds_served = [known[name].kind for name in names]
    child_types = sorted(
        {(c.api_version, c.resource) for name in names for c in known[name].children}
    )
    image = portal_image(settings.image, settings.portal_image)
    files[PORTAL_FILE] = portal_objects(kinds_served, image, child_types)
    return files


def _kustomization(resources: list[str]) -> Manifest:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }


def render_files(settings: Settings) -> dict[str, str]:
    """Return the repository layout as file texts."""
    return {path: dump_yaml(objects) for path, objects in all_manifests(settings).items()}


def render_stream(settings: Settings) -> str:
    """Return every object (no kustomizations) as one YAML stream for `kubectl apply -f -`."""
    objects = [
        obj
        for path, file_objects in all_manifests(settings).items()
        if not path.endswith("kustomization.yaml") and path != PORTAL_FILE
        for obj in file_objects
    ]
    return dump_yaml(objects)
