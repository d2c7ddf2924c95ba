#!/usr/bin/env bash
# The whole test suite (README's test command): installs what it needs, then runs
# every stage and prints one summary. Select stages: npm test -- unit chart
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$root"

ALL_STAGES=(generated typecheck shellcheck unit chart image bats cluster e2e security parity migration bench)
declare -a PASSED=() FAILED=()

stage_generated() { node bin/gitspace-chart.js generate --check; }
stage_typecheck() { npx tsc --noEmit -p .; }
stage_shellcheck() {
  local files
  # .bats too: shellcheck reads them as bats through their shebang (#!/usr/bin/env bats).
  mapfile -t files < <(git ls-files -co --exclude-standard '*.sh' '*.bash' '*.bats' .ci/run | sort -u)
  shellcheck -x "${files[@]}"
}
stage_unit() { npx vitest run test/unit; }
stage_chart() {
  helm lint --strict charts/gitspace
  local f
  for f in charts/gitspace/ci/*-values.yaml; do
    [[ -e "$f" ]] && helm lint --strict charts/gitspace -f "$f"
  done
  helm unittest charts/gitspace
  ct lint --config ct.yaml --charts charts/gitspace
  npx vitest run test/chart
}
stage_image() { docker_up && bash images/build.sh all; }
stage_bats() { bash test/bats/run.sh; }
stage_cluster() { wait_cluster_up && bash test/cluster/smoke.sh; }

# The cluster's cold build (Kubernetes from source) is the longest step on a new
# machine: start it in the background right after setup, so it overlaps the
# stages that do not need it, and let the cluster stage wait for it.
CLUSTER_UP_PID=""
CLUSTER_UP_LOG="$GITSPACE_CACHE/cluster-up.log"
start_cluster_up() {
  mkdir -p "$GITSPACE_CACHE"
  log_info "bringing the cluster up in the background (log: $CLUSTER_UP_LOG)"
  bash test/cluster/cluster.sh up >"$CLUSTER_UP_LOG" 2>&1 &
  CLUSTER_UP_PID=$!
}
wait_cluster_up() {
  [[ -n "$CLUSTER_UP_PID" ]] || start_cluster_up
  local rc=0
  wait "$CLUSTER_UP_PID" || rc=$?
  CLUSTER_UP_PID=""
  cat "$CLUSTER_UP_LOG" >&2
  return "$rc"
}
stage_e2e() {
  bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0 && bash test/chart/e2e.sh
}
stage_security() { bash test/security/run.sh; }
stage_parity() { bash scripts/parity.sh; }
stage_migration() { bash test/migration/run.sh; }
# The benchmarks' smoke: tiny sizes, proves `npm run bench` runs and prints every number; times nothing.
stage_bench() { bash scripts/bench.sh --smoke; }

run_stage() {
  local name=$1 start=$SECONDS
  step "test stage: $name"
  if "stage_$name"; then
    PASSED+=("$name"); log_info "stage $name passed ($((SECONDS - start))s)"
  else
    FAILED+=("$name"); log_warn "stage $name FAILED ($((SECONDS - start))s)"
  fi
}

main() {
  local stages=("$@")
  [[ ${#stages[@]} -gt 0 ]] || stages=("${ALL_STAGES[@]}")
  local s
  for s in "${stages[@]}"; do
    declare -F "stage_$s" >/dev/null || die "unknown test stage '$s'; stages: ${ALL_STAGES[*]}"
  done
  step "setup: tools (cached in $GITSPACE_CACHE)"
  bash "$here/setup.sh"
  [[ " ${stages[*]} " == *" cluster "* ]] && start_cluster_up
  for s in "${stages[@]}"; do run_stage "$s"; done
  printf '\nstages passed: %s\nstages failed: %s\n' "${PASSED[*]:-none}" "${FAILED[*]:-none}"
  printf 'stages: %d passed, %d failed\n' "${#PASSED[@]}" "${#FAILED[@]}"
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
