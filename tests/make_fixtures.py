"""Write the golden request files from tests/cases: `python -m tests.make_fixtures [controller...]`.

Responses are goldens and are written by `pytest --update-goldens`; read both diffs before
committing them.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def write_json(path: Path, data: object) -> None:
    """Write JSON the way every fixture is written: sorted keys, two spaces, final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(names: list[str]) -> int:
    from hooks.registry import CONTROLLERS

    for name in names or list(CONTROLLERS):
        try:
            module = importlib.import_module(f"tests.cases.{name}")
        except ModuleNotFoundError:
            print(f"no cases for {name}", file=sys.stderr)
            continue
        for case in module.cases():
            folder = FIXTURES / case.controller / case.name
            write_json(folder / "request.json", case.request)
            write_json(folder / "case.json", case.meta())
            print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
