#!/usr/bin/env bash
# Build the helm CLI from its Go module (via the Go module proxy) into a cache folder outside
# the repository, keyed by version: the chart tests run `helm lint` and `helm template` with it.
#
#   bash tests/helm/install.sh          # prints the helm binary's path on its last stdout line
#
# Environment:
#   KUBEHOOKS_CACHE         cache root                 (default: $HOME/.cache/kubehooks)
#   KUBEHOOKS_HELM_VERSION  helm.sh/helm/v4 version    (default: v4.3.1)
#   KUBEHOOKS_CACHE_PRUNE=1 after a successful build, delete the Go module and build caches
#                           and keep only the binary.
#
# Result: $KUBEHOOKS_CACHE/helm-<version>/bin/helm
# A second run finds the binary plus a matching stamp file and exits at once.
# Needs: go >= the version in helm's go.mod (1.26 for v4.3.x), bash, flock (util-linux).
# Nothing fetched here is meant to be committed: all of it lives in the cache.
set -euo pipefail

HELM_VERSION="${KUBEHOOKS_HELM_VERSION:-v4.3.1}"
CACHE_ROOT="${KUBEHOOKS_CACHE:-$HOME/.cache/kubehooks}"
ROOT="$CACHE_ROOT/helm-$HELM_VERSION"
BIN="$ROOT/bin"
STAMP="$BIN/.stamp"
# Bump RECIPE when the build recipe changes, so old caches get rebuilt.
RECIPE=1
MAJOR="${HELM_VERSION#v}"
MODULE="helm.sh/helm/v${MAJOR%%.*}"   # v4.3.1 -> helm.sh/helm/v4

log() { echo "tests/helm/install.sh: $*" >&2; }

want_stamp() {
    echo "recipe=$RECIPE helm=$HELM_VERSION"
}

is_done() {
    [[ -x "$BIN/helm" && -f "$STAMP" ]] && [[ "$(head -n1 "$STAMP")" == "$(want_stamp)" ]]
}

if is_done; then
    echo "$BIN/helm"
    exit 0
fi

mkdir -p "$ROOT" "$BIN"
# One builder at a time (parallel pytest workers, two shells, ...).
exec 9>"$ROOT/.lock"
flock 9
if is_done; then
    echo "$BIN/helm"
    exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }

export GOMODCACHE="$ROOT/gomodcache"
export GOCACHE="$ROOT/gocache"
export GOPATH="$ROOT/gopath"
export GOBIN="$BIN"
# -modcacherw: leave the module cache writable, so `rm -rf` of the cache folder works.
export GOFLAGS="-modcacherw -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
GO_VERSION="$(go env GOVERSION)"
start=$(date +%s)
log "building helm $HELM_VERSION ($MODULE/cmd/helm) with $GO_VERSION into $BIN"

# The version stamp as helm's own Makefile sets it (LDFLAGS there); the Kubernetes version
# that `helm template` assumes comes from the client-go in the build info, as in a release.
LDFLAGS="-s -w -X $MODULE/internal/version.version=$HELM_VERSION"
LDFLAGS+=" -X $MODULE/internal/version.gitTreeState=clean"
# `go install module@version` builds exactly the versions helm's go.mod pins (no replace in it).
nice -n 10 go install -trimpath -ldflags="$LDFLAGS" "$MODULE/cmd/helm@$HELM_VERSION" >&2

"$BIN/helm" version --short >&2

{
    want_stamp
    echo "go=$GO_VERSION built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(($(date +%s) - start))"
} >"$STAMP"
log "done in $(($(date +%s) - start)) s"
if [[ "${KUBEHOOKS_CACHE_PRUNE:-0}" == 1 ]]; then
    log "KUBEHOOKS_CACHE_PRUNE=1: removing $GOCACHE and $GOMODCACHE"
    chmod -R u+w "$GOMODCACHE" 2>/dev/null || true
    rm -rf "$GOCACHE" "$GOMODCACHE" "$GOPATH"
fi
echo "$BIN/helm"
