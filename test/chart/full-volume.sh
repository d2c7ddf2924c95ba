#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted commands run in the gitspace's shell
# test/chart/full-volume.sh: a full volume never locks the user out (docs/chart.md, "When the
# volume is full"), on the real cluster with a real small volume: a gitspace on a 160Mi PV
# (StorageClass local-small, made by `cluster.sh small-pv`), HOME filled by the user, the pod
# deleted; then what the user sees: the pod Ready, code-server's workbench through a port-forward,
# the banner in a login shell, `gitspace-chart resize` refused (local volumes cannot grow) and so
# is a bigger persistence.size in `helm upgrade`; `gitspace-chart rescue` gives a shell with
# no IDE, where the user deletes the file; `rescue --off` and the gitspace is normal again (no
# banner). Own namespace and PV, both removed at the end. About 2-3 minutes.
# Needs: the cluster up and the image loaded
#   bash test/cluster/cluster.sh up && bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="full-volume-$$"
PV="full-volume-$$"
REL=fv
DEP="$REL-gitspace"
CHART="$root/charts/gitspace"
CLI=(node "$root/bin/gitspace-chart.js")
WORK=$(mktemp -d)
PF_PID=""
BANNER_TAIL="bytes free; delete files or ask for a bigger volume"

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
k() { kubectl -n "$NS" "$@"; }

cleanup() {
  [[ -z "$PF_PID" ]] || kill "$PF_PID" 2>/dev/null || true
  helm -n "$NS" uninstall "$REL" --wait --timeout 2m >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=true --timeout=2m >/dev/null 2>&1 || true
  bash "$root/test/cluster/cluster.sh" small-pv-delete "$PV" >/dev/null 2>&1 || log_warn "PV $PV left behind: bash test/cluster/cluster.sh small-pv-delete $PV"
  rm -rf "$WORK"
}
trap cleanup EXIT

pod() { k get pod -l "app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace" -o jsonpath='{.items[0].metadata.name}'; }

# ready: the one gitspace pod is Ready (the old one gone).
ready() { gitspace_ready 3m; }

# free_bytes: what the user can still write in HOME.
free_bytes() { k exec "deploy/$DEP" -c gitspace -- sh -c 'stat -f -c "%a * %S" "$HOME" | xargs expr'; }

# fill_home: the user writes one big file until HOME is full. On ext4 fallocate of every free
# block runs out of space for its own extent tree: that ENOSPC is the expected end, any other error is not.
fill_home() {
  local out f
  out=$(k exec "deploy/$DEP" -c gitspace -- sh -c 'fallocate -l "$(stat -f -c "%a * %S" "$HOME" | xargs expr)" "$HOME/filler"' 2>&1) ||
    [[ "$out" == *"No space left on device"* ]] || { echo "filling HOME: $out"; return 1; }
  f=$(free_bytes)
  [[ "$f" == 0 ]] || { echo "HOME still has $f bytes free"; return 1; }
}

restart_pod() {
  k delete pod "$(pod)" --wait=true --timeout=2m >/dev/null && ready
}

# workbench: code-server's page through a port-forward on 127.0.0.1, as a user opens it.
workbench() {
  # A free local port, picked by kubectl (a fixed one clashes with the demo's or another test's).
  kubectl -n "$NS" port-forward "deploy/$DEP" --address 127.0.0.1 :8089 >"$WORK/pf.log" 2>&1 &
  PF_PID=$!
  local page="" i port=""
  for ((i = 0; i < 30; i++)); do
    [[ -n "$port" ]] || port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/pf.log" | head -n 1)
    if [[ -n "$port" ]]; then page=$(curl -fsSL --max-time 5 "http://127.0.0.1:$port/" 2>/dev/null) && break; fi
    sleep 1
  done
  kill "$PF_PID" 2>/dev/null || true
  wait "$PF_PID" 2>/dev/null || true
  PF_PID=""
  [[ "$page" == *'id="vscode-workbench-web-configuration"'* && "$page" == *workbench.js* ]] ||
    { echo "not the workbench: ${page:0:300}"; cat "$WORK/pf.log"; return 1; }
}

banner_in_login_shell() {
  local out
  out=$(k exec "deploy/$DEP" -c gitspace -- bash -l -c true 2>&1)
  [[ "$out" == *"HOME is full: 0 $BANNER_TAIL"* ]] || { echo "bash -l said: $out"; return 1; }
}

no_banner_in_login_shell() {
  local out
  out=$(k exec "deploy/$DEP" -c gitspace -- bash -l -c true 2>&1)
  [[ -z "$out" ]] || { echo "bash -l said: $out"; return 1; }
}

one_log_line() {
  local n
  n=$(k logs "deploy/$DEP" -c gitspace | grep -c "WARN: HOME is full: 0 $BANNER_TAIL")
  [[ "$n" == 1 ]] || { echo "$n banner lines in the log"; k logs "deploy/$DEP" -c gitspace | tail -20; return 1; }
}

no_restarts() {
  local n
  n=$(k get pod "$(pod)" -o jsonpath='{.status.containerStatuses[0].restartCount}')
  [[ "$n" == 0 ]] || { echo "restartCount $n"; k get events --field-selector reason=FailedPostStartHook; return 1; }
}

resize_refused() {
  local out rc=0
  out=$("${CLI[@]}" resize "$REL" 320Mi -n "$NS" 2>&1) || rc=$?
  [[ $rc == 1 && "$out" == *"persistence.size: StorageClass local-small does not allow volume expansion (allowVolumeExpansion is not true), so the claim $DEP cannot grow from 160Mi to 320Mi; nothing was changed"* ]] ||
    { echo "rc $rc: $out"; return 1; }
}

helm_grow_refused() {
  local out rc=0
  out=$(helm upgrade "$REL" "$CHART" -n "$NS" --reset-then-reuse-values --set persistence.size=320Mi 2>&1) || rc=$?
  [[ $rc != 0 && "$out" == *"persistence.size: the claim $DEP cannot grow from 160Mi to 320Mi: StorageClass local-small does not allow volume expansion"* ]] ||
    { echo "rc $rc: $out"; return 1; }
  [[ "$(helm -n "$NS" history "$REL" -o json | jq -r '.[-1].status')" == deployed ]] || { echo "last revision is not deployed"; return 1; }
}

rescue_shell() {
  local out
  out=$(k exec "deploy/$DEP" -c gitspace -- bash -c 'echo "uid=$(id -u) home=$HOME"; ls "$HOME/filler"; if (exec 3<>/dev/tcp/127.0.0.1/8089) 2>/dev/null; then echo "IDE port open"; else echo "no IDE"; fi')
  [[ "$out" == $'uid=1000 home=/home/vscode\n/home/vscode/filler\nno IDE' ]] || { echo "rescue shell said: $out"; return 1; }
  grep -q "RESCUE MODE: no init steps, no IDE" <<<"$(k logs "deploy/$DEP" -c gitspace)" || { echo "no rescue line in the log"; return 1; }
}

main() {
  step "full volume on the cluster: namespace $NS, PV $PV"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  bash "$root/test/cluster/cluster.sh" small-pv "$PV" 160Mi
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"

  check "install on a 160Mi volume (StorageClass local-small)" helm install "$REL" "$CHART" -n "$NS" --wait --timeout 5m \
    --set persistence.storageClass=local-small --set persistence.size=160Mi --set persistence.keepOnUninstall=false
  check "the user fills HOME (0 bytes free)" fill_home
  check "the pod restarts and becomes Ready on the full volume" restart_pod
  check "no container restart, no FailedPostStartHook" no_restarts
  check "code-server answers with the workbench (port-forward on 127.0.0.1)" workbench
  check "a login shell shows 'HOME is full: 0 $BANNER_TAIL'" banner_in_login_shell
  check "one line in the container log says why" one_log_line
  check "gitspace-chart resize is refused: local volumes cannot grow" resize_refused
  check "helm upgrade with a bigger persistence.size is refused before anything changes" helm_grow_refused
  check "gitspace-chart rescue: the pod is Ready with no IDE" "${CLI[@]}" rescue "$REL" -n "$NS" --timeout 3m
  check "rescue: kubectl exec gives a shell as the user with HOME on the volume" rescue_shell
  check "rescue: the user deletes the file that filled HOME" k exec "deploy/$DEP" -c gitspace -- rm /home/vscode/filler
  check "gitspace-chart rescue --off: the gitspace is back" "${CLI[@]}" rescue "$REL" -n "$NS" --off --timeout 3m
  check "code-server answers with the workbench again" workbench
  check "no banner in a login shell once HOME has room" no_banner_in_login_shell

  printf '\nfull volume: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
