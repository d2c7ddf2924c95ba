#!/usr/bin/env bats
# scripts/test.sh itself: a stage fails on ANY failing command, whatever its
# shape, and the summary names it; a skipped vitest test fails the suite.

load helpers/common.bash

# runner STAGES_DEFS STAGE...: source test.sh, define the stages, run them, print the summary.
runner() {
  local defs=$1
  shift
  run bash -c 'set -euo pipefail; export GITSPACE_CACHE=$1; source "$2/scripts/test.sh"; eval "$3"; shift 3
    for s in "$@"; do run_stage "$s"; done; summary' _ "$BATS_TEST_TMPDIR/cache" "$REPO_ROOT" "$defs" "$@"
}

# Stage definitions for the runner under test: their $ is theirs.
# shellcheck disable=SC2016
DEFS='
stage_firstfails() { false; echo "after the failing command"; true; }
stage_midpipe() { printf "x\n" | grep -q nothing-here | cat; echo "after the pipeline"; }
stage_subst() { local v; v=$(false); echo "after the substitution $v"; }
stage_helmlike() { echo "Charts: 1 failed" >&2; return 1; echo unreachable; }
stage_handled() { if ! false; then echo handled; fi; false || true; echo fine; }
stage_ok() { echo fine; }
'

@test "a failing command in the middle of a stage fails it; the summary names it" {
  runner "$DEFS" firstfails ok
  assert_eq "$status" 1
  refute_contains "$output" "after the failing command"
  assert_contains "$output" "stage firstfails FAILED"
  assert_contains "$output" "stages failed: firstfails"
  assert_contains "$output" "stages passed: ok"
  assert_contains "$output" "stages: 1 passed, 1 failed"
}

@test "a failing pipeline, a failing substitution and a failing tool each fail their stage" {
  runner "$DEFS" midpipe subst helmlike
  assert_eq "$status" 1
  refute_contains "$output" "after the pipeline"
  refute_contains "$output" "after the substitution"
  assert_contains "$output" "stages failed: midpipe subst helmlike"
  assert_contains "$output" "stages: 0 passed, 3 failed"
  # each failure says where it was (the ERR trap of scripts/lib.sh)
  assert_contains "$output" "ERROR: step 'test stage: subst' failed: 'v=\$(false)'"
}

@test "failures a stage handles itself do not fail it; all passed exits 0" {
  runner "$DEFS" handled ok
  assert_eq "$status" 0
  assert_contains "$output" "stages: 2 passed, 0 failed"
}

@test "a skipped or todo vitest test fails the check; all passed or failed does not" {
  local r="$BATS_TEST_TMPDIR/report.json"
  printf '{"testResults":[{"assertionResults":[{"fullName":"a","status":"passed"},{"fullName":"b needs docker","status":"skipped"},{"fullName":"c","status":"todo"}]}]}' >"$r"
  run bash -c 'set -euo pipefail; source "$1/scripts/test.sh"; no_skipped_tests "$2"' _ "$REPO_ROOT" "$r"
  assert_eq "$status" 1
  assert_contains "$output" "b needs docker"
  assert_contains "$output" "c"
  printf '{"testResults":[{"assertionResults":[{"fullName":"a","status":"passed"},{"fullName":"d","status":"failed"}]}]}' >"$r"
  run bash -c 'set -euo pipefail; source "$1/scripts/test.sh"; no_skipped_tests "$2"' _ "$REPO_ROOT" "$r"
  assert_eq "$status" 0
}
