# shellcheck shell=bash source-path=SCRIPTDIR
# Shared helpers for the in-container gitspace scripts. Sourced, never run.
# Everything logs to stderr (kubectl logs / docker logs) with a UTC timestamp.

[ -n "${_GITSPACE_LIB_LOADED:-}" ] && return 0

# _gs_require_bash MAJOR MINOR [HAVE_MAJOR HAVE_MINOR HAVE_VERSION]: this
# bash (or the version given, for tests) is MAJOR.MINOR or later, or one line
# saying so and status 1.
_gs_require_bash() {
  local maj=${3:-${BASH_VERSINFO[0]}} min=${4:-${BASH_VERSINFO[1]}}
  ((maj > $1 || (maj == $1 && min >= $2))) && return 0
  printf '%s\n' "[gitspace] ERROR: the gitspace scripts need bash $1.$2 or later; this image has bash ${5:-$BASH_VERSION}: install a newer bash in the image (docs/scripts.md)" >&2
  return 1
}
# bash 4.4+ (mapfile -d, printf -v '%(...)T', namerefs; docs/scripts.md): an
# older one in the image stops here with that line, not with a syntax error
# half-way through a script.
_gs_require_bash 4 4 || return 1
_GITSPACE_LIB_LOADED=1

# The on-disk layout version prepare writes into .gitspace/layout (`home N`),
# read by the migration and by start.sh's marker check.
# shellcheck disable=SC2034 # used by the scripts that source this file
LAYOUT_VERSION=1

GITSPACE_SCRIPTS_DIR="${GITSPACE_SCRIPTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
# A script that `set -e` ends prints where and why (err-trap.sh).
# shellcheck source=err-trap.sh
source "$GITSPACE_SCRIPTS_DIR/err-trap.sh"

# _is_sourced: true when the calling script is being sourced (as a library,
# by a test or another script) rather than run (docker-library's guard).
_is_sourced() {
  [ "${#FUNCNAME[@]}" -ge 2 ] &&
    [ "${FUNCNAME[0]}" = '_is_sourced' ] &&
    [ "${FUNCNAME[1]}" = 'source' ]
}

# _gs_ts_v VAR: VAR = the time in UTC, from bash's own strftime (no `date`
# process: a log line in a loop over 100 repos cost a fork each;
# bench/migration.sh).
_gs_ts_v() { TZ=UTC0 printf -v "$1" '%(%Y-%m-%dT%H:%M:%SZ)T' -1; }
# _gs_ts: the same, printed.
_gs_ts() {
  local t
  _gs_ts_v t
  printf '%s\n' "$t"
}
# _gs_log LEVEL MSG...: one stderr line, no subshell.
_gs_log() {
  local ts level=$1
  shift
  _gs_ts_v ts
  printf '%s [gitspace] %s%s\n' "$ts" "$level" "$*" >&2
}
# log_info MSG...: progress for the operator.
log_info() { _gs_log '' "$@"; }
# log_warn MSG...: something the user may want to fix; work goes on.
log_warn() { _gs_log 'WARN: ' "$@"; }
# log_error MSG...: printed before a failure.
log_error() { _gs_log 'ERROR: ' "$@"; }
# die MSG...: fatal error; MSG should say how to fix it.
die() {
  log_error "$*"
  exit 1
}

# q STRING: STRING quoted for a log line, so odd characters are visible and
# never interpreted.
# q VALUE: VALUE quoted for a message; a long one is cut, so a huge input never
# becomes a huge log line.
q() {
  local v
  qv v "$1"
  printf '%s' "$v"
}
# qv VAR VALUE: q into VAR, without the subshell of $(q ...) (for loops).
qv() {
  if ((${#2} > 80)); then printf -v "$1" '%q... (%d characters)' "${2:0:64}" "${#2}"; else printf -v "$1" '%q' "$2"; fi
}

# validate_user_name VALUE ARGNAME: POSIX portable user name (what useradd
# and busybox adduser both accept).
validate_user_name() {
  [[ "$1" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] ||
    die "$2: invalid user name $(q "$1"): must match ^[a-z_][a-z0-9_-]{0,31}\$"
}

# validate_id VALUE ARGNAME: a uid/gid in 0..2147483647, decimal, no sign.
validate_id() {
  if ! [[ "$1" =~ ^(0|[1-9][0-9]{0,9})$ ]] || ((10#$1 > 2147483647)); then
    die "$2: invalid id $(q "$1"): must be an integer 0..2147483647"
  fi
}

# validate_abs_path VALUE ARGNAME: absolute, no `..`, no control characters.
validate_abs_path() {
  case "$1" in
    /*) ;;
    *) die "$2: $(q "$1") is not an absolute path" ;;
  esac
  [[ "/$1/" != *"/../"* ]] || die "$2: $(q "$1") must not contain '..'"
  [[ "$1" != *[[:cntrl:]]* ]] || die "$2: $(q "$1") contains control characters"
}

# validate_repo_name VALUE: a single folder name under HOME.
validate_repo_name() {
  [[ "$1" =~ ^[A-Za-z0-9._-]{1,100}$ ]] ||
    die "REPO_NAME: invalid repository folder name $(q "$1"): only letters, digits, '.', '_', '-' (no '/', spaces or shell characters)"
  [[ "$1" != *..* ]] || die "REPO_NAME: $(q "$1") must not contain '..'"
  [[ "$1" != -* && "$1" != . ]] || die "REPO_NAME: $(q "$1") must not start with '-' or be '.'"
}

# validate_repo_url VALUE: https, http, ssh or scp-like git@host:path; never
# ext::, file:// or local paths; no credentials or shell characters.
validate_repo_url() {
  local url=$1
  ((${#url} <= 2048)) || die "REPO_URL: ${#url} characters, more than 2048; use the repository's clone URL"
  [[ "$url" =~ ^(https?://|ssh://|git@)[^[:space:][:cntrl:]\'\"\`\$\;\|\&\<\>\\]+$ ]] ||
    die "REPO_URL: unsupported or unsafe URL $(q "$url"): use https://, http://, ssh:// or git@host:path (no spaces, quotes or shell characters)"
  if [[ "$url" =~ ^[a-z]+:// ]] && ! [[ "$url" =~ ^[a-z]+://([^/@]*@)?([A-Za-z0-9]|\[) ]]; then
    die "REPO_URL: $(q "$url") has no host"
  fi
  if [[ "$url" =~ ^https?://[^/@]*:[^/@]*@ ]]; then
    die "REPO_URL: the URL carries a password; put credentials in the git credentials Secret instead (GIT_CREDENTIALS_DIR)"
  fi
  if [[ "$url" =~ ^git@ ]] && ! [[ "$url" =~ ^git@[A-Za-z0-9.-]+:[^:] ]]; then
    die "REPO_URL: $(q "$url") is not of the form git@host:path"
  fi
}

# repo_name_from_url URL: Docker Gitspace's rule: last path segment without .git.
repo_name_from_url() {
  local s=${1%/}
  s=${s##*/}
  s=${s##*:}
  printf '%s\n' "${s%.git}"
}

# repo_name_v VAR: VAR = the repository's folder name under HOME: REPO_NAME, else
# repo_name_from_url of REPO_URL, else empty (nothing to clone). No subshell
# when REPO_NAME is set (the chart sets it).
repo_name_v() {
  if [ -n "${REPO_NAME:-}" ]; then
    printf -v "$1" '%s' "$REPO_NAME"
  elif [ -n "${REPO_URL:-}" ]; then
    printf -v "$1" '%s' "$(repo_name_from_url "$REPO_URL")"
  else
    printf -v "$1" ''
  fi
}

# read_marker_v VAR FILE: VAR = FILE's text as $(cat FILE) gives it (trailing
# newlines dropped), empty when FILE is missing or unreadable; no subshell, no
# cat (start.sh reads its markers on every start).
read_marker_v() {
  printf -v "$1" ''
  [ -f "$2" ] && [ -r "$2" ] || return 0
  IFS= read -r -d '' "$1" <"$2" || true
  while [[ "${!1}" == *$'\n' ]]; do printf -v "$1" '%s' "${!1%$'\n'}"; done
}

# clone_step_state VAR H: into VAR, everything the clone step's work on a
# repository already cloned depends on (its variables, the uid, the git
# configs it writes, the repo's devcontainer.json it checks, the reset
# marker), for the stamp .gitspace/clone-step under H (its HOME). Builtins
# only, unless REPO_NAME is empty. The step writes the stamp when it did all
# of its work (GITSPACE_CLONE_STAMP); start.sh skips it while nothing differs.
clone_step_state() {
  local h=$2 name gc xgc dj gi parts IFS
  repo_name_v name
  read_marker_v gc "$h/.gitconfig"
  read_marker_v xgc "${XDG_CONFIG_HOME:-$h/.config}/git/config"
  read_marker_v dj "$h/$name/.devcontainer/devcontainer.json"
  read_marker_v gi "$h/.gitspace/git-identity"
  parts=("clone step state 1" "uid $EUID" "home $h" "url ${REPO_URL:-}" "name $name"
    "branch ${REPO_BRANCH:-}" "identity ${GIT_USER_NAME:-} <${GIT_USER_EMAIL:-}>"
    "reset ${GITSPACE_RESET_GENERATION:-}" "workspace ${WORKSPACE_DIR:-}" "credentials ${GIT_CREDENTIALS_DIR:-}"
    "check ${GITSPACE_CHECK_DEVCONTAINER_USER:-} ${GITSPACE_EXPECT_REMOTE_USER:-} ${GITSPACE_DEVCONTAINER_REMOTE_USER:-} ${GITSPACE_DEVCONTAINER_CONTAINER_USER:-}"
    "image ${GITSPACE_IMAGE:-}" "gitconfig $gc" "xdg gitconfig $xgc" "devcontainer.json $dj" "git-identity $gi")
  IFS=$'\n'
  printf -v "$1" '%s' "${parts[*]}"
}

# _gs_out VAR VALUE: VALUE into VAR, or printed as a line when VAR is empty
# (for helpers that callers on a start's path read without a subshell).
_gs_out() { if [ -n "$1" ]; then printf -v "$1" '%s' "$2"; else printf '%s\n' "$2"; fi; }

# gitspace_state_dir: where the gitspace keeps its own state on the volume.
gitspace_state_dir() { printf '%s/.gitspace\n' "${1:-$HOME}"; }
# gitspace_log_dir: the gitspace's logs: .gitspace/logs on the volume, or
# GITSPACE_LOG_DIR when start moved them off a full volume (volume-space.sh).
gitspace_log_dir() { printf '%s\n' "${GITSPACE_LOG_DIR:-$(gitspace_state_dir "$HOME")/logs}"; }

# reset_generation: GITSPACE_RESET_GENERATION (values reset.generation), 0 when
# empty or unset. A generation other than 0 and other than the one a marker
# recorded is a reset: what a new Docker container runs (postCreateCommand, the
# git identity) runs once more. 0 asks for no reset, whatever a marker says.
reset_generation() {
  local g=${GITSPACE_RESET_GENERATION:-0}
  [[ "$g" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] || die "GITSPACE_RESET_GENERATION: $(q "$g") is not a reset generation (letters, digits, . _ -; from values reset.generation)"
  printf '%s\n' "$g"
}

# marker_generation FILE: the reset generation a marker was written for (a
# marker from before resets existed has none: 0).
marker_generation() {
  local g
  g=$(sed -n 's/^reset generation //p' "$1" | head -n 1)
  printf '%s\n' "${g:-0}"
}

# write_file_atomic PATH MODE: stdin to PATH via a temp file and rename, so a
# crash never leaves a half-written file. A failed write removes the temp file
# and dies naming the step (GS_STEP), the file and the free space.
write_file_atomic() {
  local path=$1 mode=$2 tmp
  if ! tmp=$(mktemp "$(dirname "$path")/.$(basename "$path").XXXXXX"); then
    die "${GS_STEP:+$GS_STEP: }writing $path failed: $(space_note "$(dirname "$path")")"
  fi
  if ! cat >"$tmp" || ! chmod "$mode" "$tmp" || ! mv -f "$tmp" "$path"; then
    rm -f "$tmp"
    die "${GS_STEP:+$GS_STEP: }writing $path failed: $(space_note "$(dirname "$path")")"
  fi
}

# free_bytes DIR: bytes an unprivileged user can still write on DIR's
# filesystem (statfs f_bavail * f_bsize; GNU and busybox stat).
free_bytes() {
  local a s
  read -r a s < <(stat -f -c '%a %S' "$1") || return 1
  printf '%s\n' "$((a * s))"
}

# low_space_bytes: below this many free bytes the volume counts as full
# (GITSPACE_LOW_SPACE_BYTES; default 16 MiB, what an IDE start writes).
low_space_bytes() {
  local v=${GITSPACE_LOW_SPACE_BYTES:-16777216}
  [[ "$v" =~ ^[0-9]{1,15}$ ]] || die "GITSPACE_LOW_SPACE_BYTES: $(q "$v") is not a number of bytes"
  printf '%s\n' "$((10#$v))"
}

# write_probe DIR: the smallest real write in DIR (a temp file holding 4 KiB,
# removed again). On failure prints the error and returns 1.
write_probe() {
  local t err
  if ! t=$(mktemp "$1/.gitspace-probe.XXXXXX" 2>&1); then
    printf '%s\n' "$t"
    return 1
  fi
  if ! err=$(head -c 4096 /dev/zero 2>&1 >"$t"); then
    rm -f "$t"
    printf '%s\n' "${err:-write failed}"
    return 1
  fi
  rm -f "$t"
}

# space_note PATH: for an error line after a failed write under PATH: the
# volume is full (with the free bytes and what to do), read-only, or just the
# free bytes when neither explains it.
space_note() {
  local dir=$1 free err
  while [ ! -d "$dir" ] && [ "$dir" != / ]; do dir=$(dirname "$dir"); done
  free=$(free_bytes "$dir" 2>/dev/null) || free='?'
  if err=$(write_probe "$dir" 2>&1); then err=''; fi
  if [[ "$err" == *"Read-only"* ]]; then
    printf 'the volume at %s is read-only\n' "$dir"
  elif [[ "$err" == *"No space"* || "$err" == *"uota"* ]] || { [ "$free" != '?' ] && ((free < $(low_space_bytes))); }; then
    printf 'the volume is full (%s bytes free at %s); delete files or ask for a bigger volume (persistence.size); the next start finishes this step\n' "$free" "$dir"
  else
    printf '%s bytes free at %s\n' "$free" "$dir"
  fi
}
