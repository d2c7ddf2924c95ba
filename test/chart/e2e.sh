#!/usr/bin/env bash
# test/chart/e2e.sh: the chart on a real cluster (the local one from test/cluster, or
# KUBECONFIG): install, `helm test` (the IDE answers on the Service; the container's uid, gid,
# passwd name, HOME, cwd and mounts read back from the volume), then the value branches that
# only a cluster proves: an SSH IDE in security.mode restricted (and a real ssh login), a user
# the image does not have, root,
# layout legacy and its upgrade to home (pre-upgrade hook), containerEnv in login shells,
# lifecycle hooks, a forwardPorts port reached through the Service, and the git identity from
# values kept as the user changed it across a new pod, the signed chart installed from an OCI
# registry and a chart repository with --verify (e2e-dist.sh), and gitspace-chart
# stop/start/reset/delete (test/chart/operations.sh). Everything runs in its own namespace, removed
# at the end.
# Needs: the cluster up and the image loaded
#   bash test/cluster/cluster.sh up && bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="chart-e2e-$$"
CHART="$root/charts/gitspace"
WORK=$(mktemp -d)
PF_PID=""

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
k() { kubectl -n "$NS" "$@"; }

cleanup() {
  [[ -z "$PF_PID" ]] || kill "$PF_PID" 2>/dev/null || true
  local r
  for r in $(helm -n "$NS" list -aq 2>/dev/null); do helm -n "$NS" uninstall "$r" --no-hooks >/dev/null 2>&1 || true; done
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# install RELEASE ARGS...: helm upgrade --install with a throwaway volume, waiting for Ready.
install() {
  local release=$1
  shift
  helm upgrade --install "$release" "$CHART" -n "$NS" --wait --timeout 5m \
    --set persistence.keepOnUninstall=false --set persistence.size=1Gi "$@"
}

# drop RELEASE: uninstall a release whose checks are done; the node has 2 CPUs and each
# gitspace requests 250m, so keeping all of them would leave the next test pod Pending.
drop() { helm -n "$NS" uninstall "$1" --wait --timeout 2m >/dev/null 2>&1 || true; }

# helm_test RELEASE: helm test, printing the test pods' logs.
helm_test() { helm test "$1" -n "$NS" --logs --timeout 5m; }

in_gitspace() { k exec "deploy/$1-gitspace" -c gitspace -- bash -lc "$2"; }

env_check() {
  local got
  # shellcheck disable=SC2016 # expanded by the gitspace's login shell, and $HOME is literal text
  got=$(in_gitspace web 'printf %s "$GREETING"')
  # shellcheck disable=SC2016
  [[ "$got" == 'it'"'"'s $HOME' ]] || { echo "GREETING is: $got"; return 1; }
}

hooks_check() {
  local got
  got=$(in_gitspace web 'sort ~/started.txt | tr "\n" " "')
  [[ "$got" == "a b " ]] || { echo "started.txt: $got"; return 1; }
}

# forwarded_port: a server the user starts on forwardPorts' 3000 answers through the Service's
# port 3000 (kubectl port-forward to the Service, as a user would).
forwarded_port() {
  # shellcheck disable=SC2016 # run by the gitspace's shell
  k exec deploy/web-gitspace -c gitspace -- bash -c 'nohup node -e "require(\"http\").createServer((q, s) => s.end(\"forwarded \" + process.env.USER)).listen(3000)" >/dev/null 2>&1 &' || return 1
  k get service web-gitspace -o jsonpath='{.spec.ports[?(@.port==3000)].name}' | grep -qx port-3000 || { echo "no port 3000 on the Service"; return 1; }
  kubectl -n "$NS" port-forward service/web-gitspace 13000:3000 >"$WORK/pf3000.log" 2>&1 &
  PF_PID=$!
  local out="" i
  for ((i = 0; i < 20; i++)); do
    out=$(curl -s --max-time 2 http://127.0.0.1:13000/ || true)
    [[ -z "$out" ]] || break
    sleep 1
  done
  kill "$PF_PID" 2>/dev/null || true
  PF_PID=""
  [[ "$out" == "forwarded vscode" ]] || { echo "port 3000 through the Service said: '$out'"; cat "$WORK/pf3000.log"; return 1; }
}

# identity_kept: git.userName from values is set once; the user's own change survives a new pod.
identity_kept() {
  [[ "$(in_gitspace web 'git config --global user.name')" == "From Values" ]] || { echo "values' name not set"; return 1; }
  in_gitspace web 'git config --global user.name "My Own Name"'
  k delete pod -l app.kubernetes.io/instance=web,app.kubernetes.io/component=gitspace --wait=false >/dev/null
  sleep 2
  k rollout status deploy/web-gitspace --timeout=3m >/dev/null
  local got
  got=$(in_gitspace web 'git config --global user.name')
  [[ "$got" == "My Own Name" ]] || { echo "after the restart user.name is '$got'"; return 1; }
}

ssh_login() {
  kubectl -n "$NS" port-forward service/ssh-gitspace 28088:8088 >"$WORK/pf.log" 2>&1 &
  PF_PID=$!
  sleep 3
  local out
  out=$(timeout 30 ssh -i "$WORK/key" -p 28088 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR vscode@127.0.0.1 'id -un; pwd')
  kill "$PF_PID" 2>/dev/null || true
  PF_PID=""
  [[ "$out" == $'vscode\n/home/vscode' ]] || { echo "ssh said: $out"; return 1; }
}

main() {
  step "chart e2e in namespace $NS"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"

  check "install (defaults, vs_code_web)" install web
  check "helm test (defaults)" helm_test web
  # shellcheck disable=SC2016 # a literal $HOME in the value: it must reach the shell unexpanded
  check "upgrade with containerEnv, hooks, forwardPorts" install web \
    --set-string 'devcontainer.containerEnv.GREETING=it'"'"'s $HOME' \
    --set 'devcontainer.postStartCommand.a=echo a >> ~/started.txt' \
    --set 'devcontainer.postStartCommand.b=echo b >> ~/started.txt' \
    --set 'devcontainer.forwardPorts={3000}' --set 'git.userName=From Values' --set git.userEmail=values@example.com
  sleep 5
  check "containerEnv in a login shell, quotes and \$ kept" env_check
  check "postStartCommand object entries both ran" hooks_check
  check "helm test after the upgrade" helm_test web
  check "forwardPorts 3000: a user's server answers through the Service" forwarded_port
  check "git identity from values, the user's own change kept after a new pod" identity_kept
  drop web

  ssh-keygen -q -t ed25519 -N '' -f "$WORK/key"
  k create secret generic ssh-keys --from-file=authorized_keys="$WORK/key.pub" >/dev/null
  # restricted: nothing runs as root, so the image must already have the user (vscode here).
  check "install SSH IDE in security.mode restricted" install ssh --set ide.type=vs_code \
    --set ssh.authorizedKeysSecret=ssh-keys --set security.mode=restricted
  check "helm test (SSH, restricted)" helm_test ssh
  check "ssh login as vscode lands in HOME" ssh_login
  drop ssh

  # standard: prepare creates a user the image does not have; passwd reaches the other containers.
  check "install custom user dev 1001:1002 (not in the image)" install dev \
    --set user.remoteUser=dev --set user.containerUser=dev --set user.uid=1001 --set user.gid=1002
  check "helm test (dev: id -un works, HOME /home/dev)" helm_test dev
  drop dev

  check "install root (HOME /root)" install root --set user.remoteUser=root --set user.containerUser=root --set user.uid=0 --set user.gid=0
  check "helm test (root)" helm_test root
  drop root

  check "install layout legacy" install old --set compat.layout=legacy
  check "helm test (legacy: volume at /workspaces only)" helm_test old
  check "upgrade legacy -> home (pre-upgrade hook)" install old --set compat.layout=home
  check "helm test after the migration" helm_test old
  check "no migration Job left after success" bash -c "! kubectl -n $NS get job old-gitspace-migrate >/dev/null 2>&1"
  drop old

  # The published chart: signed, from an OCI registry and from a chart repository (its own script,
  # runnable alone; here in this namespace).
  check "install from oci:// and from helm repo add, --verify (test/chart/e2e-dist.sh)" \
    env E2E_DIST_NS="$NS" bash "$here/e2e-dist.sh"

  # --- stop, start, reset, delete: gitspace-chart's operations (test/chart/operations.sh, its own
  # release in this namespace; its steps are printed when it fails) ---
  check "gitspace-chart stop, start, reset, delete (test/chart/operations.sh)" bash "$here/operations.sh" "$NS"

  printf '\nchart e2e: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
