#!/usr/bin/env bash
# npm run parity [-- --case NAME… --runtime docker|kubernetes… --keep --cases-dir DIR…]
# The Docker/Kubernetes parity suite (test/parity, docs/parity.md): brings up
# what it needs (Docker engine, images, local cluster), then runs every case
# on both runtimes and prints the side-by-side table; writes parity-report.json.
# Exit 1 on any failed row: a wrong value, or a difference no docs section explains.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$root"

# wants_runtime NAME ARGS...: true unless --runtime is given without NAME.
wants_runtime() {
  local name=$1 any=false i
  shift
  for ((i = 1; i <= $#; i++)); do
    if [[ "${!i}" == --runtime ]]; then
      any=true
      local j=$((i + 1))
      [[ "${!j:-}" == "$name" ]] && return 0
    fi
  done
  ! $any
}

step "parity: Docker engine"
docker_up
step "parity: images (cached: rebuilt only when their inputs change)"
bash images/build.sh all
if wants_runtime kubernetes "$@"; then
  step "parity: local Kubernetes cluster"
  bash test/cluster/cluster.sh up >/dev/null
fi
step "parity: the suite's own tests (report verdicts, git server)"
npx vitest run --config test/parity/selftest/vitest.config.ts
# A full run (no --case) also runs one case from a folder outside the repository, made under
# /tmp by test/parity/cases-dir-example/make.sh (docs/parity.md, Cases from outside the repository).
extra=()
if ! [[ " $* " == *" --case "* ]]; then
  cases_dir=$(mktemp -d "${TMPDIR:-/tmp}/gitspace-parity-cases.XXXXXX")
  trap 'rm -rf "$cases_dir"' EXIT
  bash test/parity/cases-dir-example/make.sh "$cases_dir" >/dev/null
  extra=(--cases-dir "$cases_dir")
fi
step "parity: suite"
npx tsx test/parity/suite.ts "$@" "${extra[@]}"
