#!/usr/bin/env bash
# A real ingress controller for the browser and e2e stages: Traefik v3 built
# from the Go module proxy (once per machine, cached by version) and the
# Gateway API CRDs of the sigs.k8s.io/gateway-api version Traefik requires.
#   traefik.sh build         build into $GITSPACE_CACHE/traefik-<version>/traefik
#   traefik.sh bin           build, then print the binary's path
#   traefik.sh crds          print the folder of the Gateway API CRDs it serves
#                            ($GITSPACE_CACHE/gateway-api-<version>)
#   traefik.sh install-crds  apply them to the cluster of $KUBECONFIG (idempotent)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"

TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
TRAEFIK_DIR="$GITSPACE_CACHE/traefik-$TRAEFIK_VERSION"
TRAEFIK_BIN="$TRAEFIK_DIR/traefik"

# _module_dir MOD@VER: where the Go module proxy's copy of it was unpacked.
_module_dir() {
  local json
  # From / : outside any module, whatever the caller's directory holds.
  json=$(cd / && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$1") ||
    die "go mod download $1 failed (is the Go module proxy reachable?)"
  jq -r .Dir <<<"$json"
}

# build: Traefik's go.mod has replace directives (so `go install` refuses
# it): build inside its own downloaded module, where they apply.
build() {
  [[ -x "$TRAEFIK_BIN" ]] && return 0
  mkdir -p "$TRAEFIK_DIR"
  # One build at a time (the test run starts one in the background early): a second waits for it.
  exec 9>"$TRAEFIK_DIR.lock"
  flock 9
  [[ -x "$TRAEFIK_BIN" ]] && return 0
  local src
  src=$(_module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
  log_info "building traefik $TRAEFIK_VERSION from the Go module proxy (once per machine)"
  (cd "$src" && GOWORK=off GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$TRAEFIK_BIN.tmp" ./cmd/traefik)
  mv "$TRAEFIK_BIN.tmp" "$TRAEFIK_BIN"
}

# gateway_api_version: the sigs.k8s.io/gateway-api version Traefik's go.mod requires.
# Remembered in the cache: asking the module proxy's cache costs a second.
gateway_api_version() {
  local src f="$TRAEFIK_DIR/gateway-api-version"
  if [[ ! -s "$f" ]]; then
    src=$(_module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
    mkdir -p "$TRAEFIK_DIR"
    awk '$1 == "sigs.k8s.io/gateway-api" {print $2; exit}' "$src/go.mod" >"$f.tmp"
    mv "$f.tmp" "$f"
  fi
  cat "$f"
}

# crds: the CRDs Traefik's Gateway provider reads, copied out of the
# gateway-api module (its config/crd/) into the cache, keyed by version: the
# standard channel, plus TCPRoute and TLSRoute from the experimental channel
# (Traefik's experimentalChannel watches both; the chart's tcpRoute renders a
# TCPRoute). Only those two experimental ones: the standard resources keep
# their standard schema, as on a cluster whose platform runs the standard channel.
crds() {
  local v dir out
  v=$(gateway_api_version)
  [[ -n "$v" ]] || die "traefik $TRAEFIK_VERSION's go.mod names no sigs.k8s.io/gateway-api version"
  out="$GITSPACE_CACHE/gateway-api-$v"
  if [[ ! -f "$out/.complete" ]]; then
    dir=$(_module_dir "sigs.k8s.io/gateway-api@$v")
    [[ -d "$dir/config/crd/standard" ]] || die "sigs.k8s.io/gateway-api@$v has no config/crd/standard"
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    cp "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$out.tmp/"
    cp "$dir"/config/crd/experimental/gateway.networking.k8s.io_{tcproutes,tlsroutes}.yaml "$out.tmp/"
    touch "$out.tmp/.complete"
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  printf '%s\n' "$out"
}

# _installed_crds DIR: "name bundle-version channel" of each CRD of DIR the cluster has.
_installed_crds() {
  local names
  names=$(sed -n 's/^  name: \(.*\.gateway\.networking\.k8s\.io\)$/\1/p' "$1"/*.yaml)
  # shellcheck disable=SC2086 # one argument per CRD name
  kubectl get crd $names --ignore-not-found \
    -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations.gateway\.networking\.k8s\.io/bundle-version} {.metadata.annotations.gateway\.networking\.k8s\.io/channel}{"\n"}{end}'
}

# _wanted_crds DIR: the same lines from the files.
_wanted_crds() {
  local f
  for f in "$1"/*.yaml; do
    awk '/^  annotations:/ {a=1} a && /bundle-version:/ {v=$2} a && /channel:/ {c=$2} /^  name: / {n=$2} /^spec:/ {print n, v, c; exit}' "$f"
  done
}

# install_crds: cluster-wide, so applied server-side under one field manager:
# a second run, or another test's, changes nothing. Skipped when the cluster
# already has these versions (an apply of these large CRDs takes seconds).
install_crds() {
  local dir
  # The test cluster's, unless the caller names another.
  export KUBECONFIG="${KUBECONFIG:-$GITSPACE_KUBECONFIG}"
  dir=$(crds)
  if [[ "$(_installed_crds "$dir" | sort)" == "$(_wanted_crds "$dir" | sort)" ]]; then
    log_info "Gateway API CRDs $(basename "$dir") already installed"
    return 0
  fi
  kubectl apply --server-side --force-conflicts --field-manager=gitspace-chart-test -f "$dir" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s -f "$dir" >/dev/null
  log_info "Gateway API CRDs $(basename "$dir") installed"
}

case "${1:-}" in
  build) build ;;
  crds) crds ;;
  install-crds) install_crds ;;
  bin) build && printf '%s\n' "$TRAEFIK_BIN" ;;
  *) die "usage: traefik.sh build|bin|crds|install-crds" ;;
esac
