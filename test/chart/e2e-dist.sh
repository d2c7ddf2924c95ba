#!/usr/bin/env bash
# test/chart/e2e-dist.sh: the chart installed the way a platform team consumes it, on a real
# cluster: signed and pushed by scripts/package-chart.sh --push to a registry of its own
# (scripts/registry.sh, free port on 127.0.0.1, stopped at the end), then
#   helm install oci://127.0.0.1:PORT/charts/gitspace --version V --verify --keyring pubring.gpg
#   helm repo add (the chart repository served on 127.0.0.1) + helm install REPO/gitspace --verify
# each waited Ready, its pod checked running as the remote user, uninstalled before the next
# (one gitspace at a time: the node has 2 CPUs); a package changed after signing is refused and
# leaves no release.
#   E2E_DIST_NS  namespace (default dist-e2e: made and removed here; an existing one, as
#                test/chart/e2e.sh passes its own, is used and left in place)
# Needs: the cluster up and the image loaded (see test/chart/e2e.sh). Run alone:
#   bash test/chart/e2e-dist.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS=${E2E_DIST_NS:-dist-e2e}
WORK=$(mktemp -d)
KEYRING=$GITSPACE_CACHE/gpg/pubring.gpg
# Its own registry and helm repository list, so neither the machine's registry (127.0.0.1:5050)
# nor the user's `helm repo list` is touched.
export GITSPACE_REGISTRY_DIR=$WORK/registry
export HELM_REPOSITORY_CONFIG=$WORK/repositories.yaml HELM_REPOSITORY_CACHE=$WORK/repository-cache
OWN_NS=""
HTTP_PID=""

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"

cleanup() {
  [[ -z "$HTTP_PID" ]] || kill "$HTTP_PID" 2>/dev/null || true
  local r
  for r in dist-oci dist-repo dist-tampered; do
    helm -n "$NS" status "$r" >/dev/null 2>&1 && helm -n "$NS" uninstall "$r" --wait --timeout 2m >/dev/null 2>&1
  done
  [[ -z "$OWN_NS" ]] || kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  bash "$root/scripts/registry.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ready_as_vscode RELEASE: the release's chart is the published one and its gitspace pod
# runs, Ready, with the IDE and a shell as the remote user.
ready_as_vscode() {
  local release=$1 chart phase ready user
  chart=$(helm -n "$NS" list --filter "^$release\$" -o json | jq -r '.[0].chart')
  [[ "$chart" == "gitspace-$VERSION" ]] || { echo "helm list: chart '$chart', not gitspace-$VERSION"; return 1; }
  phase=$(kubectl -n "$NS" get pod -l "app.kubernetes.io/instance=$release,app.kubernetes.io/component=gitspace" -o jsonpath='{.items[0].status.phase}')
  ready=$(kubectl -n "$NS" get pod -l "app.kubernetes.io/instance=$release,app.kubernetes.io/component=gitspace" -o jsonpath='{.items[0].status.containerStatuses[?(@.name=="gitspace")].ready}')
  [[ "$phase" == Running && "$ready" == true ]] || { echo "pod phase '$phase', gitspace ready '$ready'"; return 1; }
  user=$(kubectl -n "$NS" exec "deploy/$release-gitspace" -c gitspace -- bash -lc 'id -un; pwd')
  [[ "$user" == $'vscode\n/home/vscode' ]] || { echo "in the gitspace: $user"; return 1; }
}

# install RELEASE CHART ARGS...: helm install with --verify against the test key, waited Ready.
install() {
  local release=$1 chart=$2
  shift 2
  helm install "$release" "$chart" -n "$NS" --version "$VERSION" --verify --keyring "$KEYRING" \
    --wait --timeout 3m --set persistence.keepOnUninstall=false --set persistence.size=1Gi "$@"
}

# drop RELEASE: uninstall it (if the install got that far) and wait until its pod is gone, so
# the next install has the node's CPUs.
drop() {
  if helm -n "$NS" status "$1" >/dev/null 2>&1; then helm -n "$NS" uninstall "$1" --wait --timeout 2m; fi
}

# http_up PORT: the chart repository's server answers with its index.
http_up() {
  local i
  for ((i = 0; i < 20; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/index.yaml" && return 0
    sleep 0.5
  done
  echo "nothing answered at http://127.0.0.1:$1/index.yaml in 10 s:"
  cat "$WORK/http.log"
  return 1
}

# tampered_refused: the same chart changed after signing (image repository swapped), pushed
# with the original provenance: helm install --verify fails before anything is created.
tampered_refused() {
  mkdir -p "$WORK/unpacked" "$WORK/tampered"
  tar xzf "$OUT/gitspace-$VERSION.tgz" -C "$WORK/unpacked"
  printf '\nimage:\n  repository: attacker.invalid/gitspace\n' >>"$WORK/unpacked/gitspace/values.yaml"
  tar czf "$WORK/tampered/gitspace-$VERSION.tgz" -C "$WORK/unpacked" gitspace
  cp "$OUT/gitspace-$VERSION.tgz.prov" "$WORK/tampered/"
  helm push "$WORK/tampered/gitspace-$VERSION.tgz" "oci://$ADDR/tampered" --plain-http
  local out
  if out=$(install dist-tampered "oci://$ADDR/tampered/gitspace" --plain-http 2>&1); then
    echo "helm install --verify of a changed package succeeded: $out"; return 1
  fi
  grep -q 'sha256 sum does not match' <<<"$out" || { echo "helm said: $out"; return 1; }
  [[ -z "$(helm -n "$NS" list -aq --filter '^dist-tampered$')" ]] || { echo "a release dist-tampered exists"; return 1; }
}

main() {
  step "chart distribution e2e in namespace $NS"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  if ! kubectl get namespace "$NS" >/dev/null 2>&1; then
    kubectl create namespace "$NS" >/dev/null
    OWN_NS=1
  fi
  shared_scripts_up "$NS"

  OUT=$WORK/charts
  VERSION=$(sed -n 's/^version: *//p' "$root/charts/gitspace/Chart.yaml")
  GITSPACE_REGISTRY_PORT=$(free_port) bash "$root/scripts/package-chart.sh" --push "$OUT"
  ADDR=$(bash "$root/scripts/registry.sh" url)

  check "helm install oci://$ADDR/charts/gitspace --verify (Ready)" install dist-oci "oci://$ADDR/charts/gitspace" --plain-http
  check "  its gitspace runs as vscode in /home/vscode" ready_as_vscode dist-oci
  check "  uninstalled" drop dist-oci

  local port
  port=$(free_port)
  python3 -m http.server --bind 127.0.0.1 --directory "$OUT" "$port" >"$WORK/http.log" 2>&1 &
  HTTP_PID=$!
  check "the chart repository served on http://127.0.0.1:$port" http_up "$port"
  check "helm repo add dist-e2e http://127.0.0.1:$port" helm repo add dist-e2e "http://127.0.0.1:$port"
  check "helm install dist-e2e/gitspace --verify (Ready)" install dist-repo dist-e2e/gitspace
  check "  its gitspace runs as vscode in /home/vscode" ready_as_vscode dist-repo
  check "  uninstalled" drop dist-repo

  check "a package changed after signing: helm install --verify refuses it, no release" tampered_refused

  printf '\nchart distribution e2e: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
