#!/usr/bin/env bash
# package-chart.sh [OUT_DIR] [REPO_URL]: a Helm chart repository in OUT_DIR (default
# dist/charts): the packaged chart (helm package) and index.yaml (helm repo index). Serve the
# directory over HTTP and `helm repo add NAME URL`. REPO_URL, if given, is written into
# index.yaml as the charts' base URL; without it the entries are relative (any server works).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

out=${1:-$root/dist/charts}
url=${2:-}
chart=$root/charts/gitspace

command -v helm >/dev/null || die "helm not found: run 'bash scripts/setup.sh' first"
# A broken chart must not be published: lint it as CI does first.
helm lint --strict "$chart" >/dev/null || die "helm lint --strict $chart failed: fix the chart before packaging"

mkdir -p "$out"
helm package "$chart" --destination "$out" >/dev/null
if [[ -n "$url" ]]; then
  helm repo index "$out" --url "$url"
else
  helm repo index "$out"
fi
version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
log_info "chart repository in $out: gitspace-$version.tgz, index.yaml"
