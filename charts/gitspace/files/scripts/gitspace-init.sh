#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# gitspace-init.sh SUBCOMMAND
#   prepare                  root, Kubernetes init container: migrate, create
#                            the user, seed HOME into the volume at
#                            $GITSPACE_VOLUME, fix ownership, write the layout
#                            marker, export passwd/group to $GITSPACE_ETC_OUT.
#   prepare-beside           the same work in a regular container beside the
#                            gitspace container (passwd/group rendered by the
#                            generator): writes $GITSPACE_PREPARE_SYNC/done
#                            (or failed), then idles until start.sh asks again.
#   user-setup               as the user: clone, git identity, safe.directory,
#                            devcontainer.json, remote-user check.
#   docker-manage-user [K=V...]  root, Docker side (volume already at HOME and
#                            seeded by Docker): create the user, HOME owner and
#                            mode, `export K=V` lines in /etc/profile.
# Environment: see docs/architecture.md (contract) and docs/scripts.md.
set -euo pipefail
_gs_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$_gs_dir/lib.sh"
# shellcheck source=create-user-dynamic.sh
source "$_gs_dir/create-user-dynamic.sh"
# shellcheck source=seed-home.sh
source "$_gs_dir/seed-home.sh"
# shellcheck source=clone-repository.sh
source "$_gs_dir/clone-repository.sh"
# shellcheck source=detect-devcontainer-user.sh
source "$_gs_dir/detect-devcontainer-user.sh"
# shellcheck source=volume-space.sh
source "$_gs_dir/volume-space.sh"
# shellcheck source=persist-paths.sh
source "$_gs_dir/persist-paths.sh"
# shellcheck source=refresh.sh
source "$_gs_dir/refresh.sh"

# require_env NAME...: each must be set and non-empty.
require_env() {
  local v
  for v in "$@"; do
    [ -n "${!v:-}" ] || die "environment variable $v is required (see docs/architecture.md)"
  done
}

# user_env_validate: the resolved user from the environment.
user_env_validate() {
  require_env GITSPACE_USER GITSPACE_UID GITSPACE_GID HOME
  validate_user_name "$GITSPACE_USER" GITSPACE_USER
  validate_id "$GITSPACE_UID" GITSPACE_UID
  # shellcheck disable=SC2153 # set by the chart / the Docker-side runtime
  validate_id "$GITSPACE_GID" GITSPACE_GID
  validate_abs_path "$HOME" HOME
}

# fix_ownership DIR UID GID: make everything under DIR owned by UID:GID, but
# only what is wrong, and only when the volume's recorded owner differs from
# UID:GID (first start, or the uid changed): a restart with the same user
# costs one stat, not a walk of HOME. lost+found stays root's, and the
# persisted paths (.gitspace/persist) keep the image's owners, as on Docker.
fix_ownership() {
  local dir=$1 uid=$2 gid=$3 marker
  marker="$(gitspace_state_dir "$dir")/owner"
  if [ "$(cat "$marker" 2>/dev/null || true)" = "$uid:$gid" ] &&
    [ "$(stat -c '%u:%g' "$dir")" = "$uid:$gid" ]; then
    log_info "ownership already $uid:$gid (recorded in .gitspace/owner): no walk"
    return 0
  fi
  local n
  n=$(find "$dir" -xdev \( -path "$dir/lost+found" -o -path "$dir/.gitspace/persist" \) -prune -o \( \! -user "$uid" -o \! -group "$gid" \) -print | wc -l)
  if [ "$n" -gt 0 ]; then
    log_info "re-owning $n entries under $(q "$dir") to $uid:$gid (only those not already $uid:$gid)"
    find "$dir" -xdev \( -path "$dir/lost+found" -o -path "$dir/.gitspace/persist" \) -prune -o \( \! -user "$uid" -o \! -group "$gid" \) -exec chown -h "$uid:$gid" {} + ||
      die "chown under $(q "$dir") failed"
  fi
  mkdir -p "$(dirname "$marker")"
  chown "$uid:$gid" "$(dirname "$marker")"
  printf '%s:%s\n' "$uid" "$gid" | write_file_atomic "$marker" 0644
  chown "$uid:$gid" "$marker"
}

# volume_root_mode DIR FSGROUP_BITS: after a chown (which may drop setgid),
# give back the fsGroup bits kubelet checks, so OnRootMismatch stays a no-op.
volume_root_mode() {
  local dir=$1 bits=$2 mode
  [ "$bits" != 0 ] || return 0
  mode=$(stat -c '%a' "$dir")
  if (((8#$mode & 8#$bits) != 8#$bits)); then
    chmod "$(printf '%o' $((8#$mode | 8#$bits)))" "$dir"
    log_info "volume root mode $mode -> $(stat -c '%a' "$dir") (fsGroup: setgid + group rwx)"
  fi
}

# write_layout DIR UID GID: the on-disk layout version (read by migrations).
write_layout() {
  local dir=$1 state
  state=$(gitspace_state_dir "$dir")
  mkdir -p "$state"
  if [ "$(cat "$state/layout" 2>/dev/null || true)" != "home $LAYOUT_VERSION" ]; then
    printf 'home %s\n' "$LAYOUT_VERSION" | write_file_atomic "$state/layout" 0644
  fi
  # Only what is not theirs yet: a chown is a write, and a read-only volume refuses it.
  if [ "$(id -u)" = 0 ]; then
    local f
    for f in "$state" "$state/layout"; do
      [ "$(stat -c '%u:%g' "$f")" = "$2:$3" ] || chown "$2:$3" "$f"
    done
  fi
}

# export_etc OUT: passwd and group for the main container (mounted over its
# own /etc files: a user made here does not exist in the other containers).
export_etc() {
  local out=$1 f
  mkdir -p "$out"
  for f in passwd group; do
    cmp -s "/etc/$f" "$out/$f" || write_file_atomic "$out/$f" 0644 <"/etc/$f"
  done
  log_info "exported /etc/passwd and /etc/group to $(q "$out")"
}

# cmd_prepare: the Kubernetes `prepare` init container (see the header).
cmd_prepare() {
  user_env_validate
  require_env GITSPACE_VOLUME
  validate_abs_path "$GITSPACE_VOLUME" GITSPACE_VOLUME
  [ -d "$GITSPACE_VOLUME" ] || die "GITSPACE_VOLUME=$(q "$GITSPACE_VOLUME") is not mounted"
  local vol=$GITSPACE_VOLUME fsg
  # Before anything writes: does kubelet manage the volume's group?
  fsg=$(fsgroup_bits "$vol")
  if [ -x "$_gs_dir/migrate-to-home.sh" ]; then
    "$_gs_dir/migrate-to-home.sh"
  fi
  local root=false
  [ "$(id -u)" = 0 ] && root=true
  if $root; then
    create_or_update_user "$GITSPACE_USER" "$GITSPACE_UID" "$GITSPACE_GID" "$HOME"
  else
    # security.mode restricted: no root, the image must have the user.
    [ "$(id -u)" = "$GITSPACE_UID" ] || die "prepare runs as root, or as the gitspace user $GITSPACE_UID (restricted mode); running as uid $(id -u)"
    log_info "not root: the image's passwd is used as it is"
  fi
  if [ "${GITSPACE_LAYOUT:-home}" = legacy ]; then
    log_info "GITSPACE_LAYOUT=legacy: the volume is /workspaces; HOME is not seeded"
  elif [ "${GITSPACE_SEED_HOME:-true}" = true ]; then
    seed_home "$HOME" "$vol" "$GITSPACE_UID" "$GITSPACE_GID"
  else
    log_info "GITSPACE_SEED_HOME=false: not seeding (Docker volume-nocopy)"
  fi
  # persistence.paths: from the image into the volume's .gitspace/persist, once per path.
  defer_if_full "persisted paths" "$vol" persist_seed_env "$vol" "$GITSPACE_UID" "$GITSPACE_GID"
  # Another image than the volume last ran: refresh what the image put there (refresh.sh); else one read.
  defer_if_full "image refresh" "$vol" refresh_run "$vol" "$GITSPACE_UID" "$GITSPACE_GID"
  if $root; then
    # On a full volume only the marker can fail: the next start walks again.
    defer_if_full "fix ownership" "$vol" fix_ownership "$vol" "$GITSPACE_UID" "$GITSPACE_GID"
    volume_root_mode "$vol" "$fsg"
  fi
  if [ "${GITSPACE_LAYOUT:-home}" != legacy ]; then
    # A marker of a layout the volume already has (a start after the migration or the seeding);
    # on a full or read-only volume it waits for the next start.
    defer_if_full "layout marker" "$vol" write_layout "$vol" "$GITSPACE_UID" "$GITSPACE_GID"
  fi
  # After every step that may wait for space (so they met the full volume as it is): the
  # persisted paths' mount points, which the kubelet cannot make on a full volume, then the reserve.
  if [ "${GITSPACE_LAYOUT:-home}" != legacy ]; then
    persist_mount_points_env "$vol"
    persist_reserve "$vol" "$GITSPACE_UID" "$GITSPACE_GID"
  fi
  if [ -n "${GITSPACE_ETC_OUT:-}" ]; then
    export_etc "$GITSPACE_ETC_OUT"
  fi
  log_info "prepare done"
}

# cmd_prepare_beside: `prepare` as a regular container started after
# `gitspace` (docs/start-path.md): no init container on the start path.
# start.sh waits for $GITSPACE_PREPARE_SYNC/done only when a marker of
# prepare's work is missing or stale on the volume. After its run it idles in
# a blocked read of the rerun FIFO (no CPU, no restart by the kubelet), so an
# in-place restart of the gitspace container that finds a marker gone (a wiped
# ~/.gitspace) can ask for another run. TERM (pod stop) ends it at once.
cmd_prepare_beside() {
  require_env GITSPACE_PREPARE_SYNC
  local sync=$GITSPACE_PREPARE_SYNC rc
  validate_abs_path "$sync" GITSPACE_PREPARE_SYNC
  trap 'exit 0' TERM INT
  [ -p "$sync/rerun" ] || mkfifo "$sync/rerun"
  # The gitspace container (the user) writes the request and removes the result files.
  chmod 0666 "$sync/rerun"
  while :; do
    rm -f "$sync/done" "$sync/failed"
    # Its own process: `set -e` holds in it (a function under `||` would run with errexit off).
    rc=0
    "$_gs_dir/gitspace-init.sh" prepare || rc=$?
    if [ "$rc" = 0 ]; then
      printf 'prepare done at %s\n' "$(_gs_ts)" | write_file_atomic "$sync/done" 0644
    else
      printf 'prepare failed (exit %s) at %s\n' "$rc" "$(_gs_ts)" | write_file_atomic "$sync/failed" 0644
      log_error "prepare failed (exit $rc): the gitspace container waits for it only when a marker on the volume is missing; the next pod start runs it again"
    fi
    # Idle until asked again: a read blocked on a FIFO costs nothing; `wait` lets TERM in.
    (read -r _ <"$sync/rerun") &
    wait $! || true
    log_info "the gitspace container asked for another prepare run (a marker on the volume was missing)"
  done
}

# user_fields_text REMOTE CONTAINER: the two fields for a message.
user_fields_text() {
  local r='not set' c='not set'
  [ -z "$1" ] || r=$(q "$1")
  [ -z "$2" ] || c=$(q "$2")
  printf 'remoteUser %s, containerUser %s' "$r" "$c"
}

# check_devcontainer_user REPO_DIR: the pod's uid is fixed at install, from
# the user `gitspace-chart values` resolved (GITSPACE_EXPECT_REMOTE_USER). The
# repo's devcontainer.json must still have the remoteUser and containerUser it
# was resolved from (GITSPACE_DEVCONTAINER_REMOTE_USER / _CONTAINER_USER;
# empty: not set). Only a comparison: what they resolve to also depends on the
# image's metadata label and passwd, which only the generator reads. Any change
# of the two is refused, even one that would resolve to the same user.
check_devcontainer_user() {
  local repo=$1 file fields key val remote='' container=''
  file=$(devcontainer_json_path "$repo")
  if [ "${GITSPACE_CHECK_DEVCONTAINER_USER:-false}" != true ]; then
    log_info "values not written by gitspace-chart values (user.devcontainerJson.check false): $(q "$file") is not compared; the gitspace runs as user.remoteUser $(q "${GITSPACE_EXPECT_REMOTE_USER:-}")"
    return 0
  fi
  if [ ! -f "$file" ]; then
    log_info "no $(q "$file"): nothing to compare"
    return 0
  fi
  fields=$(devcontainer_user_fields "$repo")
  while IFS=$'\t' read -r key val; do
    case "$key" in
      remoteUser) remote=$val ;;
      containerUser) container=$val ;;
    esac
  done <<<"$fields"
  if [ "$remote" = "${GITSPACE_DEVCONTAINER_REMOTE_USER:-}" ] && [ "$container" = "${GITSPACE_DEVCONTAINER_CONTAINER_USER:-}" ]; then
    log_info "$(q "$file"): $(user_fields_text "$remote" "$container"), as rendered (remote user $(q "${GITSPACE_EXPECT_REMOTE_USER:-}"))"
    return 0
  fi
  die "$(q "$file") has $(user_fields_text "$remote" "$container"), but this gitspace was rendered from $(user_fields_text "${GITSPACE_DEVCONTAINER_REMOTE_USER:-}" "${GITSPACE_DEVCONTAINER_CONTAINER_USER:-}") (remote user $(q "${GITSPACE_EXPECT_REMOTE_USER:-}")): re-render the values with 'gitspace-chart values' (it reads devcontainer.json) and 'helm upgrade' the release"
}

# git_identity_step: git.userName/userEmail written only when the user has none,
# except once per reset generation other than 0 (.gitspace/git-identity
# records the last one): Docker's reset creates a new container whose clone
# step writes the identity unconditionally, over the user's own.
git_identity_step() {
  local gen done_gen=0 file
  gen=$(reset_generation)
  file="$(gitspace_state_dir "$HOME")/git-identity"
  [ ! -f "$file" ] || done_gen=$(marker_generation "$file")
  if [ "$gen" = 0 ] || [ "$gen" = "$done_gen" ]; then
    set_git_identity "${GIT_USER_NAME:-}" "${GIT_USER_EMAIL:-}"
    return 0
  fi
  log_info "reset (generation $done_gen -> $gen): git identity from values written again, as Docker's reset does"
  set_git_identity "${GIT_USER_NAME:-}" "${GIT_USER_EMAIL:-}" force
  printf 'reset generation %s\n' "$gen" | write_file_atomic "$file" 0644
}

# cmd_user_setup: the `clone` init container, and Docker's clone step.
cmd_user_setup() {
  require_env HOME
  validate_abs_path "$HOME" HOME
  if [ -n "${GITSPACE_UID:-}" ] && [ "$(id -u)" != "$GITSPACE_UID" ]; then
    die "user-setup must run as the gitspace user (uid $GITSPACE_UID), not uid $(id -u)"
  fi
  cd "$HOME"
  mkdir -p "$(gitspace_state_dir "$HOME")"
  # A full HOME must not keep the gitspace from starting: these steps are
  # left for the next start (volume-space.sh, defer_if_full).
  local deferred=''
  defer_if_full "git identity" "$HOME" git_identity_step
  deferred+=$GS_DEFERRED
  if [ -z "${REPO_URL:-}" ]; then
    log_info "REPO_URL is empty: nothing to clone"
    return 0
  fi
  local name
  repo_name_v name
  defer_if_full "clone" "$HOME" clone_repository "$REPO_URL" "$name" "${REPO_BRANCH:-}"
  if [ -n "$GS_DEFERRED" ]; then
    log_warn "user-setup: the IDE starts without the repository; the next start with free space clones it"
    return 0
  fi
  defer_if_full "git safe.directory" "$HOME" ensure_safe_directory "$HOME/$name"
  deferred+=$GS_DEFERRED
  check_devcontainer_user "$HOME/$name"
  defer_if_full "devcontainer.json" "$HOME" ensure_devcontainer_json "$HOME/$name" "${GITSPACE_IMAGE:-}"
  deferred+=$GS_DEFERRED
  [ -n "$deferred" ] || [ "${GITSPACE_CLONE_STAMP:-false}" != true ] || clone_step_stamp
  log_info "user-setup done"
}

# clone_step_stamp: the stamp start.sh reads (clone_step_state), written when
# every step of this run did its work. Best effort: without it the next start
# runs the step again.
clone_step_stamp() {
  local st
  clone_step_state st "$HOME"
  printf '%s\n' "$st" | write_file_atomic "$(gitspace_state_dir "$HOME")/clone-step" 0644 2>/dev/null ||
    rm -f "$(gitspace_state_dir "$HOME")/clone-step"
}

# write_profile_env K=V...: Docker Gitspace appends `export K=V` to
# /etc/profile for containerEnv; we keep them in one marked block, replaced
# as a whole, so a re-run does not append duplicates. Values single-quoted
# (' as '\''), as the chart's profile.d file: every POSIX sh reads that, a
# newline included; printf %q's $'...' is bash-only (dash read it wrong).
write_profile_env() {
  local profile=${GITSPACE_PROFILE:-/etc/profile} kv k v sq block tmp
  block=$'# >>> gitspace containerEnv >>>\n'
  for kv in "$@"; do
    k=${kv%%=*}
    v=${kv#*=}
    [[ "$kv" == *=* && "$k" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
      die "containerEnv: $(q "$kv") is not NAME=VALUE with a valid variable name"
    sq=${v//\'/\'\\\'\'}
    block+="export $k='$sq'"$'\n'
  done
  block+=$'# <<< gitspace containerEnv <<<\n'
  tmp=$(mktemp)
  awk '/^# >>> gitspace containerEnv >>>$/ { skip = 1 } !skip { print } /^# <<< gitspace containerEnv <<<$/ { skip = 0 }' \
    "$profile" >"$tmp" 2>/dev/null || true
  if [ $# -gt 0 ]; then printf '%s' "$block" >>"$tmp"; fi
  if cmp -s "$tmp" "$profile"; then
    rm -f "$tmp"
    return 0
  fi
  cat "$tmp" >"$profile"
  rm -f "$tmp"
  log_info "/etc/profile: containerEnv block has $# variables"
}

# cmd_docker_manage_user K=V...: Docker Gitspace's "manage user" step, run as
# root by `docker exec` after the container started with the volume at HOME.
cmd_docker_manage_user() {
  user_env_validate
  [ "$(id -u)" = 0 ] || die "docker-manage-user must run as root"
  create_or_update_user "$GITSPACE_USER" "$GITSPACE_UID" "$GITSPACE_GID" "$HOME"
  mkdir -p "$HOME"
  fix_ownership "$HOME" "$GITSPACE_UID" "$GITSPACE_GID"
  # Docker Gitspace: chmod 755 HOME.
  [ "$(stat -c '%a' "$HOME")" = 755 ] || chmod 0755 "$HOME"
  write_layout "$HOME" "$GITSPACE_UID" "$GITSPACE_GID"
  write_profile_env "$@"
  log_info "docker-manage-user done"
}

main() {
  local cmd=${1:-}
  [ $# -eq 0 ] || shift
  case "$cmd" in
    prepare) cmd_prepare ;;
    prepare-beside) cmd_prepare_beside ;;
    user-setup) cmd_user_setup ;;
    docker-manage-user) cmd_docker_manage_user "$@" ;;
    *) die "usage: gitspace-init.sh prepare|prepare-beside|user-setup|docker-manage-user [K=V...]" ;;
  esac
}

if ! _is_sourced; then
  main "$@"
fi
