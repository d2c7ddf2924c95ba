#!/usr/bin/env bash
# npm run bench [-- --smoke] [-- --reps N] [-- --out FILE]
# npm run bench -- cli [--runs N] [--smoke] [--out FILE]
# npm run bench -- fleet [--n N] [--smoke] [--parallel P] [--out FILE]
# The benchmarks (bench/bench.ts, docs/benchmarks.md): Docker against
# Kubernetes on this machine, side by side in one run. Brings up what it needs
# (tools, Docker engine, image, local cluster). Writes bench/results.json
# (--smoke: tiny sizes, one repetition, results to a temp file unless --out).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$root"

# The CLI's start-up alone (bench/cli.ts): needs node and npm only, no Docker or cluster.
if [[ "${1:-}" == cli ]]; then
  shift
  exec node --import tsx bench/cli.ts "$@"
fi

# The fleet (bench/fleet.ts): N stopped gitspaces, what they cost etcd and the API server, and a
# staged rollout over them. Needs the tools and the cluster only (no pod runs, no image).
if [[ "${1:-}" == fleet ]]; then
  shift
  fleet_args=("$@")
  fleet_tmp=""
  if [[ " $* " == *" --smoke "* && " $* " != *" --out "* ]]; then
    fleet_tmp=$(mktemp "${TMPDIR:-/tmp}/gitspace-bench-fleet.XXXXXX.json")
    fleet_args+=(--out "$fleet_tmp")
  fi
  step "bench fleet: tools, cluster"
  bash scripts/setup.sh >/dev/null
  bash test/cluster/cluster.sh up >/dev/null
  export PATH="$GITSPACE_BIN:$PATH" GITSPACE_KUBECONFIG
  rc=0
  node --import tsx bench/fleet.ts "${fleet_args[@]}" || rc=$?
  if [[ -n "$fleet_tmp" ]]; then
    if ((rc == 0)); then
      jq -e '.fleet | [.gitspaces, .etcdBytesPerGitspace, .workloadBytesPerGitspace, .objectsPerGitspace, .install.seconds, .rollout.seconds, .memory.afterInstall.etcdBytes, .memory.afterInstall.apiserverBytes, .etcdDb.afterInstall.inUseBytes, .extrapolation.after.historyMax3] | all(type == "number")' "$fleet_tmp" >/dev/null ||
        { log_warn "bench fleet smoke: a number is missing in $fleet_tmp"; rc=1; }
      # The rollout moved every release to the new chart (the smoke's real run of it).
      jq -e '.fleet.objectsPerGitspaceAfterRollout > .fleet.objectsPerGitspace' "$fleet_tmp" >/dev/null ||
        { log_warn "bench fleet smoke: the rollout left no new revision"; rc=1; }
    fi
    rm -f "$fleet_tmp"
  fi
  exit "$rc"
fi

args=("$@")
smoke=false
out_given=false
for a in "$@"; do
  case "$a" in
    --smoke) smoke=true ;;
    --out) out_given=true ;;
  esac
done
tmp=""
if $smoke && ! $out_given; then
  tmp=$(mktemp "${TMPDIR:-/tmp}/gitspace-bench-smoke.XXXXXX.json")
  args+=(--out "$tmp")
fi

step "bench: tools, Docker engine, image, cluster"
bash scripts/setup.sh >/dev/null
docker_up
bash images/build.sh gitspace
bash test/cluster/cluster.sh up >/dev/null
bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
export PATH="$GITSPACE_BIN:$PATH" GITSPACE_KUBECONFIG

step "bench: bench/bench.ts ${args[*]}"
rc=0
node --import tsx bench/bench.ts "${args[@]}" || rc=$?
if [[ -n "$tmp" ]]; then
  # The smoke proves the bench runs and produces every number; it times nothing.
  if ((rc == 0)); then
    jq -e '[.coldStartRatio, .restartRatio, .restartFloorRatio.noInit, .restartFloorRatio.oneInit, .restartSecondsByHomeFiles[], .migrationSeconds, .migrationBytesWritten, .render.seconds, .cli.helpMs.packed.medianMs, .cli.ratio] | all(type == "number")' "$tmp" >/dev/null ||
      { log_warn "bench smoke: a number is missing in $tmp"; rc=1; }
  fi
  rm -f "$tmp"
fi
exit "$rc"
