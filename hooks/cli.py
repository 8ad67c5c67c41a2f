"""The `kubehooks` command: serve the hooks, render a parent offline, print the manifests."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

import hooks
from hooks.contract import SyncRequest
from hooks.errors import InvalidSpec
from hooks.manifests import dump_yaml, render_files, render_stream
from hooks.registry import UnknownController, bind_enabled, controller_for_kind
from hooks.runtime import BoundController, run_sync
from hooks.scaffold import add_new_command
from hooks.settings import Settings, SettingsError, load_settings

EXIT_USAGE = 2
"""A user's mistake (arguments, files, configuration): one line on stderr, never a traceback."""
EXIT_REFUSED = 1
"""`render`: the hook refused the spec (the answer is still printed) or a replay differs."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"kubehooks: {where}{err.strerror or err}", file=sys.stderr)
    except (SettingsError, RenderError, UnknownController, ValueError) as err:
        print(f"kubehooks: {err}", file=sys.stderr)
    return EXIT_USAGE


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _threads(text: str) -> int:
    value = _positive(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be 2 or more, not {value}")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubehooks", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kubehooks {hooks.__version__}")
    commands = parser.add_subparsers(required=True, dest="command")

    serve = commands.add_parser("serve", help="serve the hooks with gunicorn (no cluster needed)")
    serve.add_argument(
        "--host",
        default=os.environ.get("KUBEHOOKS_HOST", "127.0.0.1"),
        help="address to listen on (default: $KUBEHOOKS_HOST or 127.0.0.1, this machine only; "
        "0.0.0.0 in a container)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=_port(os.environ.get("KUBEHOOKS_PORT", "8080")),
        help="TCP port (default: $KUBEHOOKS_PORT or 8080)",
    )
    serve.add_argument("--config", help="YAML config file (default: $KUBEHOOKS_CONFIG)")
    serve.add_argument(
        "--workers", type=_positive, default=None, help="worker processes (default: CPUs)"
    )
    serve.add_argument(
        "--threads",
        type=_threads,
        default=_threads(os.environ["KUBEHOOKS_THREADS"])
        if os.environ.get("KUBEHOOKS_THREADS")
        else None,
        help="threads per worker, at least 2 (default: $KUBEHOOKS_THREADS, else 64): one "
        "computes at a time, the others hold the calls waiting for their turn and refuse the "
        "excess",
    )
    _plugin_flag(serve)
    serve.set_defaults(func=_serve)

    render = commands.add_parser(
        "render",
        help="run a controller offline on a parent (exit 1 when the hook refuses its spec)",
    )
    render.add_argument("-f", "--filename", required=True, help="parent YAML or JSON ('-': stdin)")
    render.add_argument(
        "--observed",
        help="YAML stream of observed children, or a previous answer of render (its children)",
    )
    render.add_argument(
        "-o", "--output", choices=("yaml", "json"), default="yaml", help="default: yaml"
    )
    render.add_argument("--config", help="YAML config file")
    render.add_argument("--now", help="RFC 3339 time to render at (default: now)")
    _plugin_flag(render)
    render.set_defaults(func=_render)

    replay = commands.add_parser(
        "replay",
        help="answer a golden case (request.json, with case.json's hook, now and config) and "
        "compare with its response.json (exit 1 when they differ)",
    )
    replay.add_argument("case", help="a folder such as tests/fixtures/foo/fresh-parent")
    replay.set_defaults(func=_replay)

    manifests = commands.add_parser("manifests", help="print CRDs, CompositeControllers, deploy")
    manifests.add_argument("--config", help="YAML config file")
    manifests.add_argument("--out", help="write the repository layout under this folder instead")
    manifests.add_argument(
        "--image", help="the server's image (default: the config's `image`, else kubehooks:VERSION)"
    )
    _plugin_flag(manifests)
    manifests.set_defaults(func=_manifests)

    chart = commands.add_parser("chart", help="write the Helm chart, generated like manifests")
    chart.add_argument(
        "--out", default="deploy/helm/kubehooks", help="chart folder (default: %(default)s)"
    )
    chart.set_defaults(func=_chart)
    add_new_command(commands)
    portal = commands.add_parser("portal", help="serve the portal API and job history")
    portal.add_argument("--config", help="the portal's YAML config file")
    portal.add_argument("--dev", action="store_true", help="accept X-Debug-Username; loopback only")
    portal.set_defaults(func=_portal)
    return parser


def _portal(args: argparse.Namespace) -> int:
    """Import the portal only here: the hook server never loads it or its extra's packages."""
    try:
        from hooks.portal.main import main as portal_main
    except ImportError as err:
        raise ValueError(f"the portal needs pip install 'kubehooks[portal]' ({err.name})") from None
    return portal_main(args.config, dev=args.dev)


def _plugin_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--controller",
        action="append",
        default=[],
        dest="plugins",
        metavar="MODULE:ATTR",
        help="also load this controller (a hooks.sdk.Controller value); repeatable",
    )


def _settings(args: argparse.Namespace) -> Settings:
    """Load the settings, add the `--controller` plugins, and check every served controller.

    The check (import, clashes, options, declared children) runs here, before gunicorn starts,
    so that a bad plugin is one line on stderr and exit code 2, not a traceback per worker.
    """
    settings = load_settings(args.config)
    if args.plugins:
        settings = settings.model_copy(update={"plugins": (*settings.plugins, *args.plugins)})
    bind_enabled(settings)
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.config:
        os.environ["KUBEHOOKS_CONFIG"] = str(Path(args.config).resolve())
    with _metrics_dir():
        from hooks.serve import serve

        serve(settings, host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def _metrics_dir() -> Iterator[None]:
    """Give prometheus-client's multi-process mode an empty folder while the server runs.

    Runs before anything imports prometheus_client, which picks its storage at import time.
    A folder named by PROMETHEUS_MULTIPROC_DIR is emptied of a previous run's samples; otherwise
    a temporary one is made, and removed at exit by the process that made it only (gunicorn's
    workers leave through this same frame when they exit).
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="kubehooks-metrics-"))
    owner = os.getpid()
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield
    finally:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


class RenderError(Exception):
    """The files given to `kubehooks render` are unusable."""


def _load_documents(path: str) -> list[Any]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as err:
        raise RenderError(f"{path}: not YAML or JSON: {err}") from err
    objects: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
            objects.extend(doc["items"])
        else:
            objects.append(doc)
    return objects


def _render(args: argparse.Namespace) -> int:
    settings = _settings(args)
    parents = _load_documents(args.filename)
    if len(parents) != 1 or not isinstance(parents[0], dict):
        raise RenderError(f"{args.filename}: expected exactly one parent object")
    parent = parents[0]
    if "kind" not in parent and isinstance(parent.get("parent"), dict):
        raise RenderError(
            f"{args.filename} is a hook request, not a parent: render its parent, or replay a "
            "golden case with `kubehooks replay CASE_DIR`"
        )
    bound = _bound_for(parent, settings)
    controller = bound.controller
    meta = parent.setdefault("metadata", {})
    meta.setdefault("namespace", "default")
    meta.setdefault("generation", 1)
    children: dict[str, dict[str, Any]] = {child.key: {} for child in controller.children}
    for obj in _observed_documents(args.observed) if args.observed else []:
        key = f"{obj.get('kind')}.{obj.get('apiVersion')}"
        if key not in children:
            raise RenderError(
                f"{controller.name} has no children of type {obj.get('kind')} "
                f"{obj.get('apiVersion')} (its children: {', '.join(sorted(children))})"
            )
        obj_meta = obj.get("metadata") or {}
        namespace = obj_meta.get("namespace") or meta["namespace"]
        children[key][f"{namespace}/{obj_meta.get('name')}"] = obj
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    refusals: list[InvalidSpec] = []
    request = SyncRequest(parent=parent, children=children)
    answer = run_sync(bound, request, now=now, on_invalid_spec=refusals.append).to_wire()
    if args.output == "json":
        sys.stdout.write(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(dump_yaml([answer]))
    for refusal in refusals:
        print(
            f"kubehooks: the hook refused the spec ({refusal.reason}): {refusal}", file=sys.stderr
        )
    return EXIT_REFUSED if refusals else 0


def _bound_for(parent: dict[str, Any], settings: Settings) -> BoundController:
    """Return the enabled controller of a parent's kind, refusing another apiVersion."""
    kind = parent.get("kind")
    if not isinstance(kind, str) or not kind:
        raise RenderError("the parent has no kind")
    controller = controller_for_kind(kind, settings)
    if parent.get("apiVersion") != controller.kind.api_version:
        raise RenderError(
            f"{kind} has apiVersion {parent.get('apiVersion')!r}; kubehooks serves "
            f"{controller.kind.api_version}"
        )
    enabled = bind_enabled(settings)
    if controller.name not in enabled:
        raise RenderError(
            f"controller {controller.name} is not enabled by the configuration "
            f"(enabled: {', '.join(enabled) or 'none'})"
        )
    return enabled[controller.name]


def _observed_documents(path: str) -> list[Any]:
    """Return observed children: a stream of objects, or the children of render's own answer."""
    objects: list[Any] = []
    for doc in _load_documents(path):
        if isinstance(doc, dict) and "kind" not in doc and isinstance(doc.get("children"), list):
            objects.extend(doc["children"])
        elif isinstance(doc, dict):
            objects.append(doc)
        else:
            raise RenderError(f"{path}: every document must be an object")
    return objects


def _replay(args: argparse.Namespace) -> int:
    """Answer a golden case exactly as the golden tests do: its hook, its clock, its config."""
    folder = Path(args.case)
    case = _read_json(folder / "case.json")
    body = (folder / "request.json").read_bytes()
    expected = _read_json(folder / "response.json")
    config = Settings.model_validate(case.get("config", {}))
    now = datetime.fromisoformat(str(case["now"]).replace("Z", "+00:00"))
    controller = folder.parent.name
    from hooks.server import create_app  # imported late: see _metrics_dir

    app = create_app(config, clock=lambda: now)
    reply = app.test_client().post(
        f"/{controller}/{case.get('hook', 'sync')}",
        data=body,
        content_type="application/json",
    )
    answer = reply.get_json()
    sys.stdout.write(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode() + "\n")
    if reply.status_code != 200 or answer != expected:
        print(
            f"kubehooks: {folder}: the answer ({reply.status_code}) differs from response.json",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    print(f"kubehooks: {folder}: the answer equals response.json", file=sys.stderr)
    return 0


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise RenderError(f"{path}: not JSON: {err}") from None


def _manifests(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.image:
        settings = settings.model_copy(update={"image": args.image})
    if not args.out:
        sys.stdout.write(render_stream(settings))
        return 0
    root = Path(args.out)
    for relative, text in render_files(settings).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


def _chart(args: argparse.Namespace) -> int:
    from hooks.helm import write_chart

    for target in write_chart(args.out):
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
