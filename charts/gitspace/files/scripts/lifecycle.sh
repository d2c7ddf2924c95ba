#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# lifecycle.sh [postCreate|postStart|all]
# Runs the devcontainer lifecycle hooks from $GITSPACE_HOOKS_DIR as the
# current (gitspace) user, the way Docker Gitspace runs them:
#   postCreateCommand/*  once per volume (marker $HOME/.gitspace/postCreate.done,
#                        written after the hooks ran, so a start killed during
#                        postCreate runs it again), and once more per reset:
#                        the marker records GITSPACE_RESET_GENERATION; one
#                        other than the marker's runs the hooks again (0,
#                        empty or unset: no reset asked, never a re-run)
#   postStartCommand/*   at every start
# Each file holds one command, run as `/bin/sh -c "$content"` in
# $HOME/$REPO_NAME. Files are taken in name order; files sharing a numeric
# prefix (`10-a`, `10-b`) run in parallel (devcontainer object form). A
# failing hook is logged with its exit code (stderr and
# $HOME/.gitspace/logs/lifecycle.log) and does not stop the gitspace.
set -euo pipefail
# shellcheck source=lib.sh
[ -n "${_GITSPACE_LIB_LOADED:-}" ] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # loaded already: no dirname fork

# lifecycle_log_file: the persistent hook log.
lifecycle_log_file() { printf '%s/lifecycle.log\n' "$(gitspace_log_dir)"; }

# _hook_out NAME: prefix each line of stdin with time and hook name, to
# stderr and the lifecycle log.
_hook_out() {
  local line log
  log=$(lifecycle_log_file)
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s [hook %s] %s\n' "$(_gs_ts)" "$1" "$line" | tee -a "$log" >&2
  done
}

# _lifecycle_note MSG: a line for both stderr and the lifecycle log.
_lifecycle_note() {
  printf '%s [gitspace] %s\n' "$(_gs_ts)" "$*" | tee -a "$(lifecycle_log_file)" >&2
}

# run_hook FILE LABEL WORKDIR: one hook; always returns 0 (failures are logged).
run_hook() {
  local file=$1 label=$2 workdir=$3 content rc=0
  content=$(cat "$file") || {
    _lifecycle_note "hook $label: cannot read $(q "$file")"
    return 0
  }
  _lifecycle_note "hook $label: start"
  # The one place a user command runs on purpose: as the user, via sh -c.
  set +e
  (cd "$workdir" && exec /bin/sh -c "$content") </dev/null 2>&1 | _hook_out "$label"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -eq 0 ]; then
    _lifecycle_note "hook $label: done"
  else
    _lifecycle_note "hook $label: FAILED with exit code $rc (the gitspace keeps running, as on Docker)"
  fi
  return 0
}

# run_hook_dir DIR KIND WORKDIR: every hook file of DIR, grouped by numeric
# prefix; a group's files run in parallel, groups one after the other.
run_hook_dir() {
  local dir=$1 kind=$2 workdir=$3 f base key prev='' pids=()
  [ -d "$dir" ] || return 0
  # Glob skips dot entries (a ConfigMap volume's ..data links).
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    base=${f##*/}
    if [[ "$base" =~ ^([0-9]+)- ]]; then key=${BASH_REMATCH[1]}; else key="=$base"; fi
    if [ "$key" != "$prev" ] && [ ${#pids[@]} -gt 0 ]; then
      wait "${pids[@]}" || true
      pids=()
    fi
    prev=$key
    run_hook "$f" "$kind/$base" "$workdir" &
    pids+=($!)
  done
  if [ ${#pids[@]} -gt 0 ]; then wait "${pids[@]}" || true; fi
}

# hooks_workdir: $HOME/$REPO_NAME when it exists, else HOME.
hooks_workdir() {
  if [ -n "${REPO_NAME:-}" ] && [ -d "$HOME/$REPO_NAME" ]; then
    printf '%s/%s\n' "$HOME" "$REPO_NAME"
  else
    printf '%s\n' "$HOME"
  fi
}

# run_post_create: postCreateCommand once per volume and reset generation.
run_post_create() {
  local state marker gen done_gen
  state=$(gitspace_state_dir "$HOME")
  marker="$state/postCreate.done"
  gen=$(reset_generation)
  if [ -f "$marker" ]; then
    done_gen=$(marker_generation "$marker")
    # 0 asks for no reset (a values file without reset.generation goes back to it): never a re-run.
    if [ "$gen" = 0 ] || [ "$done_gen" = "$gen" ]; then
      log_info "postCreateCommand already ran on this volume ($(head -n 1 "$marker"), reset generation $done_gen)"
      return 0
    fi
    _lifecycle_note "reset (generation $done_gen -> $gen): postCreateCommand runs again, as in a new Docker container"
  fi
  run_hook_dir "${GITSPACE_HOOKS_DIR:-/gitspace/hooks}/postCreateCommand" postCreateCommand "$(hooks_workdir)"
  printf 'ran at %s\nreset generation %s\n' "$(_gs_ts)" "$gen" | write_file_atomic "$marker" 0644
}

# run_post_start: postStartCommand, every start.
run_post_start() {
  run_hook_dir "${GITSPACE_HOOKS_DIR:-/gitspace/hooks}/postStartCommand" postStartCommand "$(hooks_workdir)"
}

# run_lifecycle_hooks: postCreate (once) then postStart.
run_lifecycle_hooks() {
  if [ "$(id -u)" = 0 ] && [ "${GITSPACE_UID:-0}" != 0 ]; then
    die "lifecycle hooks run as the gitspace user, never as root"
  fi
  mkdir -p "$(dirname "$(lifecycle_log_file)")"
  run_post_create
  run_post_start
}

if ! _is_sourced; then
  case "${1:-all}" in
    postCreate) mkdir -p "$(dirname "$(lifecycle_log_file)")" && run_post_create ;;
    postStart) mkdir -p "$(dirname "$(lifecycle_log_file)")" && run_post_start ;;
    all) run_lifecycle_hooks ;;
    *) die "usage: lifecycle.sh [postCreate|postStart|all]" ;;
  esac
fi
