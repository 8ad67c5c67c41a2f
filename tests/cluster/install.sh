#!/usr/bin/env bash
# Build etcd and kube-apiserver from Go modules (via the Go module proxy) into a
# cache folder outside the repository, keyed by version.
#
#   bash tests/cluster/install.sh          # prints the bin dir on its last stdout line
#
# Environment:
#   KUBEHOOKS_CACHE        cache root          (default: $HOME/.cache/kubehooks)
#   KUBEHOOKS_K8S_VERSION  k8s.io/kubernetes   (default: v1.37.2)
#   KUBEHOOKS_ETCD_VERSION go.etcd.io/etcd/server/v3 (default: the version that
#                          k8s.io/kubernetes's go.mod pins, v3.7.0 for v1.37.2)
#   KUBEHOOKS_CACHE_PRUNE=1 after a successful build, delete the Go module and build
#                          caches (about 3.5 GB) and keep only the binaries (about 140 MB);
#                          a later rebuild (new version or recipe) then starts cold.
#
# Result: $KUBEHOOKS_CACHE/k8s-<k8s version>/bin/{kube-apiserver,etcd}
# A second run finds both binaries plus a matching stamp file and exits at once.
# Needs: go >= the version in k8s.io/kubernetes's go.mod (1.26 for v1.37.x),
# bash, flock (util-linux), python3 (to read `go mod download -json`).
# Nothing fetched here is meant to be committed: all of it lives in the cache.
set -euo pipefail

K8S_VERSION="${KUBEHOOKS_K8S_VERSION:-v1.37.2}"
CACHE_ROOT="${KUBEHOOKS_CACHE:-$HOME/.cache/kubehooks}"
ROOT="$CACHE_ROOT/k8s-$K8S_VERSION"
BIN="$ROOT/bin"
STAMP="$BIN/.stamp"
# Bump RECIPE when the build recipe changes, so old caches get rebuilt.
RECIPE=1

log() { echo "install.sh: $*" >&2; }

want_stamp() {
    echo "recipe=$RECIPE k8s=$K8S_VERSION etcd=${KUBEHOOKS_ETCD_VERSION:-pinned}"
}

is_done() {
    [[ -x "$BIN/kube-apiserver" && -x "$BIN/etcd" && -f "$STAMP" ]] &&
        [[ "$(head -n1 "$STAMP")" == "$(want_stamp)" ]]
}

if is_done; then
    echo "$BIN"
    exit 0
fi

mkdir -p "$ROOT" "$BIN"
# One builder at a time (parallel pytest workers, two shells, ...).
exec 9>"$ROOT/.lock"
flock 9
if is_done; then
    echo "$BIN"
    exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }
command -v python3 >/dev/null || { log "python3 is not installed"; exit 1; }

export GOMODCACHE="$ROOT/gomodcache"
export GOCACHE="$ROOT/gocache"
export GOPATH="$ROOT/gopath"
# -modcacherw: leave the module cache writable, so `rm -rf` of the cache folder works.
export GOFLAGS="-mod=mod -modcacherw -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
GO_VERSION="$(go env GOVERSION)"
start=$(date +%s)
log "building kube-apiserver $K8S_VERSION and etcd with $GO_VERSION into $BIN"

# 1. The published k8s.io/kubernetes go.mod: its staging modules are required at v0.0.0
#    and replaced by ./staging/... paths, neither of which resolves for a consumer.
log "downloading k8s.io/kubernetes@$K8S_VERSION"
GOMOD_PATH="$(cd "$ROOT" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("GoMod") or sys.exit(d.get("Error","no GoMod")))')"

STAGING_VERSION="v0.${K8S_VERSION#v1.}"   # v1.37.2 -> v0.37.2
mapfile -t STAGING < <(awk '
    /^require[ \t]*\(/ { inreq = 1; next }
    inreq && /^\)/     { inreq = 0; next }
    inreq && $2 == "v0.0.0" && $1 ~ /^k8s\.io\// { print $1 }
' "$GOMOD_PATH")
if [[ ${#STAGING[@]} -lt 10 ]]; then
    log "found only ${#STAGING[@]} staging modules in $GOMOD_PATH; the go.mod layout changed?"
    exit 1
fi
GO_DIRECTIVE="$(awk '$1 == "go" { print $2; exit }' "$GOMOD_PATH")"
ETCD_VERSION="${KUBEHOOKS_ETCD_VERSION:-$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$GOMOD_PATH")}"
[[ -n "$ETCD_VERSION" ]] || { log "cannot tell which etcd version $K8S_VERSION uses"; exit 1; }

# 2. The wrapper module: requires k8s.io/kubernetes and etcd's server module, and
#    points every staging module at its published v0.X.Y tag.
W="$ROOT/wrapper"
rm -rf "$W"
mkdir -p "$W"
{
    echo "module kubehooks.local/k8sbuild"
    echo
    echo "go $GO_DIRECTIVE"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $K8S_VERSION"
    echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    echo ")"
    echo
    echo "replace ("
    for m in "${STAGING[@]}"; do
        echo "	$m => $m $STAGING_VERSION"
    done
    echo ")"
} >"$W/go.mod"
# A blank import of both main packages keeps `go mod tidy` from dropping them.
cat >"$W/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
EOF

log "resolving modules (${#STAGING[@]} staging modules at $STAGING_VERSION, etcd $ETCD_VERSION)"
(cd "$W" && go mod tidy >/dev/null 2>"$W/tidy.log") || { cat "$W/tidy.log" >&2; exit 1; }
(cd "$W" && go mod download) >&2

# 3. Build. Version stamps as Kubernetes' own build sets them (hack/lib/version.sh).
MINOR="${K8S_VERSION#v1.}"; MINOR="${MINOR%%.*}"
LDFLAGS="-s -w"
LDFLAGS+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
LDFLAGS+=" -X k8s.io/component-base/version.gitMajor=1"
LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$MINOR"
LDFLAGS+=" -X k8s.io/component-base/version.gitTreeState=clean"
LDFLAGS+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"

log "compiling etcd $ETCD_VERSION"
(cd "$W" && nice -n 10 go build -trimpath -ldflags="-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3) >&2
mv -f "$BIN/etcd.tmp" "$BIN/etcd"
log "compiling kube-apiserver $K8S_VERSION (several minutes on 2 cores)"
(cd "$W" && nice -n 10 go build -trimpath -ldflags="$LDFLAGS" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver) >&2
mv -f "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"

"$BIN/kube-apiserver" --version >&2
"$BIN/etcd" --version >&2

{
    want_stamp
    echo "go=$GO_VERSION etcd_version=$ETCD_VERSION built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(($(date +%s) - start))"
} >"$STAMP"
log "done in $(($(date +%s) - start)) s"
if [[ "${KUBEHOOKS_CACHE_PRUNE:-0}" == 1 ]]; then
    log "KUBEHOOKS_CACHE_PRUNE=1: removing $GOCACHE and $GOMODCACHE"
    chmod -R u+w "$GOMODCACHE" 2>/dev/null || true
    rm -rf "$GOCACHE" "$GOMODCACHE" "$GOPATH"
fi
echo "$BIN"
