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

from hooks.contract import SyncRequest
from hooks.manifests import dump_yaml, render_files, render_stream
from hooks.registry import bind_enabled, controller_for_kind
from hooks.runtime import run_sync
from hooks.scaffold import add_new_command
from hooks.settings import Settings, SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except (SettingsError, RenderError, ValueError) as err:
        print(f"kubehooks: {err}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubehooks", description=__doc__)
    commands = parser.add_subparsers(required=True, dest="command")

    serve = commands.add_parser("serve", help="serve the hooks with gunicorn (no cluster needed)")
    serve.add_argument("--host", default=os.environ.get("KUBEHOOKS_HOST", "0.0.0.0"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("KUBEHOOKS_PORT", "8080")))
    serve.add_argument("--config", help="YAML config file (default: $KUBEHOOKS_CONFIG)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs)")
    serve.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("KUBEHOOKS_THREADS", "0")) or None,
        help="threads per worker (default: 1, sync workers; more gives gthread workers, which "
        "keep connections alive: worth it with TLS)",
    )
    _plugin_flag(serve)
    serve.set_defaults(func=_serve)

    render = commands.add_parser("render", help="run a controller offline on a parent")
    render.add_argument("-f", "--filename", required=True, help="parent YAML or JSON ('-': stdin)")
    render.add_argument("--observed", help="YAML stream of observed children")
    render.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    render.add_argument("--config", help="YAML config file")
    render.add_argument("--now", help="RFC 3339 time to render at (default: now)")
    _plugin_flag(render)
    render.set_defaults(func=_render)

    manifests = commands.add_parser("manifests", help="print CRDs, CompositeControllers, deploy")
    manifests.add_argument("--config", help="YAML config file")
    manifests.add_argument("--out", help="write the repository layout under this folder instead")
    _plugin_flag(manifests)
    manifests.set_defaults(func=_manifests)
    add_new_command(commands)
    return parser


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
    controller = controller_for_kind(str(parent.get("kind", "")), settings)
    bound = bind_enabled(settings.model_copy(update={"enabled": None}))[controller.name]
    meta = parent.setdefault("metadata", {})
    meta.setdefault("namespace", "default")
    meta.setdefault("generation", 1)
    children: dict[str, dict[str, Any]] = {child.key: {} for child in controller.children}
    for obj in _load_documents(args.observed) if args.observed else []:
        key = f"{obj.get('kind')}.{obj.get('apiVersion')}"
        if key not in children:
            raise RenderError(f"{controller.name} has no children of type {key}")
        obj_meta = obj.get("metadata") or {}
        namespace = obj_meta.get("namespace") or meta["namespace"]
        children[key][f"{namespace}/{obj_meta.get('name')}"] = obj
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    request = SyncRequest(parent=parent, children=children)
    answer = run_sync(bound, request, now=now).to_wire()
    if args.output == "json":
        sys.stdout.write(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(dump_yaml([answer]))
    return 0


def _manifests(args: argparse.Namespace) -> int:
    settings = _settings(args)
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


if __name__ == "__main__":
    raise SystemExit(main())
