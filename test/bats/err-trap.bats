#!/usr/bin/env bats
# The script bodies and expected lines are single-quoted on purpose: their $ is the script's.
# shellcheck disable=SC2016
# No silent deaths: a script that `set -euo pipefail` ends prints the step, the
# failing command, its file:line and the log to read. Checked for the host's
# scripts/lib.sh (run here) and the in-container lib.sh (run in the image).

load helpers/common.bash

teardown() { cleanup_all; }

# write_script DIR LIB BODY: DIR/fail.sh sourcing LIB, then BODY.
write_script() {
  cat >"$1/fail.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
source "$2"
GS_LOG_FILE=/var/log/example.log
$3
echo "NOT REACHED"
EOF
}

# host_run BODY: the script run on this machine with scripts/lib.sh.
host_run() {
  write_script "$BATS_TEST_TMPDIR" "$REPO_ROOT/scripts/lib.sh" "$1"
  run bash "$BATS_TEST_TMPDIR/fail.sh"
}

# ctr_run BODY: the script run in the gitspace image with the in-container lib.sh.
ctr_run() {
  local d="$BATS_TEST_TMPDIR/ctr"
  mkdir -p "$d"
  write_script "$d" "$SCRIPTS/lib.sh" "$1"
  [ -n "${CTR:-}" ] || CTR=$(ctr_start "$IMG_GITSPACE" -v "$d:/t:ro")
  run docker exec "$CTR" bash /t/fail.sh
}

# expect_line FILE_SUFFIX LINE CMD: one ERROR line naming the step, command, file:line and log.
expect_line() {
  [ "$status" -ne 0 ] || { echo "exit status 0" >&2; return 1; }
  refute_contains "$output" "NOT REACHED"
  assert_contains "$output" "ERROR: step 'unpack the tools' failed: '$3' exited with status"
  assert_contains "$output" "fail.sh:$2"
  assert_contains "$output" "log: /var/log/example.log"
  assert_eq "$(grep -c 'ERROR: step' <<<"$output")" 1 "ERROR lines"
}

BODY_FUNCTION='f() { ls /no/such/dir; }
GS_STEP="unpack the tools"
f'
BODY_SUBST='GS_STEP="unpack the tools"
x=$(ls /no/such/dir | sed -n p)
echo "$x"'
BODY_PIPELINE='GS_STEP="unpack the tools"
cat /no/such/file | sort'

@test "host: a failing command inside a function prints step, command, file:line, log" {
  host_run "$BODY_FUNCTION"
  expect_line fail.sh 5 'ls /no/such/dir'
  assert_contains "$output" "(in f)"
}

@test "host: a failing command substitution prints its line" {
  host_run "$BODY_SUBST"
  expect_line fail.sh 6 'x=$(ls /no/such/dir | sed -n p)'
}

@test "host: a failing pipeline prints its line" {
  host_run "$BODY_PIPELINE"
  expect_line fail.sh 6 'cat /no/such/file | sort (statuses: 1 0)'
}

@test "host: step() names the step; a failure before any step names the script" {
  host_run 'step "unpack the tools"
false'
  expect_line fail.sh 6 'false'
  host_run 'GS_LOG_FILE=; false'
  assert_eq "$status" 1
  assert_contains "$output" "ERROR: step 'fail.sh' failed: 'false' exited with status 1"
  assert_contains "$output" "log: the output above"
}

@test "host: failures a script handles print nothing" {
  host_run 'GS_STEP="unpack the tools"
if ! x=$(false); then echo handled; fi
false || echo handled2
f() { false; }
if f; then :; else echo handled3; fi
echo "$x"; exit 0'
  assert_eq "$status" 0
  refute_contains "$output" "ERROR"
  assert_contains "$output" "handled3"
}

@test "container: a failing command inside a function prints step, command, file:line, log" {
  ctr_run "$BODY_FUNCTION"
  expect_line fail.sh 5 'ls /no/such/dir'
}

@test "container: a failing command substitution prints its line" {
  ctr_run "$BODY_SUBST"
  expect_line fail.sh 6 'x=$(ls /no/such/dir | sed -n p)'
}

@test "container: a failing pipeline prints its line" {
  ctr_run "$BODY_PIPELINE"
  expect_line fail.sh 6 'cat /no/such/file | sort (statuses: 1 0)'
}

@test "a long command is cut, a multi-line one folded onto one line" {
  run bash -c 'source "$1"; _gs_err_line 2 a.sh 9 main "$(printf "x%.0s" {1..300})"$'"'"'\n'"'"'"tail"' _ "$SCRIPTS_SRC/err-trap.sh"
  assert_eq "$(wc -l <<<"$output")" 1 "lines"
  assert_contains "$output" "'$(printf 'x%.0s' {1..200})...' exited with status 2 at a.sh:9 (in main)"
}

@test "host: bridge_ip of a missing device prints nothing and succeeds (fresh machine: no cni0 yet)" {
  run bash -c 'set -euo pipefail; source "$1/scripts/lib.sh"; ip=$(bridge_ip gs-absent0); echo "[$ip]"' _ "$REPO_ROOT"
  assert_eq "$status" 0
  assert_eq "$output" "[]"
  run bash -c 'set -euo pipefail; source "$1/scripts/lib.sh"; bridge_ip lo' _ "$REPO_ROOT"
  assert_eq "$output" "127.0.0.1"
}
