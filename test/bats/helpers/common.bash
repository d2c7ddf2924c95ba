# shellcheck shell=bash disable=SC2034
# (SC2034: the names below are used by the .bats files.)
# Shared helpers for the bats files: containers with the tree's scripts
# mounted where the chart mounts them, and cleanup of what each test made.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SCRIPTS_SRC="$REPO_ROOT/charts/gitspace/files/scripts"
SCRIPTS=/usr/local/gitspace/scripts
# Same tag rule as images/build.sh: the chart's appVersion, else 0.1.0.
IMAGE_TAG=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$REPO_ROOT/charts/gitspace/Chart.yaml" 2>/dev/null)
IMAGE_TAG=${IMAGE_TAG:-0.1.0}
IMG_GITSPACE="gitspace-chart/gitspace:$IMAGE_TAG"
IMG_DEBIAN="gitspace-chart/test-debian:$IMAGE_TAG"
IMG_BUSYBOX="gitspace-chart/test-busybox:$IMAGE_TAG"
IMG_UID1000="gitspace-chart/test-uid1000:$IMAGE_TAG"
TEST_LABEL=gitspace-chart.test=bats

# ctr_start IMAGE [docker run args...]: a long-lived container (Docker
# Gitspace's main process) with the scripts mounted read-only, as the chart's
# ConfigMap; prints its name. Removed by cleanup_all.
ctr_start() {
  local image=$1 name
  shift
  name="gs-bats-$(date +%s%N | tail -c 10)-$RANDOM"
  docker run -d --name "$name" --label "$TEST_LABEL" \
    -v "$SCRIPTS_SRC:$SCRIPTS:ro" "$@" "$image" \
    /bin/sh -c "trap 'exit 0' 15; sleep infinity & wait \$!" >/dev/null
  printf '%s\n' "$name" >>"$BATS_TEST_TMPDIR/.containers"
  printf '%s\n' "$name"
}

# vol_create: a new named Docker volume; prints its name.
vol_create() {
  local name
  name="gs-bats-vol-$(date +%s%N | tail -c 10)-$RANDOM"
  docker volume create --label "$TEST_LABEL" "$name" >/dev/null
  printf '%s\n' "$name" >>"$BATS_TEST_TMPDIR/.volumes"
  printf '%s\n' "$name"
}

# cleanup_all: remove this test's containers and volumes (by exact name).
cleanup_all() {
  if [ -f "$BATS_TEST_TMPDIR/.containers" ]; then
    xargs -r docker rm -f <"$BATS_TEST_TMPDIR/.containers" >/dev/null 2>&1 || true
  fi
  if [ -f "$BATS_TEST_TMPDIR/.volumes" ]; then
    xargs -r docker volume rm <"$BATS_TEST_TMPDIR/.volumes" >/dev/null 2>&1 || true
  fi
}

# xroot CTR CMD...: run as root in CTR.
xroot() { local c=$1; shift; docker exec -u 0 "$c" "$@"; }

# assert_contains HAYSTACK NEEDLE
assert_contains() {
  if [[ "$1" != *"$2"* ]]; then
    printf 'expected to find: %s\nin:\n%s\n' "$2" "$1" >&2
    return 1
  fi
}

# refute_contains HAYSTACK NEEDLE
refute_contains() {
  if [[ "$1" == *"$2"* ]]; then
    printf 'did not expect: %s\nin:\n%s\n' "$2" "$1" >&2
    return 1
  fi
}

# assert_eq GOT WANT [WHAT]
assert_eq() {
  if [ "$1" != "$2" ]; then
    printf '%s: got %q, want %q\n' "${3:-value}" "$1" "$2" >&2
    return 1
  fi
}

# etc_state CTR: passwd, group, shadow, gshadow of CTR (for idempotence checks).
etc_state() { xroot "$1" sh -c 'cat /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null; ls -l --time-style=+%s.%N /etc/passwd /etc/group'; }

# tree_state CTR DIR: every entry under DIR with owner, mode, size, mtime.
tree_state() { xroot "$1" find "$2" -printf '%P %u:%g %m %s %T@ %y\n' | LC_ALL=C sort; }
