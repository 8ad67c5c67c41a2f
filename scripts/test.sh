#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need, then lint, types, tests.
# This is the README's test command, and exactly what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

echo "== installing kubehooks and its test dependencies"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e '.[test]'

echo "== ruff"
"$PYTHON" -m ruff check .
"$PYTHON" -m ruff format --check .

echo "== mypy (strict, on the package)"
"$PYTHON" -m mypy

echo "== pytest"
"$PYTHON" -m pytest "$@"
