#!/usr/bin/env bash
# bash test/bats/run.sh [FILE.bats...]
# The in-container script tests: starts dockerd (docker_up), builds the images
# they run in (images/build.sh all: seconds when nothing changed), then runs
# bats. Every script runs inside real containers; the git server for clone
# tests listens on loopback or the docker0 gateway only.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
cd "$root"
command -v bats >/dev/null || die "bats not installed (apt-get install bats)"
docker_up
step "images (cached: rebuilt only when their inputs changed)"
bash images/build.sh all
# Stopped containers a killed earlier run left behind (our label, older than
# 2 h: never those of a run going on beside this one). Each test removes its
# own containers and volumes in teardown.
docker container prune -f --filter label=gitspace-chart.test=bats --filter until=2h >/dev/null
step "bats"
if [[ $# -gt 0 ]]; then files=("$@"); else files=(test/bats/*.bats); fi
out="$GITSPACE_CACHE/bats-output.tap"
GS_LOG_FILE=$out
bats --timing --print-output-on-failure "${files[@]}" | tee "$out"
# A skip must never read as a pass: the suite runs every test.
if grep -E '^ok [0-9]+ .*# skip' "$out"; then die "bats skipped the tests above: every test must run"; fi
