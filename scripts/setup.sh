#!/usr/bin/env bash
# Installs every tool the tests and the demo need, from the registries this
# machine reaches (Debian, the Go module proxy, npm). Idempotent: a second run
# only checks. Slow builds are cached in $GITSPACE_CACHE keyed by version.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
root=$(cd "$here/.." && pwd)

APT_PACKAGES=(docker.io containerd runc debootstrap shellcheck bats
  containernetworking-plugins yamllint busybox-static conntrack socat iptables
  ripgrep jq fcgiwrap apache2-utils openssh-client git curl ca-certificates
  procps iproute2 util-linux e2fsprogs openssl python3
  docker-registry gnupg
  chromium fonts-dejavu-core)

install_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  step "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Built like helm's own release: the version string, and the default
# Kubernetes version for offline rendering (helm template, lint) taken from the
# k8s.io modules helm is built against, as helm's Makefile does. Without them
# helm reports "v3.22" and renders offline as Kubernetes 1.20.
install_helm() {
  local gomod minor
  gomod=$(cd /tmp && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p') ||
    die "go mod download helm.sh/helm/v3@$HELM_VERSION failed (output above): is the Go module proxy reachable (go env GOPROXY)?"
  minor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")
  [[ -n "$minor" ]] || die "cannot read helm's k8s.io/client-go version from $gomod"
  local h=helm.sh/helm/v3
  go_install_cached helm "$HELM_VERSION+k8s1.$minor" "$h/cmd/helm" \
    "-X $h/internal/version.version=$HELM_VERSION -X $h/internal/version.gitTreeState=clean \
-X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$minor \
-X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$minor"
}

# helm-unittest has no prebuilt download here: build its binary and lay out
# the plugin directory the way 'helm plugin install' would.
install_helm_unittest() {
  go_build_module_cached helm-unittest "$HELM_UNITTEST_VERSION" github.com/helm-unittest/helm-unittest cmd/helm-unittest
  local pdir="$HELM_PLUGINS/unittest"
  mkdir -p "$pdir"
  ln -sfn "$GITSPACE_CACHE/tools/helm-unittest-$HELM_UNITTEST_VERSION/helm-unittest" "$pdir/untt"
  cat > "$pdir/plugin.yaml" <<YAML
name: "unittest"
version: "${HELM_UNITTEST_VERSION#v}"
usage: "unittest for helm charts"
description: "helm-unittest built from the Go module proxy by gitspace-chart setup"
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
YAML
}

install_ct() {
  go_build_module_cached ct "$CT_VERSION" github.com/helm/chart-testing/v3 ct
  # ct looks for its chart_schema.yaml/lintconf.yaml next to the config.
  mkdir -p "$GITSPACE_CACHE/ct"
}

# buildx: `gitspace-chart build` runs the engine's BuildKit through it, as the
# standalone binary (the generator finds it in the cache; no docker CLI plugin needed).
install_buildx() {
  go_install_cached buildx "$BUILDX_VERSION" github.com/docker/buildx/cmd/buildx
}

# npm ci when package-lock.json's content changed since the last one (a stamp
# of its hash; an mtime test re-ran it in every fresh checkout). A symlinked
# node_modules (a git worktree sharing another tree's) is left alone: npm ci
# through it emptied the other tree's node_modules.
install_node_modules() {
  local want stamp="$root/node_modules/.gitspace-lock.sha256"
  want=$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)
  if [[ -L "$root/node_modules" ]]; then
    [[ -d "$root/node_modules/.bin" ]] || die "node_modules is a symlink to an empty tree: rm node_modules && npm ci"
    return 0
  fi
  if [[ ! -d "$root/node_modules/.bin" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    step "npm ci"
    (cd "$root" && npm ci --no-audit --no-fund)
    printf '%s\n' "$want" >"$stamp"
  fi
}

main() {
  [[ $(id -u) -eq 0 ]] || die "setup installs Debian packages and must run as root"
  install_apt
  command -v go >/dev/null || die "Go is required (expected at /usr/local/go/bin/go)"
  install_helm
  install_helm_unittest
  install_ct
  install_buildx
  install_node_modules
  log_info "tools ready: $(helm version --short), ct $CT_VERSION, helm-unittest $HELM_UNITTEST_VERSION"
}

main "$@"
