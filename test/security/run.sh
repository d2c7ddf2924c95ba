#!/usr/bin/env bash
# The security stage (scripts/test.sh security): the bad-input corpus, then the cluster tests.
# Brings up what they need (docker, the image, the local cluster, the images loaded into it);
# each part removes its own namespaces, containers and temp files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
cd "$root"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

step "security: images and cluster"
docker_up
bash images/build.sh gitspace
docker build -q -t gitspace-chart/security-bighome:0.1.0 -f test/security/bighome.Dockerfile test/security >/dev/null
bash test/cluster/cluster.sh up >/dev/null
bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0 gitspace-chart/security-bighome:0.1.0

failed=()
step "security: bad-input corpus"
bash test/security/corpus.sh || failed+=(corpus)
step "security: cluster"
bash test/security/cluster.sh || failed+=(cluster)
((${#failed[@]} == 0)) || { log_warn "security: failed: ${failed[*]}"; exit 1; }
