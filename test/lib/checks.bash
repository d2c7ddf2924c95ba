# shellcheck shell=bash
# The named-check harness of the cluster test scripts (e2e, migration, full
# volume, operations, distribution): each check runs one command, counts as
# passed or failed, and shows the command's output only when it fails. The
# caller prints its own summary from PASS and FAILED.
# shellcheck disable=SC2034 # PASS and FAILED are read by the caller
PASS=0
FAILED=()

ok() { PASS=$((PASS + 1)); printf '  ok   %s\n' "$1" >&2; }
nok() { FAILED+=("$1"); printf '  FAIL %s\n' "$1" >&2; }
# check NAME COMMAND...: one named check; its output is shown only when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else nok "$name"; printf '%s\n' "$out" | tail -n 30 >&2; fi
}
