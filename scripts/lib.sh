#!/usr/bin/env bash
# Host-side helpers shared by setup, test, demo and the cluster harness.
# Sourced, never run. Keeps one definition of where caches and tools live.

# Everything slow to build lives outside the clone, keyed by version, so CI's
# fresh clone on the same machine reuses it and a new machine builds it once.
GITSPACE_CACHE="${GITSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitspace-chart}"
GITSPACE_BIN="$GITSPACE_CACHE/bin"
export GITSPACE_CACHE GITSPACE_BIN
export HELM_PLUGINS="$GITSPACE_CACHE/helm/plugins"
export HELM_CONFIG_HOME="$GITSPACE_CACHE/helm/config"
export HELM_CACHE_HOME="$GITSPACE_CACHE/helm/cache"
export HELM_DATA_HOME="$GITSPACE_CACHE/helm/data"
case ":$PATH:" in *":$GITSPACE_BIN:"*) ;; *) export PATH="$GITSPACE_BIN:$PATH" ;; esac
# The cluster harness writes its kubeconfig here; tests and the demo read it.
export GITSPACE_KUBECONFIG="${GITSPACE_KUBECONFIG:-$GITSPACE_CACHE/cluster/kubeconfig}"

# Pinned tool versions: bump here, caches re-key themselves (used by setup.sh).
# shellcheck disable=SC2034
{
  HELM_VERSION="v3.22.0"
  HELM_UNITTEST_VERSION="v1.1.2"
  CT_VERSION="v3.14.0"
  # BuildKit's client for `gitspace-chart build` (Debian 12 ships no docker-buildx); the
  # generator's features/build.ts names the same version.
  BUILDX_VERSION="v0.38.2"
}

# A script that `set -e` ends prints the step, the failing command, file:line
# and the log to read (one rule, shared with the in-container scripts).
# shellcheck source=charts/gitspace/files/scripts/err-trap.sh
source "$(dirname "${BASH_SOURCE[0]}")/../charts/gitspace/files/scripts/err-trap.sh"

_ts() { date -u '+%H:%M:%S'; }
log_info() { printf '[%s] %s\n' "$(_ts)" "$*" >&2; }
log_warn() { printf '[%s] WARN: %s\n' "$(_ts)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(_ts)" "$*" >&2; exit 1; }
# step NAME: a visible progress line for long steps.
# step NAME: a visible progress line for long steps; an error after it names it.
step() {
  GS_STEP="$*"
  printf '\n[%s] ==> %s\n' "$(_ts)" "$*" >&2
}

# go_install_cached NAME VERSION PKG [LDFLAGS]: builds PKG@VERSION once into
# the cache and links NAME into $GITSPACE_BIN. VERSION is the cache key: put
# anything that changes the binary (e.g. ldflags) into it.
go_install_cached() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-}
  local dir="$GITSPACE_CACHE/tools/$name-$version"
  if [[ ! -x "$dir/$name" ]]; then
    log_info "building $name $version from the Go module proxy (once per machine)"
    mkdir -p "$dir.tmp"
    GOBIN="$dir.tmp" GOFLAGS=-buildvcs=false go install -ldflags "$ldflags" "$pkg@${version%%+*}"
    local built
    built=$(find "$dir.tmp" -maxdepth 1 -type f | head -n 1)
    [[ -n "$built" ]] || die "go install $pkg@$version produced no binary"
    [[ "$(basename "$built")" == "$name" ]] || mv "$built" "$dir.tmp/$name"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  mkdir -p "$GITSPACE_BIN"
  ln -sfn "$dir/$name" "$GITSPACE_BIN/$name"
}

# go_build_module_cached NAME VERSION MODULE PKG: for modules whose go.mod has
# replace directives ('go install pkg@v' refuses them): build inside a writable
# copy of the downloaded module, where its replaces apply as upstream intends.
go_build_module_cached() {
  local name=$1 version=$2 module=$3 pkg=$4
  local dir="$GITSPACE_CACHE/tools/$name-$version"
  if [[ ! -x "$dir/$name" ]]; then
    log_info "building $name $version from the Go module proxy (once per machine)"
    local src work
    src=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
      die "go mod download $module@$version failed (output above): is the Go module proxy reachable (go env GOPROXY)?"
    [[ -d "$src" ]] || die "go mod download $module@$version gave no source dir"
    work=$(mktemp -d)
    cp -r "$src/." "$work/" && chmod -R u+w "$work"
    mkdir -p "$dir.tmp"
    (cd "$work" && GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -o "$dir.tmp/$name" "./$pkg")
    rm -rf "$work" "$dir" && mv "$dir.tmp" "$dir"
  fi
  mkdir -p "$GITSPACE_BIN"
  ln -sfn "$dir/$name" "$GITSPACE_BIN/$name"
}

# bridge_ip DEV: IPv4 address of a bridge our own processes made (docker0,
# cni0). A device that does not exist yet is no error (cni0 appears only once a
# pod has run: a fresh machine has none): prints nothing.
bridge_ip() {
  [[ -e "/sys/class/net/$1" ]] || return 0
  ip -4 -o addr show dev "$1" | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# docker_up: start the Docker engine from Debian's docker.io if none answers.
docker_up() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null || die "dockerd not installed: run 'bash scripts/setup.sh' first"
  log_info "starting dockerd (log: $GITSPACE_CACHE/dockerd.log)"
  mkdir -p "$GITSPACE_CACHE"
  # setsid: the engine outlives the shell that started it, like a service.
  setsid dockerd >>"$GITSPACE_CACHE/dockerd.log" 2>&1 < /dev/null &
  local waited=0
  while (( waited < 60 )); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1; waited=$((waited + 1))
  done
  tail -n 30 "$GITSPACE_CACHE/dockerd.log" >&2
  die "dockerd did not answer within 60s (log above)"
}

# shared_scripts_up NAMESPACE: the gitspaces' shared scripts ConfigMap in NAMESPACE (the companion
# chart charts/gitspace-scripts, release gitspace-scripts-<version>), as a platform installs it
# once per namespace before the gitspaces (docs/fleet.md). Idempotent: an upgrade of the same
# version changes nothing. Uses helm and $GITSPACE_KUBECONFIG.
shared_scripts_up() {
  local ns=$1 chart version
  chart=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/charts/gitspace-scripts
  version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
  command helm --kubeconfig "$GITSPACE_KUBECONFIG" upgrade --install "gitspace-scripts-${version//./-}" "$chart" \
    -n "$ns" --create-namespace --history-max 2 >/dev/null 2>"${TMPDIR:-/tmp}/shared-scripts-$ns.err" ||
    { cat "${TMPDIR:-/tmp}/shared-scripts-$ns.err" >&2; die "installing the shared scripts (charts/gitspace-scripts) in namespace $ns failed"; }
  rm -f "${TMPDIR:-/tmp}/shared-scripts-$ns.err"
}
