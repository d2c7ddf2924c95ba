# shellcheck shell=bash
# The one "no silent death" rule, sourced by the in-container lib.sh and by the
# host's scripts/lib.sh: when `set -e` ends a script, say where and why.
#
# Under `set -euo pipefail` a failing command (in a function, a command
# substitution, a pipeline) ends the script with no word of its own; this ERR
# trap prints one line first: the step, the failing command as written (the
# source text, never its expanded arguments, so no secret value is printed),
# its exit code, file:line and function, and the log to read.
#
#   GS_STEP      what the script is doing (the host's `step` sets it); default: the script's name
#   GS_LOG_FILE  the log to read; default: "the output above"
#
# Only installed where errexit is on when this is sourced: a library sourced
# by an interactive shell or a test harness keeps its own traps.

# _gs_err_line RC FILE LINE FUNC CMD: the line itself (a function, so a test can feed it).
_gs_err_line() {
  local cmd=$5
  cmd=${cmd//$'\n'/ }
  ((${#cmd} <= 200)) || cmd="${cmd:0:200}..."
  printf "ERROR: step '%s' failed: '%s' exited with status %s at %s:%s (in %s); log: %s\n" \
    "${GS_STEP:-${0##*/}}" "$cmd" "$1" "$2" "$3" "$4" "${GS_LOG_FILE:-the output above}"
}

# _gs_on_err: the ERR trap. Stays quiet where errexit is off (a command
# substitution without inherit_errexit carries on after a failure: its
# caller's line fails next, and that one is printed).
_gs_on_err() {
  local rc=$? statuses=("${PIPESTATUS[@]}") cmd=$BASH_COMMAND
  [[ $- == *e* ]] || return 0
  local file=${BASH_SOURCE[1]:-$0} line=${BASH_LINENO[0]} srcline=()
  # In a pipeline BASH_COMMAND is its last part, which may well have
  # succeeded: show the whole source line and every part's status instead.
  if ((${#statuses[@]} > 1)) && [[ -r "$file" ]] && mapfile -t -s "$((line - 1))" -n 1 srcline <"$file" && ((${#srcline[@]})); then
    cmd="${srcline[0]#"${srcline[0]%%[![:space:]]*}"} (statuses: ${statuses[*]})"
  fi
  _gs_err_line "$rc" "$file" "$line" "${FUNCNAME[1]:-main}" "$cmd" >&2
}

if [[ $- == *e* ]]; then
  # errtrace: the trap also fires inside functions and subshells.
  set -o errtrace
  trap _gs_on_err ERR
fi
