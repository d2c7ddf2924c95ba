#!/usr/bin/env bash
# The whole test suite (README's test command): installs what it needs, then runs
# every stage and prints one summary. Select stages: npm test -- unit chart
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$root"

ALL_STAGES=(generated typecheck shellcheck unit chart image features bats cluster demo e2e volume browser security parity migration bench)
declare -a PASSED=() FAILED=()

stage_generated() { node bin/gitspace-chart.js generate --check; }
stage_typecheck() { npx tsc --noEmit -p .; }
stage_shellcheck() {
  local files
  # .bats too: shellcheck reads them as bats through their shebang (#!/usr/bin/env bats).
  mapfile -t files < <(git ls-files -co --exclude-standard '*.sh' '*.bash' '*.bats' .ci/run | sort -u)
  shellcheck -x "${files[@]}"
}
# The unit tests that read a local image need the engine: started here, and
# required (a missing engine fails them instead of skipping them).
stage_unit() { docker_up && GITSPACE_REQUIRE_DOCKER=1 vitest_all_run test/unit; }

# vitest_all_run DIR...: vitest, and a failure when any test was skipped or
# left as todo (a skip must never read as a pass in the suite).
vitest_all_run() {
  local report="$GITSPACE_CACHE/vitest-report.json"
  npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@"
  no_skipped_tests "$report"
}
# no_skipped_tests REPORT: vitest's JSON report has no pending or todo test.
no_skipped_tests() {
  local skipped
  skipped=$(jq -r '[.testResults[].assertionResults[] | select(.status != "passed" and .status != "failed") | .fullName] | .[]' "$1")
  [[ -z "$skipped" ]] || { printf 'skipped tests (the suite runs every test):\n%s\n' "$skipped" >&2; return 1; }
}
stage_chart() {
  helm lint --strict charts/gitspace
  helm lint --strict charts/gitspace-scripts
  helm lint --strict charts/gitspace-features -f charts/gitspace-features/ci/build-values.yaml
  local f
  for f in charts/gitspace/ci/*-values.yaml; do
    [[ -e "$f" ]] && helm lint --strict charts/gitspace -f "$f"
  done
  helm unittest charts/gitspace charts/gitspace-features
  ct lint --config ct.yaml --charts charts/gitspace,charts/gitspace-features
  vitest_all_run test/chart
}
stage_image() { docker_up && bash images/build.sh all; }
# features: the devcontainer features build on the engine's BuildKit, FROM a test image,
# with features from the local registry, a loopback tarball server and a checkout; registry
# auth against the cluster's htpasswd registry, and the cluster pulling through a pull Secret;
# and in the cluster (charts/gitspace-features: rootless buildah in a hook Job, the cluster's registry),
# which needs the builder image in it (test/features/in-cluster.sh --env).
stage_features() {
  local cluster_env
  docker_up && bash "$root/images/build.sh" test-images && wait_cluster_up &&
    cluster_env=$(bash "$root/test/features/in-cluster.sh" --env) && eval "$cluster_env" &&
    GITSPACE_REQUIRE_DOCKER=1 vitest_all_run test/features
}
stage_bats() { bash test/bats/run.sh; }
stage_cluster() { wait_cluster_up && bash test/cluster/smoke.sh; }

# The cluster's cold build (Kubernetes from source) is the longest step on a new
# machine: start it in the background right after setup, so it overlaps the
# stages that do not need it, and let the cluster stage wait for it.
# Stages run as jobs of their own (run_stage), so they wait on a status file
# the background `up` writes when it ends, not on its pid.
CLUSTER_UP_LOG="$GITSPACE_CACHE/cluster-up.log"
CLUSTER_UP_RC="$GITSPACE_CACHE/cluster-up.rc"
CLUSTER_UP_PID=""
start_cluster_up() {
  mkdir -p "$GITSPACE_CACHE"
  rm -f "$CLUSTER_UP_RC"
  log_info "bringing the cluster up in the background (log: $CLUSTER_UP_LOG)"
  {
    rc=0
    bash test/cluster/cluster.sh up >"$CLUSTER_UP_LOG" 2>&1 || rc=$?
    echo "$rc" >"$CLUSTER_UP_RC"
  } &
  CLUSTER_UP_PID=$!
}
# wait_cluster_up: the background `up` of this run (started now if none was).
wait_cluster_up() {
  [[ -n "$CLUSTER_UP_PID" ]] || start_cluster_up
  GS_LOG_FILE=$CLUSTER_UP_LOG
  while [[ ! -s "$CLUSTER_UP_RC" ]] && kill -0 "$CLUSTER_UP_PID" 2>/dev/null; do sleep 1; done
  cat "$CLUSTER_UP_LOG" >&2
  [[ -s "$CLUSTER_UP_RC" ]] || die "cluster.sh up ended without a status (killed?); log: $CLUSTER_UP_LOG"
  return "$(cat "$CLUSTER_UP_RC")"
}
# README's main job, end to end, checked as a user would use what it prints.
stage_demo() { bash test/demo/run.sh; }
stage_e2e() {
  bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
  bash test/chart/e2e.sh
  # A gitspace on a full volume restarts to a working IDE (its own small PV and namespace).
  bash test/chart/full-volume.sh
  # persistence.paths on the language image: /go kept over a pod delete, stop/start and reset.
  bash images/build.sh devbase
  bash test/cluster/cluster.sh load-image gitspace-chart/test-lang:0.1.0
  bash test/chart/persist.sh
}
# Every writing step of a start on a full, then read-only, small volume of the cluster (its own
# PV, namespace and git server), the migration hook of a legacy volume that is nearly full, and
# an image upgrade adding a persisted path on a full volume;
# brings up what it needs when run alone (all cached).
stage_volume() {
  bash images/build.sh gitspace
  wait_cluster_up
  bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
  bash test/chart/full-volume-steps.sh
  bash test/chart/migration-full.sh
  # The image-upgrade refresh and a newly persisted path on a full volume (the language image).
  bash images/build.sh devbase
  bash test/cluster/cluster.sh load-image gitspace-chart/test-lang:0.1.0
  bash test/chart/upgrade-full.sh
}
# The IDE in a real browser (headless chromium, playwright-core) on both runtimes, Kubernetes
# through a real ingress controller (Traefik, built once per machine): browser-report.json.
stage_browser() {
  docker_up
  bash images/build.sh gitspace
  bash test/ingress/traefik.sh build
  wait_cluster_up
  node --import tsx test/browser/run.ts --report browser-report.json
}
stage_security() { bash test/security/run.sh; }
stage_parity() { bash scripts/parity.sh; }
stage_migration() { bash test/migration/run.sh; }
# The benchmarks' smoke: tiny sizes, proves `npm run bench` runs and prints every number; times nothing.
stage_bench() { bash scripts/bench.sh --smoke && bash scripts/bench.sh fleet --smoke; }

# run_stage NAME: the stage as a background job waited for, so it is in no
# condition and `set -e` holds inside it: any failing command fails the stage.
# (`if stage_x` or `(stage_x) || ...` turn errexit off in the whole stage, and
# only its last command counted.)
run_stage() {
  local name=$1 start=$SECONDS rc=0
  step "test stage: $name"
  "stage_$name" &
  wait "$!" || rc=$?
  if ((rc == 0)); then
    PASSED+=("$name"); log_info "stage $name passed ($((SECONDS - start))s)"
  else
    FAILED+=("$name"); log_warn "stage $name FAILED (status $rc, $((SECONDS - start))s)"
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
  if [[ " ${stages[*]} " == *" cluster "* || " ${stages[*]} " == *" browser "* || " ${stages[*]} " == *" features "* ]]; then start_cluster_up; fi
  # Traefik (the browser stage's ingress controller) compiles for minutes on a new machine: overlap it too.
  if [[ " ${stages[*]} " == *" browser "* ]]; then
    log_info "building traefik in the background (log: $GITSPACE_CACHE/traefik-build.log)"
    bash test/ingress/traefik.sh build >"$GITSPACE_CACHE/traefik-build.log" 2>&1 &
  fi
  for s in "${stages[@]}"; do run_stage "$s"; done
  summary
}

# summary: which stages passed and failed; fails when any failed.
summary() {
  printf '\nstages passed: %s\nstages failed: %s\n' "${PASSED[*]:-none}" "${FAILED[*]:-none}"
  printf 'stages: %d passed, %d failed\n' "${#PASSED[@]}" "${#FAILED[@]}"
  # exit, not a failing test: each failed stage already said where it failed.
  if ((${#FAILED[@]})); then exit 1; fi
}

# Sourced (test/bats/test-runner.bats tests run_stage and summary): define only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
