#!/usr/bin/env bash
# A real ingress controller for the browser and e2e stages: Traefik v3 built
# from the Go module proxy (once per machine, cached by version) and the
# Gateway API CRDs of the sigs.k8s.io/gateway-api version Traefik requires.
#   traefik.sh build        build into $GITSPACE_CACHE/traefik-<version>/traefik
#   traefik.sh crds         print the path of the Gateway API standard CRDs
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
gateway_api_version() {
  local src
  src=$(_module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
  awk '$1 == "sigs.k8s.io/gateway-api" {print $2; exit}' "$src/go.mod"
}

# crds: the standard-channel CRDs, shipped in the gateway-api module itself.
crds() {
  local v dir
  v=$(gateway_api_version)
  [[ -n "$v" ]] || die "traefik $TRAEFIK_VERSION's go.mod names no sigs.k8s.io/gateway-api version"
  dir=$(_module_dir "sigs.k8s.io/gateway-api@$v")
  [[ -d "$dir/config/crd/standard" ]] || die "sigs.k8s.io/gateway-api@$v has no config/crd/standard"
  printf '%s\n' "$dir/config/crd/standard"
}

case "${1:-}" in
  build) build ;;
  crds) crds ;;
  bin) build && printf '%s\n' "$TRAEFIK_BIN" ;;
  *) die "usage: traefik.sh build|crds|bin" ;;
esac
