#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need, then lint, types, tests.
# This is the README's test command, and exactly what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

echo "== installing kubehooks and its test dependencies"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e '.[test,portal]'
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-build-isolation -e examples/staticsite

# Debian packages some tests use, installed when missing and run as root:
# wrk (the benchmark's load generator), redis-server and busybox (the RedisMigration scripts run
# for real under busybox ash, dash and bash), openssl (throwaway certificates for the TLS and
# real-cluster tests), chromium (the portal's web UI tests, headless, driven by Playwright).
# The real-cluster and helm groups also need Go >= 1.26 (PATH or /usr/local/go):
# both build their tools (kube-apiserver and etcd, helm) from Go modules once, into ~/.cache/kubehooks.
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v busybox >/dev/null 2>&1 || missing+=(busybox)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql) # portal history
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server-core) # portal history on MariaDB (~8 s)
[ -x /usr/bin/chromium ] || missing+=(chromium) # the portal's web UI in a real browser
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    echo "could not install ${missing[*]}: the tests that need them will say so"
fi

echo "== ruff"
"$PYTHON" -m ruff check .
"$PYTHON" -m ruff format --check .

echo "== mypy (strict, on the package)"
"$PYTHON" -m mypy

echo "== benchmark smoke test (python -m bench --quick; figures only, no thresholds)"
"$PYTHON" -m bench --quick --controller staticsite  # the example plugin beside the built-ins
"$PYTHON" -m bench.portal --quick # the portal's three targets, figures only

echo "== pytest (unit, golden, property, fuzz, HTTP and the real-cluster group)"
"$PYTHON" -m pytest "$@"
