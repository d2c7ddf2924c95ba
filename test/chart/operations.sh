#!/usr/bin/env bash
# test/chart/operations.sh [NAMESPACE]: gitspace-chart stop|start|reset|delete on a real cluster,
# against what Docker Gitspace's operations do (/work/shared/reference/docker-gitspace.md):
#   stop    no pod; the PVC Bound, the Service and ConfigMaps still there
#   start   Ready; a file written before the stop is still in HOME; postStartCommand ran again,
#           postCreateCommand and the git identity did not
#   reset   a new pod; postCreateCommand ran once more; the git identity from values written
#           over the user's own; HOME's files kept
#   delete  the release gone, the PVC kept (helm.sh/resource-policy: keep)
#   delete --delete-volume (after that plain delete): the PVC gone
# plus one bad input (a release that does not exist). One small gitspace (release `ops`), never two
# pods at once. NAMESPACE (default ops-test) is created and removed here unless it exists already
# (test/chart/e2e.sh passes its own). ~2 min on the local cluster.
# Needs: the cluster up and the image loaded (see test/chart/e2e.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS=${1:-ops-test}
REL=ops
DEPLOY="$REL-gitspace"
PVC="$REL-gitspace"
SEL="app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace"
OWN_NS=""

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
k() { kubectl -n "$NS" "$@"; }
gsc() { node "$root/bin/gitspace-chart.js" "$@"; }
in_gitspace() { k exec "deploy/$DEPLOY" -c gitspace -- bash -lc "$1"; }
pod_name() { k get pods -l "$SEL" -o jsonpath='{.items[*].metadata.name}'; }

cleanup() {
  helm -n "$NS" uninstall "$REL" --no-hooks --wait --timeout 2m >/dev/null 2>&1 || true
  k delete pvc -l "$SEL" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  [[ -z "$OWN_NS" ]] || kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

# lines_are FILE N: ~/FILE has N lines within 90 s (the hooks run in the background once the IDE
# listens, so Ready comes before them). Functions run by check are an if's condition, where set -e
# does not hold: every step that must stop one says || return 1.
lines_are() {
  local got="" i
  for ((i = 0; i < 90; i++)); do
    got=$(in_gitspace "wc -l < ~/$1" 2>/dev/null || true)
    [[ "$got" != "$2" ]] || return 0
    sleep 1
  done
  echo "HOME/$1 has '$got' lines, expected $2"
  in_gitspace "cat ~/.gitspace/logs/lifecycle.log" || true
  return 1
}

install() {
  helm install "$REL" "$root/charts/gitspace" -n "$NS" --wait --timeout 5m --set persistence.size=1Gi \
    --set 'devcontainer.postCreateCommand=echo created >> ~/postcreate.count' \
    --set 'devcontainer.postStartCommand=echo started >> ~/poststart.count' \
    --set 'git.userName=From Values' --set git.userEmail=values@example.com
}

prepare_home() {
  lines_are postcreate.count 1 || return 1
  lines_are poststart.count 1 || return 1
  in_gitspace 'echo written-before-stop > ~/kept.txt && git config --global user.name "My Own Name"'
}

stopped() {
  local pods replicas phase
  pods=$(k get pods -l "$SEL" -o name)
  [[ -z "$pods" ]] || { echo "pods left: $pods"; return 1; }
  replicas=$(k get deploy "$DEPLOY" -o jsonpath='{.spec.replicas}')
  [[ "$replicas" == 0 ]] || { echo "deployment replicas: $replicas"; return 1; }
  phase=$(k get pvc "$PVC" -o jsonpath='{.status.phase}')
  [[ "$phase" == Bound ]] || { echo "PVC phase: $phase"; return 1; }
  k get service "$DEPLOY" -o name || return 1
  k get configmap "$DEPLOY-env" "$DEPLOY-hooks" -o name || return 1
  # The scripts are the namespace's shared ConfigMap (docs/fleet.md), not the release's.
  k get configmap "gitspace-scripts-$(sed -n 's/^version: *//p' "$root/charts/gitspace/Chart.yaml")" -o name
}

started() {
  [[ "$(in_gitspace 'cat ~/kept.txt')" == written-before-stop ]] || { echo "HOME/kept.txt lost"; return 1; }
  lines_are poststart.count 2 || return 1
  # start is not a reset: postCreate and the identity stay as they were.
  sleep 3
  lines_are postcreate.count 1 || return 1
  [[ "$(in_gitspace 'git config --global user.name')" == "My Own Name" ]] || { echo "start rewrote the git identity"; return 1; }
}

was_reset() {
  local before=$1 now
  now=$(pod_name)
  [[ -n "$now" && "$now" != "$before" ]] || { echo "pod before: $before, after: $now"; return 1; }
  local gen
  gen=$(k get deploy "$DEPLOY" -o jsonpath='{.spec.template.metadata.annotations.gitspace\.reset\.generation}')
  [[ "$gen" =~ ^[1-9][0-9]*$ ]] || { echo "reset generation on the pod template: '$gen'"; return 1; }
  lines_are postcreate.count 2 || return 1
  lines_are poststart.count 3 || return 1
  [[ "$(in_gitspace 'cat ~/kept.txt')" == written-before-stop ]] || { echo "HOME/kept.txt lost"; return 1; }
  local name
  name=$(in_gitspace 'git config --global user.name')
  [[ "$name" == "From Values" ]] || { echo "after the reset user.name is '$name'"; return 1; }
  in_gitspace "grep -qx 'reset generation $gen' ~/.gitspace/postCreate.done"
}

deleted_kept() {
  if helm -n "$NS" status "$REL" >/dev/null 2>&1; then echo "release still there"; return 1; fi
  [[ -z "$(k get pods -l "$SEL" -o name)" ]] || { echo "pods left"; return 1; }
  k get pvc "$PVC" -o name
}

volume_gone() {
  if k get pvc "$PVC" >/dev/null 2>&1; then echo "PVC $PVC still there"; return 1; fi
}

# expect_error WANT COMMAND...: exit 1 and one line on stderr containing WANT.
expect_error() {
  local want=$1 out rc=0
  shift
  out=$("$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq 1 && $(wc -l <<<"$out") -eq 1 && "$out" == *"$want"* ]] || { echo "exit $rc: $out"; return 1; }
}

main() {
  step "gitspace-chart stop/start/reset/delete in namespace $NS"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  if ! kubectl get namespace "$NS" >/dev/null 2>&1; then
    kubectl create namespace "$NS" >/dev/null
    OWN_NS=1
  fi
  shared_scripts_up "$NS"
  local t0=$SECONDS pod

  check "install $REL (postCreate/postStart counters, git identity from values)" install
  check "postCreate and postStart ran once; a file and the user's own git identity written in HOME" prepare_home
  check "stop --wait" gsc stop "$REL" -n "$NS" --wait
  check "stopped: no pod, 0 replicas, PVC Bound, Service and ConfigMaps kept" stopped
  check "start --wait" gsc start "$REL" -n "$NS" --wait
  check "started: HOME file kept, postStart ran again, postCreate and the identity did not" started
  pod=$(pod_name)
  check "reset --wait" gsc reset "$REL" -n "$NS" --wait
  check "reset: a new pod, postCreate ran again (marker has the new generation), identity from values again, HOME file kept" was_reset "$pod"
  check "a release that does not exist: one line naming it" expect_error 'RELEASE: no release "nosuch"' gsc stop nosuch -n "$NS"
  check "delete --wait" gsc delete "$REL" -n "$NS" --wait
  check "deleted: release and pod gone, PVC kept" deleted_kept
  check "delete --delete-volume after the delete" gsc delete "$REL" -n "$NS" --delete-volume --wait
  check "the PVC is gone" volume_gone

  printf '\noperations: %d passed, %d failed%s (%ss)\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" "$((SECONDS - t0))" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
