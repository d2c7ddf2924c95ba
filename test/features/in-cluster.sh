#!/usr/bin/env bash
# test/features/in-cluster.sh: the in-cluster features build (charts/gitspace-features) for real. Brings up
# what it needs: the cluster (and its registry), the gitspace and builder images, the builder
# loaded into the cluster's containerd; then runs test/features/in-cluster.test.ts.
# With --env: only the setup (its log on stderr), then the export lines the test needs on stdout
# (scripts/test.sh's features stage runs every test/features file with them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
cd "$root"
{
  docker_up
  bash test/cluster/cluster.sh up
  bash images/build.sh gitspace
  bash images/build.sh builder
  bash test/cluster/cluster.sh load-image gitspace-chart/builder:0.1.0
} >&2
GITSPACE_CLUSTER_REGISTRY=$(bash test/cluster/cluster.sh registry)
# Pods reach this host at the pod bridge's gateway (cni0 exists once a pod ran), else docker0.
GITSPACE_POD_GATEWAY=$(bridge_ip cni0)
[[ -n "$GITSPACE_POD_GATEWAY" ]] || GITSPACE_POD_GATEWAY=$(bridge_ip docker0)
[[ -n "$GITSPACE_POD_GATEWAY" ]] || die "neither cni0 nor docker0 has an IPv4 address: is the cluster up and the Docker engine running?"
if [[ "${1:-}" == --env ]]; then
  printf 'export GITSPACE_CLUSTER_REGISTRY=%q GITSPACE_POD_GATEWAY=%q GITSPACE_REQUIRE_CLUSTER=1\n' "$GITSPACE_CLUSTER_REGISTRY" "$GITSPACE_POD_GATEWAY"
  exit 0
fi
export GITSPACE_CLUSTER_REGISTRY GITSPACE_POD_GATEWAY GITSPACE_REQUIRE_CLUSTER=1
npx vitest run test/features/in-cluster.test.ts
