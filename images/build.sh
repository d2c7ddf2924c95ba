#!/usr/bin/env bash
# images/build.sh [all|base|gitspace|test-images|entrypoint|devbase|builder]
#
# Builds the reference gitspace image and the small test images with NO
# container registry: the base is a `debootstrap --variant=minbase` rootfs
# imported into Docker; everything else comes from Debian packages and the
# npm registry. Node 20 (code-server 4.100.3 needs it; bookworm ships 18) is
# copied from the build host's Node install into the build context.
#
# Caching, so a second run takes seconds:
#   - the rootfs tarball:  $GITSPACE_CACHE/images/debian-<suite>-minbase-<hash>.tar
#   - each built image carries the label org.gitspace-chart.inputs=<hash of its
#     inputs>; when the image in dockerd has the same label it is not rebuilt.
#
# Environment:
#   GITSPACE_BASE_IMAGE   use this image as BASE instead of the debootstrap one
#                         (e.g. debian:bookworm on a machine with a registry)
#   GITSPACE_NODE_PREFIX  Node 20 install to copy (default: prefix of `node` on
#                         PATH; needs bin/node, include/node, lib/node_modules/npm)
#   GITSPACE_DEBIAN_MIRROR  default http://deb.debian.org/debian
#   GITSPACE_NO_CACHE=1   rebuild every image from scratch (docker build
#                         --no-cache; the rootfs tarball is still reused)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

SUITE=bookworm
MIRROR="${GITSPACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CODE_SERVER_VERSION=4.100.3
# Image tag = chart appVersion; never `latest`, so a chart pins what it tested.
IMAGE_TAG=0.1.0
if [[ -f "$ROOT/charts/gitspace/Chart.yaml" ]]; then
  v=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$ROOT/charts/gitspace/Chart.yaml")
  [[ -n "$v" ]] && IMAGE_TAG=$v
fi
IMAGE_GITSPACE="gitspace-chart/gitspace:$IMAGE_TAG"
IMAGE_RUNTIME="gitspace-chart/gitspace-runtime:$IMAGE_TAG"
IMAGE_TEST_DEBIAN="gitspace-chart/test-debian:$IMAGE_TAG"
IMAGE_TEST_BUSYBOX="gitspace-chart/test-busybox:$IMAGE_TAG"
IMAGE_TEST_UID1000="gitspace-chart/test-uid1000:$IMAGE_TAG"
IMAGE_TEST_ENTRYPOINT="gitspace-chart/test-entrypoint:$IMAGE_TAG"
IMAGE_TEST_DEVBASE="gitspace-chart/test-devbase:$IMAGE_TAG"
IMAGE_TEST_LANG="gitspace-chart/test-lang:$IMAGE_TAG"
IMAGE_BUILDER="gitspace-chart/builder:$IMAGE_TAG"
INPUTS_LABEL=org.gitspace-chart.inputs
IMG_CACHE="$GITSPACE_CACHE/images"

# _hash_inputs STRING... : a short stable hash of strings and, for arguments
# naming existing files or directories, their contents.
_hash_inputs() {
  local a
  for a in "$@"; do
    if [[ -d "$a" ]]; then
      (cd "$a" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    elif [[ -f "$a" ]]; then
      sha256sum <"$a"
    else
      printf '%s\n' "$a"
    fi
  done | sha256sum | cut -c1-12
}

# _image_has_inputs IMAGE HASH: true when dockerd already has IMAGE built
# from exactly these inputs.
_image_has_inputs() {
  [[ "${GITSPACE_NO_CACHE:-}" != 1 ]] || return 1
  local got
  got=$(docker image inspect -f "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$1" 2>/dev/null) || return 1
  [[ "$got" == "$2" ]]
}

# _docker_build IMAGE HASH CONTEXT [docker build args...]: build (legacy
# builder: the engine here is 20.10 without buildx) and label with HASH.
_docker_build() {
  local image=$1 hash=$2 ctx=$3
  shift 3
  local log="$IMG_CACHE/build-${image//[\/:]/_}.log"
  # The cache folder may not exist yet (a base image from GITSPACE_BASE_IMAGE, or one dockerd kept).
  mkdir -p "$IMG_CACHE"
  log_info "docker build $image (log: $log)"
  local nocache=()
  [[ "${GITSPACE_NO_CACHE:-}" != 1 ]] || nocache=(--no-cache)
  if ! DOCKER_BUILDKIT=0 docker build "${nocache[@]}" --label "$INPUTS_LABEL=$hash" -t "$image" "$@" "$ctx" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "docker build of $image failed (full log: $log)"
  fi
}

# ensure_base: the Debian base image from a debootstrap rootfs (cached
# tarball), or GITSPACE_BASE_IMAGE when given. Sets BASE_IMAGE and BASE_HASH.
ensure_base() {
  if [[ -n "${GITSPACE_BASE_IMAGE:-}" ]]; then
    BASE_IMAGE=$GITSPACE_BASE_IMAGE
    BASE_HASH=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null | cut -c8-19) ||
      die "GITSPACE_BASE_IMAGE=$BASE_IMAGE is not in dockerd (pull or build it first)"
    return 0
  fi
  local recipe_version=2
  BASE_HASH=$(_hash_inputs "$SUITE" minbase "$MIRROR" "$(debootstrap --version)" "$recipe_version")
  BASE_IMAGE="gitspace-chart/debian:$SUITE-$BASE_HASH"
  step "base image $BASE_IMAGE"
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log_info "already in dockerd"
    return 0
  fi
  mkdir -p "$IMG_CACHE"
  local tarball="$IMG_CACHE/debian-$SUITE-minbase-$BASE_HASH.tar"
  if [[ ! -s "$tarball" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install debootstrap"
    local dir="$IMG_CACHE/rootfs-$BASE_HASH.tmp"
    rm -rf "$dir"
    log_info "debootstrap --variant=minbase $SUITE (about a minute; log: $IMG_CACHE/debootstrap.log)"
    if ! debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$IMG_CACHE/debootstrap.log" 2>&1; then
      tail -n 30 "$IMG_CACHE/debootstrap.log" >&2
      die "debootstrap failed (log: $IMG_CACHE/debootstrap.log)"
    fi
    # What the official debian image does: updates and security in sources,
    # no package cache kept in layers.
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$dir/etc/apt/apt.conf.d/90gitspace-norecommends"
    printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };\n' >"$dir/etc/apt/apt.conf.d/docker-clean"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/tmp/* 2>/dev/null || true
    : >"$dir/etc/hostname"
    tar -C "$dir" --numeric-owner -cf "$tarball.tmp" . || die "tar of the rootfs failed"
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  log_info "docker import $tarball"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$tarball" "$BASE_IMAGE" >/dev/null || die "docker import failed"
}

# _node_prefix: the Node install copied into the image (bin/node,
# include/node for node-gyp without internet, lib/node_modules/npm).
_node_prefix() {
  local prefix="${GITSPACE_NODE_PREFIX:-}"
  if [[ -z "$prefix" ]]; then
    local node
    node=$(command -v node) || die "node not found: install Node 20 (or set GITSPACE_NODE_PREFIX)"
    prefix=$(dirname "$(dirname "$(readlink -f "$node")")")
  fi
  [[ -x "$prefix/bin/node" ]] || die "no $prefix/bin/node"
  [[ "$("$prefix/bin/node" -p 'process.versions.node.split(".")[0]')" == 20 ]] ||
    die "code-server $CODE_SERVER_VERSION needs Node 20; $prefix/bin/node is $("$prefix/bin/node" -v)"
  [[ -f "$prefix/include/node/node.h" ]] || die "no Node headers in $prefix/include/node (node-gyp needs them offline)"
  [[ -f "$prefix/lib/node_modules/npm/bin/npm-cli.js" ]] || die "no npm in $prefix/lib/node_modules/npm"
  printf '%s\n' "$prefix"
}

# build_gitspace: gitspace-chart/gitspace (and its runtime stage, which the
# uid-1000 test image builds on).
build_gitspace() {
  [[ -z "${GITSPACE_BUILT_GITSPACE:-}" ]] || return 0 # once per run
  ensure_base
  local node_prefix node_version hash
  node_prefix=$(_node_prefix)
  node_version=$("$node_prefix/bin/node" -v)
  hash=$(_hash_inputs "$BASE_IMAGE" "$BASE_HASH" "$node_version" "$CODE_SERVER_VERSION" \
    "$ROOT/images/gitspace" "$ROOT/charts/gitspace/files/scripts")
  step "image $IMAGE_GITSPACE (inputs $hash)"
  if _image_has_inputs "$IMAGE_GITSPACE" "$hash" && _image_has_inputs "$IMAGE_RUNTIME" "$hash"; then
    log_info "up to date"
    GITSPACE_BUILT_GITSPACE=1
    return 0
  fi
  local ctx
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/gitspace-image-ctx.XXXXXX")
  # shellcheck disable=SC2064 # expand now: ctx is local
  trap "rm -rf '$ctx'" RETURN
  cp -a "$ROOT/images/gitspace/." "$ctx/"
  mkdir -p "$ctx/scripts" "$ctx/node/bin" "$ctx/node/include" "$ctx/node/lib/node_modules"
  cp -a "$ROOT/charts/gitspace/files/scripts/." "$ctx/scripts/"
  cp "$node_prefix/bin/node" "$ctx/node/bin/node"
  cp -a "$node_prefix/include/node" "$ctx/node/include/"
  cp -a "$node_prefix/lib/node_modules/npm" "$ctx/node/lib/node_modules/"
  # The host's CA bundle for npm in the builder stage (a TLS-inspecting proxy
  # the host trusts); empty when the host has none.
  if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/build-ca.crt"
  else
    : >"$ctx/build-ca.crt"
  fi
  log_info "context ready: node $node_version from $node_prefix; code-server $CODE_SERVER_VERSION from npm (a cold build takes minutes; dockerd's layer cache makes a rebuild quick)"
  local args=(--build-arg "BASE=$BASE_IMAGE" --build-arg "CODE_SERVER_VERSION=$CODE_SERVER_VERSION")
  _docker_build "$IMAGE_RUNTIME" "$hash" "$ctx" --target runtime "${args[@]}"
  # With the cache: the legacy builder rebuilds every earlier stage, and those
  # layers were just built (from scratch when GITSPACE_NO_CACHE=1).
  GITSPACE_NO_CACHE='' _docker_build "$IMAGE_GITSPACE" "$hash" "$ctx" "${args[@]}"
  GITSPACE_BUILT_GITSPACE=1
  log_info "built $IMAGE_GITSPACE ($(docker image inspect -f '{{.Size}}' "$IMAGE_GITSPACE" | awk '{printf "%d MB", $1/1e6}'))"
}

# build_test_images: plain Debian (no vscode user), the busybox user-tools
# path, uid 1000 taken by `ubuntu` (as in Ubuntu 24.04 images), and the
# gitspace image with an ENTRYPOINT.
build_test_images() {
  ensure_base
  local ctx hash
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/gitspace-test-ctx.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" RETURN
  cp -a "$ROOT/images/test/." "$ctx/"
  mkdir -p "$ctx/scripts"
  cp -a "$ROOT/charts/gitspace/files/scripts/." "$ctx/scripts/"
  hash=$(_hash_inputs "$BASE_IMAGE" "$BASE_HASH" "$ROOT/images/test" "$ROOT/charts/gitspace/files/scripts")
  local pair image target first_nocache=${GITSPACE_NO_CACHE:-}
  # busybox first: building it builds every stage before it, so debian then
  # reuses those layers (from scratch once when GITSPACE_NO_CACHE=1).
  for pair in "busybox:$IMAGE_TEST_BUSYBOX" "debian:$IMAGE_TEST_DEBIAN"; do
    target=${pair%%:*} image=${pair#*:}
    step "image $image (inputs $hash)"
    if _image_has_inputs "$image" "$hash"; then log_info "up to date"; continue; fi
    GITSPACE_NO_CACHE=$first_nocache _docker_build "$image" "$hash" "$ctx" --target "$target" --build-arg "BASE=$BASE_IMAGE"
    first_nocache=''
  done
  # The uid-1000 image builds on the runtime stage (code-server, sshd) so the
  # parity suite can run a whole gitspace in it.
  build_gitspace
  local rhash
  rhash=$(_hash_inputs "$hash" "$(docker image inspect -f '{{.Id}}' "$IMAGE_RUNTIME")")
  step "image $IMAGE_TEST_UID1000 (inputs $rhash)"
  if _image_has_inputs "$IMAGE_TEST_UID1000" "$rhash"; then
    log_info "up to date"
  else
    GITSPACE_NO_CACHE='' _docker_build "$IMAGE_TEST_UID1000" "$rhash" "$ctx" --target uid1000 --build-arg "BASE=$BASE_IMAGE" --build-arg "RUNTIME=$IMAGE_RUNTIME"
  fi
  build_entrypoint_image
  build_devbase_images
}

# build_entrypoint_image: the gitspace image (as dockerd has it) with an
# ENTRYPOINT (images/entrypoint; the parity suite's "image ENTRYPOINT" row).
build_entrypoint_image() {
  docker image inspect "$IMAGE_GITSPACE" >/dev/null 2>&1 || die "$IMAGE_GITSPACE is not built yet: images/build.sh gitspace"
  local hash
  hash=$(_hash_inputs "$ROOT/images/entrypoint" "$(docker image inspect -f '{{.Id}}' "$IMAGE_GITSPACE")")
  step "image $IMAGE_TEST_ENTRYPOINT (inputs $hash)"
  if _image_has_inputs "$IMAGE_TEST_ENTRYPOINT" "$hash"; then log_info "up to date"; return 0; fi
  GITSPACE_NO_CACHE='' _docker_build "$IMAGE_TEST_ENTRYPOINT" "$hash" "$ROOT/images/entrypoint" --build-arg "GITSPACE=$IMAGE_GITSPACE"
}

# build_devbase_images: images like users' (images/devbase): a devcontainers-
# base-like image (sudo, zsh, a rich metadata label) and a language image on it
# (group-writable setgid tool directories outside HOME).
build_devbase_images() {
  docker image inspect "$IMAGE_RUNTIME" >/dev/null 2>&1 || die "$IMAGE_RUNTIME is not built yet: images/build.sh gitspace"
  local hash pair target image
  hash=$(_hash_inputs "$ROOT/images/devbase" "$(docker image inspect -f '{{.Id}}' "$IMAGE_RUNTIME")")
  for pair in "devbase:$IMAGE_TEST_DEVBASE" "lang:$IMAGE_TEST_LANG"; do
    target=${pair%%:*} image=${pair#*:}
    step "image $image (inputs $hash)"
    if _image_has_inputs "$image" "$hash"; then log_info "up to date"; continue; fi
    GITSPACE_NO_CACHE='' _docker_build "$image" "$hash" "$ROOT/images/devbase" --target "$target" --build-arg "RUNTIME=$IMAGE_RUNTIME"
  done
}

# build_builder_image: gitspace-chart/builder, the in-cluster features builder (images/builder:
# rootless buildah from Debian). Only the features stage and users of charts/gitspace-features need it.
build_builder_image() {
  ensure_base
  local hash
  hash=$(_hash_inputs "$BASE_IMAGE" "$BASE_HASH" "$ROOT/images/builder")
  step "image $IMAGE_BUILDER (inputs $hash)"
  if _image_has_inputs "$IMAGE_BUILDER" "$hash"; then log_info "up to date"; return 0; fi
  _docker_build "$IMAGE_BUILDER" "$hash" "$ROOT/images/builder" --build-arg "BASE=$BASE_IMAGE"
}

main() {
  local what="${1:-all}"
  docker_up
  local t0=$SECONDS
  case "$what" in
    base) ensure_base ;;
    gitspace) build_gitspace ;;
    test-images) build_test_images ;;
    entrypoint) build_entrypoint_image ;;
    devbase) build_devbase_images ;;
    builder) build_builder_image ;;
    all) build_gitspace && build_test_images ;;
    *) die "usage: images/build.sh [all|base|gitspace|test-images|entrypoint|devbase|builder]" ;;
  esac
  log_info "images/build.sh $what done in $((SECONDS - t0))s"
}

main "$@"
