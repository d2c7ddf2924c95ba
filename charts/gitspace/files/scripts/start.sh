#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start.sh: the gitspace's main process, run as the gitspace user (never
# root unless the gitspace user is root). In Docker Gitspace's order:
# IDE setup -> IDE run -> postCreateCommand (once per volume) ->
# postStartCommand; then it waits on the IDE. SIGTERM/SIGINT stop the IDE
# and exit 0; if the IDE dies, start.sh exits with its code (the pod restarts).
#
# Environment (docs/architecture.md): HOME, GITSPACE_USER, REPO_NAME,
# IDE_TYPE, IDE_PORT, IDE_AUTH, IDE_PASSWORD_FILE, IDE_EXTENSIONS,
# SSH_AUTHORIZED_KEYS_FILE, JETBRAINS_DOWNLOAD_URL, JETBRAINS_PLUGINS,
# GITSPACE_HOOKS_DIR.
set -euo pipefail
_gs_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$_gs_dir/lib.sh"
# default_ide_port, generated from the schema's IDE table (npm run generate).
# shellcheck source=ide-ports.sh
source "$_gs_dir/ide-ports.sh"
# shellcheck source=lifecycle.sh
source "$_gs_dir/lifecycle.sh"
# shellcheck source=ssh/sshd.sh
source "$_gs_dir/ssh/sshd.sh"
# shellcheck source=vscode/init-vscode.sh
source "$_gs_dir/vscode/init-vscode.sh"
# shellcheck source=cursor/init-cursor.sh
source "$_gs_dir/cursor/init-cursor.sh"
# shellcheck source=jetbrains/init-jetbrains.sh
source "$_gs_dir/jetbrains/init-jetbrains.sh"
# shellcheck source=volume-space.sh
source "$_gs_dir/volume-space.sh"

IDE_PIDS=()
# Started beside the IDE, stopped with it, but their end does not stop the gitspace.
AUX_PIDS=()
HOOKS_PID=''

# start_bg NAME FUNCTION ARGS...: run FUNCTION (which execs the server) in the
# background, output to stderr and $HOME/.gitspace/logs/NAME.log.
start_bg() {
  local name=$1 log
  shift
  log="$(gitspace_log_dir)/$name.log"
  (
    exec > >(tee -a "$log" >&2) 2>&1
    "$@"
  ) &
  IDE_PIDS+=($!)
}

# wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT.
wait_port() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  return 1
}

# stop_all: TERM the IDE processes, the hooks and a clone step beside the IDE,
# then wait for them.
stop_all() {
  local p
  for p in "${IDE_PIDS[@]}" "${AUX_PIDS[@]}" $HOOKS_PID $CLONE_PID; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  CLONE_PID=''
}

# on_signal: a clean stop (Docker Gitspace's main process: trap 'exit 0' 15).
on_signal() {
  log_info "stop requested: stopping the IDE"
  stop_all
  exit 0
}

# clone_step: the clone, git identity, safe.directory and devcontainer.json
# checks (gitspace-init.sh user-setup), as Docker Gitspace clones by exec in
# the running container. Set by the chart unless the clone keeps its own init
# container (repo.credentials.inGitspace false). HOME is the volume's mount
# (/workspaces in layout legacy), as the init container had it. With
# `beside` (the IDE starts at the same time) it runs niced, so that on a busy
# node code-server's start gets the CPU first.
clone_step() {
  local nice=()
  if [ "${1:-}" = beside ] && command -v nice >/dev/null; then nice=(nice -n 10); fi
  HOME=${GITSPACE_CLONE_HOME:-$HOME} GITSPACE_CLONE_STAMP=true "${nice[@]}" "$_gs_dir/gitspace-init.sh" user-setup ||
    die "the clone step failed (its error is above): the gitspace does not start without its repository; the container is restarted and tries again"
}

# clone_step_start: the clone step before the IDE when there is a clone to do
# (a first start). When the repository is there already it is skipped if
# nothing it depends on changed since it last did all its work (the stamp
# .gitspace/clone-step: clone_step_state in lib.sh; gone with ~/.gitspace, it
# runs again); otherwise (a few git config reads and the devcontainer.json
# check, 0.2-0.5 s) it runs beside the IDE's start, and clone_step_wait stops
# the start if it fails, before start.sh says the IDE listens. Its variables are not passed
# on to the IDE: terminals see what they saw when an init container cloned.
CLONE_PID=''
clone_step_start() {
  [ "${GITSPACE_CLONE_AT_START:-false}" = true ] || return 0
  local name h=${GITSPACE_CLONE_HOME:-$HOME} st done_st
  repo_name_v name
  clone_step_state st "$h"
  read_marker_v done_st "$(gitspace_state_dir "$h")/clone-step"
  if [ -n "${REPO_URL:-}" ] && [ ! -e "$h/$name/.git" ]; then
    clone_step
  elif [ "$st" = "$done_st" ]; then
    log_info "clone step: the repository is cloned, and its variables, the git config and devcontainer.json are as when it last ran (.gitspace/clone-step): nothing to do"
  else
    clone_step beside &
    CLONE_PID=$!
  fi
  unset GITSPACE_CLONE_AT_START GITSPACE_CLONE_HOME REPO_URL REPO_BRANCH GIT_CREDENTIALS_DIR \
    GIT_USER_NAME GIT_USER_EMAIL GITSPACE_EXPECT_REMOTE_USER GITSPACE_CHECK_DEVCONTAINER_USER \
    GITSPACE_DEVCONTAINER_REMOTE_USER GITSPACE_DEVCONTAINER_CONTAINER_USER GITSPACE_IMAGE
}

# clone_step_wait: the clone step started beside the IDE has ended; if it
# failed (its error is above), the IDE is stopped and start.sh exits 1, as
# when it failed before the IDE. Also run on exit (an IDE setup that dies),
# so its lines are never cut off.
clone_step_wait() {
  [ -n "$CLONE_PID" ] || return 0
  local pid=$CLONE_PID
  CLONE_PID=''
  wait "$pid" && return 0
  stop_all
  exit 1
}

# prepare_marker_stale: the first marker of the prepare container's work that
# is missing or stale on the volume (HOME), as a phrase; nothing when all
# hold. Only when prepare runs beside the gitspace (GITSPACE_PREPARE_SYNC).
prepare_marker_stale() {
  local s layout owner image
  s=$(gitspace_state_dir "$HOME")
  read_marker_v layout "$s/layout"
  read_marker_v owner "$s/owner"
  read_marker_v image "$s/image"
  if [ -e "$s/seeding" ]; then
    echo ".gitspace/seeding says a seeding did not finish"
  elif [ -e "$s/refresh/plan" ]; then
    echo ".gitspace/refresh/plan says an image refresh did not finish"
  elif [ "$layout" != "home $LAYOUT_VERSION" ]; then
    echo ".gitspace/layout is missing or not 'home $LAYOUT_VERSION'"
  elif [ "${GITSPACE_SEED_HOME:-true}" = true ] && [ ! -f "$s/seeded" ]; then
    echo ".gitspace/seeded is missing"
  elif [ -n "${GITSPACE_PREPARE_OWNER:-}" ] && [ "$owner" != "$GITSPACE_PREPARE_OWNER" ]; then
    echo ".gitspace/owner is missing or not $GITSPACE_PREPARE_OWNER"
  elif [ -n "${GITSPACE_PREPARE_IMAGE:-}" ] && [ "$image" != "$GITSPACE_PREPARE_IMAGE" ]; then
    echo ".gitspace/image is missing or not $GITSPACE_PREPARE_IMAGE"
  fi
}

# prepare_wait: with prepare beside the gitspace container (docs/start-path.md),
# wait for its run only when a marker of its work is missing or stale (a first
# start, a new image or uid, a wiped ~/.gitspace); a start with every marker
# in place waits for nothing. Before anything of ours writes into HOME: seeding
# copies only into an empty volume.
prepare_wait() {
  local sync=${GITSPACE_PREPARE_SYNC:-} why i=0
  [ -n "$sync" ] || return 0
  why=$(prepare_marker_stale)
  if [ -z "$why" ]; then
    log_info "HOME's markers of seeding, ownership, layout and image are in place: not waiting for the prepare container"
    return 0
  fi
  if [ -e "$sync/done" ] || [ -e "$sync/failed" ]; then
    # An in-place restart: this pod's prepare already ran, before the marker went.
    log_info "HOME's $why, and this pod's prepare container ran before: asking it to run again"
    rm -f "$sync/done" "$sync/failed"
    printf 'rerun\n' >"$sync/rerun"
  fi
  log_info "HOME's $why: waiting for the prepare container to seed or record it (its log: kubectl logs POD -c prepare)"
  while [ ! -e "$sync/done" ]; do
    [ ! -e "$sync/failed" ] || die "the prepare container failed ($(cat "$sync/failed" 2>/dev/null || true)); its log says why: kubectl logs POD -c prepare. The gitspace container is restarted and asks it again"
    if ((++i % 600 == 0)); then log_info "still waiting for the prepare container ($((i / 10)) s): kubectl logs POD -c prepare"; fi
    sleep 0.1
  done
  why=$(prepare_marker_stale)
  if [ -n "$why" ]; then
    # A full or read-only volume defers prepare's markers (volume-space.sh): start anyway, as before.
    log_warn "prepare done, but HOME's $why (a full or read-only volume defers it to the next start)"
  else
    log_info "prepare done: HOME's markers are in place"
  fi
}

# runtime_report: with prepare beside, the runtime report (uid, passwd name,
# HOME, mounts) is written here, not by a postStart hook: a postStart hook
# holds the kubelet back from starting the next container, and its file would
# make a new volume look non-empty to the seeding. It runs while the IDE
# starts (after prepare_wait), and before start.sh says the IDE listens:
# its readers (helm test, the parity suite) read it once the pod is Ready.
RUNTIME_REPORT_SCRIPT=''
runtime_report() {
  runtime_report_take
  [ -n "$RUNTIME_REPORT_SCRIPT" ] || return 0
  /bin/sh -c "$RUNTIME_REPORT_SCRIPT" "$HOME" start.sh >&2 || log_warn "the runtime report failed (exit $?)"
  RUNTIME_REPORT_SCRIPT=''
}

# runtime_report_take: the report's script out of the environment (the IDE's
# terminals never saw it), kept for runtime_report.
runtime_report_take() {
  [ -n "${GITSPACE_RUNTIME_REPORT:-}" ] || return 0
  RUNTIME_REPORT_SCRIPT=$GITSPACE_RUNTIME_REPORT
  unset GITSPACE_RUNTIME_REPORT
}

# start_ide REPO_DIR: set up and start the IDE for IDE_TYPE (ide_wait waits for it).
start_ide() {
  local repo=$1
  case "$IDE_TYPE" in
    vs_code_web)
      init_vscode_web
      start_bg code-server code_server_run "$repo"
      ;;
    vs_code | cursor | windsurf)
      if [ "$IDE_TYPE" = vs_code ]; then init_vscode_desktop "$repo"; else init_cursor "$IDE_TYPE"; fi
      sshd_setup "$IDE_PORT" "$GITSPACE_USER"
      start_bg sshd sshd_run
      ;;
    *)
      local backend=true
      if volume_ok; then
        install_jetbrains_backend "$IDE_TYPE" "${JETBRAINS_DOWNLOAD_URL:-}"
        install_jetbrains_plugins "$IDE_TYPE" "$repo"
      elif [ -x "$(jetbrains_dist_dir "$IDE_TYPE")/bin/remote-dev-server.sh" ]; then
        log_warn "JetBrains plugins: not installed now, HOME is $GITSPACE_VOLUME_STATE ($VOLUME_FREE bytes free); the backend runs, the next start with free space installs them"
      else
        # Its download unpacks hundreds of MB into HOME: on a full or
        # read-only HOME it can only fail, and SSH must come up anyway.
        backend=false
        log_warn "JetBrains $IDE_TYPE backend: not installed, HOME is $GITSPACE_VOLUME_STATE ($VOLUME_FREE bytes free; it unpacks into $(q "$(jetbrains_dist_dir "$IDE_TYPE")")); SSH is up without it, the next start with free space installs it"
      fi
      sshd_setup "$IDE_PORT" "$GITSPACE_USER"
      start_bg sshd sshd_run
      if $backend; then
        start_bg jetbrains jetbrains_run "$IDE_TYPE" "$repo" "$GITSPACE_USER"
        if ! volume_ok; then
          # It writes its caches and logs into HOME: on a full HOME it may
          # die, and that must not take SSH down with it (its log says why).
          AUX_PIDS+=("${IDE_PIDS[-1]}")
          unset 'IDE_PIDS[-1]'
        fi
      fi
      ;;
  esac
}

# ide_wait: until the IDE listens on IDE_PORT (60 s at most), said in the log.
ide_wait() {
  if wait_port "$IDE_PORT" 60; then
    log_info "$IDE_TYPE is listening on port $IDE_PORT"
  else
    log_warn "$IDE_TYPE is not listening on port $IDE_PORT after 60s"
  fi
}

main() {
  [ -n "${HOME:-}" ] || die "HOME is required"
  validate_abs_path "$HOME" HOME
  [ -d "$HOME" ] || die "HOME=$(q "$HOME") does not exist (is the volume mounted?)"
  GITSPACE_USER=${GITSPACE_USER:-$(id -un)}
  validate_user_name "$GITSPACE_USER" GITSPACE_USER
  if [ "$(id -u)" = 0 ] && [ "$GITSPACE_USER" != root ]; then
    die "start.sh runs as the gitspace user $(q "$GITSPACE_USER"), not as root (docker exec -u / runAsUser)"
  fi
  IDE_TYPE=${IDE_TYPE:-vs_code_web}
  if [ -z "${IDE_PORT:-}" ] || [ "$IDE_PORT" = 0 ]; then IDE_PORT=$(default_ide_port "$IDE_TYPE"); fi
  default_ide_port "$IDE_TYPE" >/dev/null # validates IDE_TYPE
  export IDE_TYPE IDE_PORT GITSPACE_USER
  cd "$HOME"
  # The image, for the extensions' stamp (init-vscode.sh), before its variables go.
  GITSPACE_IMAGE_REF=${GITSPACE_PREPARE_IMAGE:-${GITSPACE_IMAGE:-}}
  prepare_wait
  unset GITSPACE_PREPARE_SYNC GITSPACE_PREPARE_OWNER GITSPACE_PREPARE_IMAGE GITSPACE_SEED_HOME
  runtime_report_take
  # A full or read-only HOME: the start's own writes go to the run dir.
  volume_space_setup "$HOME"
  local logs
  logs=$(gitspace_log_dir)
  [ -d "$logs" ] || mkdir -p "$logs"
  trap clone_step_wait EXIT
  clone_step_start
  trap on_signal TERM INT
  local repo=$HOME
  if [ -n "${REPO_NAME:-}" ]; then
    validate_repo_name "$REPO_NAME"
    [ -d "$HOME/$REPO_NAME" ] && repo="$HOME/$REPO_NAME"
  fi
  # The IDE first: what does not need to run before it runs while it starts.
  start_ide "$repo"
  runtime_report
  clone_step_wait
  ide_wait
  volume_space_hooks &
  HOOKS_PID=$!
  local rc=0
  wait -n "${IDE_PIDS[@]}" || rc=$?
  log_error "the IDE process exited (code $rc): stopping the gitspace"
  stop_all
  exit "$((rc == 0 ? 1 : rc))"
}

if ! _is_sourced; then
  main "$@"
fi
