#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# volume-space.sh check [DIR]
# A full (or read-only) volume never locks the user out of their gitspace
# (docs/chart.md, "When the volume is full"). Library of start.sh and the init
# steps; run as a program it prints the state of DIR (default HOME):
#   ok|full|readonly FREE_BYTES
#
# At start, start.sh calls volume_space_setup: when HOME cannot take the
# gitspace's own writes, everything start writes (IDE config, code-server user
# data, sshd config, logs, the banner) goes to the run dir instead
# ($GITSPACE_RUN_DIR: an emptyDir at /gitspace/run in the chart), the reason
# is one line in the container log, and login shells show the banner (the
# profile.d snippet profile.d/gitspace-volume.sh reads the flag file; with no
# flag file it costs one `test`).
#
# Environment: GITSPACE_RUN_DIR (default /tmp/gitspace-run-UID),
# GITSPACE_LOW_SPACE_BYTES (below this many free bytes HOME counts as full;
# default 16 MiB: what code-server, sshd and the logs need at a start).
set -euo pipefail
# shellcheck source=lib.sh
[ -n "${_GITSPACE_LIB_LOADED:-}" ] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # loaded already: no dirname fork

# gitspace_run_dir: where start writes what must not fail on a full volume.
gitspace_run_dir() { printf '%s\n' "${GITSPACE_RUN_DIR:-/tmp/gitspace-run-$(id -u)}"; }

# volume_banner_file: the flag file the profile.d snippet shows.
volume_banner_file() { printf '%s/volume-banner\n' "$(gitspace_run_dir)"; }

# volume_state DIR: sets VOLUME_STATE (ok, full, readonly) and VOLUME_FREE
# (bytes). full: fewer than GITSPACE_LOW_SPACE_BYTES free, or a write fails
# for space; readonly: a write fails for a read-only mount (or permissions).
volume_state() {
  local dir=$1 low err probe_dir
  low=$(low_space_bytes)
  VOLUME_FREE=$(free_bytes "$dir") || die "stat -f $(q "$dir") failed"
  VOLUME_STATE=ok
  if ((VOLUME_FREE < low)); then
    VOLUME_STATE=full
    return 0
  fi
  probe_dir=$dir
  [ ! -d "$dir/.gitspace" ] || probe_dir="$dir/.gitspace"
  if ! err=$(write_probe "$probe_dir" 2>&1); then
    case "$err" in
      *"No space"* | *"uota"*) VOLUME_STATE=full ;;
      *) VOLUME_STATE=readonly VOLUME_ERROR=$err ;;
    esac
  fi
}

# volume_banner_text STATE FREE: the one line the user sees.
volume_banner_text() {
  case "$1" in
    full) printf 'HOME is full: %s bytes free; delete files or ask for a bigger volume\n' "$2" ;;
    readonly) printf 'HOME is read-only: the gitspace cannot write to it; ask for the volume to be mounted read-write\n' ;;
    *) return 0 ;;
  esac
}

# volume_space_setup HOME: at start. HOME writable with room: removes a banner
# a former start left and returns. Otherwise: logs the banner line, writes the
# flag file and exports GITSPACE_VOLUME_STATE, GITSPACE_LOG_DIR,
# CODE_SERVER_CONFIG_DIR, CODE_SERVER_DATA_DIR and GITSPACE_SSHD_DIR, all in the
# run dir, for the rest of the start. Never fails for the volume's sake.
volume_space_setup() {
  local home=$1 run banner
  run=$(gitspace_run_dir)
  volume_state "$home"
  export GITSPACE_VOLUME_STATE=$VOLUME_STATE
  if [ "$VOLUME_STATE" = ok ]; then
    banner=$(volume_banner_file)
    [ ! -e "$banner" ] || rm -f "$banner"
    return 0
  fi
  banner=$(volume_banner_text "$VOLUME_STATE" "$VOLUME_FREE")
  log_warn "$banner"
  [ -z "${VOLUME_ERROR:-}" ] || log_info "the write that failed: $VOLUME_ERROR"
  export GITSPACE_RUN_DIR=$run
  mkdir -p "$run"
  chmod 0700 "$run" 2>/dev/null || true
  # The flag file: the state and the free bytes at start, for the profile.d
  # snippet (which shows the free space as it is when the shell starts).
  printf '%s %s\n' "$VOLUME_STATE" "$VOLUME_FREE" | write_file_atomic "$(volume_banner_file)" 0644
  export GITSPACE_LOG_DIR="$run/logs" CODE_SERVER_CONFIG_DIR="$run/code-server/config" \
    CODE_SERVER_DATA_DIR="$run/code-server/data" GITSPACE_SSHD_DIR="$run/ssh"
  mkdir -p "$GITSPACE_LOG_DIR"
  # The IDE terminal (an interactive bash that code-server starts, no login
  # shell) shows the banner once too.
  export PROMPT_COMMAND="[ -n \"\${_GS_VOLUME_BANNER_SHOWN:-}\" ] || { _GS_VOLUME_BANNER_SHOWN=1; . $GITSPACE_SCRIPTS_DIR/profile.d/gitspace-volume.sh; }"
  log_info "HOME is not writable for the gitspace's own files: IDE config, IDE user data, sshd config and logs go to $(q "$run") for this start (lost at the next start); the next start with free space uses HOME again"
  volume_fallback_copy
}

# volume_ok: the volume took the start's writes (volume_space_setup ran).
volume_ok() { [ "${GITSPACE_VOLUME_STATE:-ok}" = ok ]; }

# volume_fallback_copy: what the IDEs read from HOME and must find the same:
# the sshd host keys (clients keep trusting the host) and the user's
# code-server settings and keybindings. Small files only; a failed copy is a
# warning (the IDE still starts).
volume_fallback_copy() {
  local src f
  src="$(gitspace_state_dir "$HOME")/ssh"
  mkdir -p "$GITSPACE_SSHD_DIR" && chmod 0700 "$GITSPACE_SSHD_DIR"
  for f in ssh_host_ed25519_key ssh_host_ed25519_key.pub ssh_host_rsa_key ssh_host_rsa_key.pub; do
    if [ -s "$src/$f" ] && [ ! -e "$GITSPACE_SSHD_DIR/$f" ]; then
      cp -p "$src/$f" "$GITSPACE_SSHD_DIR/$f" || log_warn "could not copy the sshd host key $f: clients will see a new host key"
    fi
  done
  src="$HOME/.local/share/code-server/User"
  mkdir -p "$CODE_SERVER_DATA_DIR/User"
  for f in settings.json keybindings.json; do
    if [ -f "$src/$f" ] && [ ! -e "$CODE_SERVER_DATA_DIR/User/$f" ]; then
      cp -p "$src/$f" "$CODE_SERVER_DATA_DIR/User/$f" || log_warn "could not copy code-server's $f"
    fi
  done
}

# volume_space_hooks: the lifecycle hooks for start.sh. A full volume runs
# postStartCommand only: postCreateCommand runs once per volume, and on a full
# one it would fail and still count as done; it runs at the next start with
# free space.
volume_space_hooks() {
  if volume_ok; then
    # A marker that cannot be written names the step in its error line.
    GS_STEP="lifecycle hooks" run_lifecycle_hooks
    return
  fi
  mkdir -p "$(dirname "$(lifecycle_log_file)")"
  if [ ! -f "$(gitspace_state_dir "$HOME")/postCreate.done" ]; then
    log_warn "postCreateCommand: not run now, HOME is $GITSPACE_VOLUME_STATE ($VOLUME_FREE bytes free); it runs at the next start with free space"
  fi
  run_post_start
}

# defer_if_full STEP DIR CMD...: run CMD in a subshell (its `die` ends only
# the subshell). When it fails for space (its errors say no space left, quota
# exceeded or read-only), log one error line naming STEP and the free space at
# DIR and return 0 with GS_DEFERRED=STEP: the step is left undone (CMD leaves
# nothing half-written: it stages and renames) and the next start with free
# space does it. Any other failure ends the script with CMD's status, as before.
defer_if_full() {
  local step=$1 dir=$2 rc errf
  shift 2
  GS_DEFERRED=''
  errf=$(mktemp)
  set +e
  (
    set -e
    "$@"
  ) 2>"$errf"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ] && grep -qiE 'no space left|quota exceeded|read-only file system|the volume is full|volume at .* is read-only' "$errf"; then
    # An expected end: CMD's own lines say what it could not write; the ERR
    # trap's "step ... failed ... at file:line" line (err-trap.sh) would read
    # as a crash, so it is left out here.
    # (grep's status 1: no other line; 2 would be a read error.)
    grep -v "^ERROR: step '.*' failed: '" "$errf" >&2 || [ $? -eq 1 ]
    rm -f "$errf"
    # shellcheck disable=SC2034 # read by the caller
    GS_DEFERRED=$step
    log_error "$step: not done: $(space_note "$dir")"
    return 0
  fi
  cat "$errf" >&2
  rm -f "$errf"
  [ "$rc" -eq 0 ] || exit "$rc"
}

if ! _is_sourced; then
  case "${1:-}" in
    check)
      volume_state "${2:-$HOME}"
      printf '%s %s\n' "$VOLUME_STATE" "$VOLUME_FREE"
      ;;
    *) die "usage: volume-space.sh check [DIR]" ;;
  esac
fi
