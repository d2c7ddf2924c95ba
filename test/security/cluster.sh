#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted commands run in the pod, where $HOME is the user's
# Security on a real cluster: Pod Security admission (restricted mode under enforce=restricted,
# standard under baseline and refused under restricted), SSH key-only login as the user, no
# service-account token, the NetworkPolicy, git credentials nowhere but the clone step, and
# recovery from faults (pod killed while seeding and while cloning, kubelet restarted).
# Needs the cluster up and the image loaded (test/security/run.sh does both).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}
REPO_ROOT=$root
# shellcheck source=test/bats/helpers/git-server.bash
source "$root/test/bats/helpers/git-server.bash"

CHART=$root/charts/gitspace
NS_R=gs-sec-restricted-$$
NS_B=gs-sec-baseline-$$
WORK=$(mktemp -d)
PF_PID=''
declare -a PASSED=() FAILED=()

ok() { PASSED+=("$1"); printf '  ok   %s\n' "$1"; }
nok() { FAILED+=("$1"); printf '  FAIL %s\n' "$1"; }
# check NAME COMMAND...: one named check; its output is shown only when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$name"; [[ -z $out ]] || printf '%s\n' "$out" | tail -n 4 | cut -c1-200 | sed 's/^/       | /'
  else
    nok "$name"; printf '%s\n' "$out" | tail -n 25 | sed 's/^/       | /'
  fi
}

cleanup() {
  [[ -z $PF_PID ]] || kill "$PF_PID" 2>/dev/null || true
  git_server_stop "$WORK/git" 2>/dev/null || true
  local ns r
  for ns in "$NS_R" "$NS_B"; do
    for r in $(helm -n "$ns" list -aq 2>/dev/null); do helm -n "$ns" uninstall "$r" --no-hooks >/dev/null 2>&1 || true; done
    kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The git server listens on the cluster bridge's gateway, which pods reach; nothing else.
# Pods reach the host at the pod bridge (cni0, made by the first pod) and at
# docker0 (as the demo's git server): a freshly started cluster has no cni0 yet.
GW=$(bridge_ip cni0)
[[ -n $GW ]] || GW=$(bridge_ip docker0)
[[ -n $GW ]] || die "neither cni0 nor docker0 has an IPv4 address: is the cluster up (cluster.sh up) and the Docker engine running?"
git_server_fixtures "$WORK/git"
PORT=$(git_server_start "$WORK/git" "$GW")
# 20 ms per 4 KiB: the 3 MB big.git takes ~15 s to clone, long enough to kill it half-way.
SLOW_PORT=$(git_server_start "$WORK/git" "$GW" 20)
PASSWORD=$GIT_PASSWORD
printf '%s\n' "$PASSWORD" >"$WORK/pattern"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/key"

for ns in "$NS_R" "$NS_B"; do
  kubectl create namespace "$ns" >/dev/null
  shared_scripts_up "$ns"
  kubectl -n "$ns" create secret generic git-creds --from-literal=username=gituser --from-file=password="$WORK/git/password" >/dev/null
  kubectl -n "$ns" create secret generic ssh-keys --from-file=authorized_keys="$WORK/key.pub" >/dev/null
done
kubectl label namespace "$NS_R" pod-security.kubernetes.io/enforce=restricted >/dev/null
kubectl label namespace "$NS_B" pod-security.kubernetes.io/enforce=baseline >/dev/null

# install NS RELEASE ARGS...: a throwaway volume; waits for Ready unless ARGS say otherwise.
install() {
  local ns=$1 release=$2
  shift 2
  helm upgrade --install "$release" "$CHART" -n "$ns" --wait --timeout 4m \
    --set persistence.keepOnUninstall=false --set persistence.size=1Gi "$@" && return 0
  # Why it is not Ready: the pod's warnings and its containers' last lines.
  kubectl -n "$ns" get events --field-selector type=Warning -o custom-columns=R:.reason,M:.message --no-headers | tail -n 4
  kubectl -n "$ns" logs "$(pod_of "$ns" "$release")" --all-containers --prefix --tail 5 2>&1 | tail -n 10
  return 1
}
pod_of() { kubectl -n "$1" get pod -l "app.kubernetes.io/instance=$2,app.kubernetes.io/component!=test" -o name | head -1; }
in_main() { kubectl -n "$1" exec -i "deploy/$2-gitspace" -c gitspace -- sh -c "$3"; }
ready() { kubectl -n "$1" wait --for=condition=Ready "$(pod_of "$1" "$2")" --timeout="${3:-240s}"; }

# --- Pod Security
step "Pod Security admission"
check "restricted mode (SSH IDE, private repo, NetworkPolicy) is admitted and Ready under enforce=restricted" \
  install "$NS_R" r --set security.mode=restricted --set ide.type=vs_code --set ssh.authorizedKeysSecret=ssh-keys \
  --set "repo.url=http://$GW:$PORT/plain.git" --set repo.credentials.existingSecret=git-creds --set networkPolicy.enabled=true
# b keeps the clone-only posture (repo.credentials.inGitspace=false); r has the default (in the gitspace too).
check "standard mode (SSH IDE, private repo, credentials for the clone only) is admitted and Ready under enforce=baseline" \
  install "$NS_B" b --set ide.type=vs_code --set ssh.authorizedKeysSecret=ssh-keys --set "repo.url=http://$GW:$PORT/withdc.git" --set repo.credentials.existingSecret=git-creds \
  --set repo.credentials.inGitspace=false

standard_refused() {
  helm install s "$CHART" -n "$NS_R" --set ide.type=vs_code --set ssh.authorizedKeysSecret=ssh-keys --set persistence.keepOnUninstall=false --set persistence.size=1Gi >/dev/null
  local _ ev
  for _ in $(seq 1 30); do
    ev=$(kubectl -n "$NS_R" get events --field-selector reason=FailedCreate -o jsonpath='{.items[*].message}')
    if [[ $ev == *'violates PodSecurity "restricted'* ]]; then
      [[ -z $(pod_of "$NS_R" s) ]] || { echo "a pod of release s exists"; return 1; }
      printf '%s\n' "$ev" | grep -o 'violates PodSecurity[^:]*' | head -1
      return 0
    fi
    sleep 1
  done
  echo "no PodSecurity refusal within 30 s; events: $ev"
  return 1
}
check "standard mode is REFUSED under enforce=restricted (the label is enforced)" standard_refused
helm -n "$NS_R" uninstall s >/dev/null 2>&1 || true

# --- SSH
step "SSH: key only, as the user"
port_forward() {
  # A local port the kernel picks: a fixed one may be held by a concurrent test.
  kubectl -n "$NS_R" port-forward --address 127.0.0.1 service/r-gitspace :8088 >"$WORK/pf.log" 2>&1 &
  PF_PID=$!
  local _
  for _ in $(seq 1 30); do
    # A file, not a variable: check runs this in a subshell.
    sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$WORK/pf.log" >"$WORK/lport"
    [[ ! -s $WORK/lport ]] || return 0
    sleep 0.5
  done
  cat "$WORK/pf.log"; return 1
}
# sshc ARGS...: ssh through the port-forward, never trusting or recording the host key.
sshc() {
  timeout 30 ssh -p "$(cat "$WORK/lport")" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 "$@"
}
ssh_key_login() {
  local out
  out=$(sshc -i "$WORK/key" -o BatchMode=yes vscode@127.0.0.1 'pwd; id')
  echo "$out"
  [[ $out == $'/home/vscode\nuid=1000(vscode) gid=1000(vscode)'* ]]
}
ssh_password_refused() {
  local out rc=0
  out=$(sshc -o PreferredAuthentications=password -o PubkeyAuthentication=no -o BatchMode=yes \
    -o NumberOfPasswordPrompts=0 vscode@127.0.0.1 true 2>&1) || rc=$?
  echo "rc=$rc $out"
  ((rc != 0)) && [[ $out == *'Permission denied (publickey)'* ]]
}
ssh_root_refused() {
  local out rc=0
  out=$(sshc -i "$WORK/key" -o BatchMode=yes root@127.0.0.1 id 2>&1) || rc=$?
  echo "rc=$rc $out"
  ((rc != 0)) && [[ $out == *'Permission denied'* ]]
}
# sshd_as_user: an sshd runs, and every sshd process belongs to vscode.
sshd_as_user() {
  local procs
  procs=$(in_main "$NS_R" r 'ps -eo user:32,comm | awk "\$2 ~ /sshd/"') || return 1
  echo "$procs"
  [[ -n $procs ]] && ! awk '$1 != "vscode"' <<<"$procs" | grep -q .
}
if check "port-forward to the SSH Service" port_forward; then
  check "ssh with the Secret's key logs in as vscode in /home/vscode" ssh_key_login
  check "password login is refused: Permission denied (publickey)" ssh_password_refused
  check "root login is refused" ssh_root_refused
fi
check "sshd runs as the user (no root sshd)" sshd_as_user
[[ -z $PF_PID ]] || kill "$PF_PID" 2>/dev/null || true
PF_PID=''

# --- service account, NetworkPolicy
step "No API token; NetworkPolicy"
no_token() {
  local ns=$1 rel=$2
  local got
  got=$(in_main "$ns" "$rel" 'if test -e /var/run/secrets/kubernetes.io/serviceaccount; then echo present; else echo absent; fi') || return 1
  echo "/var/run/secrets/kubernetes.io/serviceaccount: $got"
  [[ $got == absent ]] || return 1
  [[ $(kubectl -n "$ns" get "$(pod_of "$ns" "$rel")" -o jsonpath='{.spec.automountServiceAccountToken}') == false ]]
}
check "no service-account token in the restricted gitspace" no_token "$NS_R" r
check "no service-account token in the standard gitspace" no_token "$NS_B" b
netpol() {
  local got
  got=$(kubectl -n "$NS_R" get networkpolicy -o json | jq -c '[.items[] | {t: .spec.policyTypes, p: [.spec.ingress[].ports[] | .port]}]')
  echo "$got"
  [[ $got == '[{"t":["Ingress"],"p":[8088]}]' || $got == '[{"t":["Ingress"],"p":["ide"]}]' ]]
}
check "NetworkPolicy: ingress to the IDE port only" netpol

# --- git credentials
step "Git credentials: never in HOME, env, argv or logs; in the gitspace only with inGitspace"
# The password is read from a file inside the container (stdin), so grep's own argv never holds it.
secret_nowhere() {
  local ns=$1 rel=$2 repo=$3 hits logs
  in_main "$ns" "$rel" "test -f \$HOME/$repo/.git/HEAD && git -C \$HOME/$repo log --oneline -1" || { echo "clone missing"; return 1; }
  # grep exits 2 on the unreadable /proc entries of other users, so its status
  # says nothing: a canary file holding the password must be found instead,
  # which proves the search ran and could match.
  hits=$(in_main "$ns" "$rel" 'p=$(mktemp /tmp/p.XXXXXX); cat >"$p"; cp "$p" "$p.canary"; grep -rlsF -f "$p" "$p.canary" "$HOME" /workspaces /proc/[0-9]*/environ /proc/[0-9]*/cmdline; rm -f "$p" "$p.canary"; exit 0' <"$WORK/pattern")
  [[ $hits == /tmp/p.*.canary* ]] || { echo "the search did not find its own canary: '$hits'"; return 1; }
  hits=$(sed '/^\/tmp\/p\..*\.canary$/d' <<<"$hits")
  kubectl -n "$ns" logs "$(pod_of "$ns" "$rel")" --all-containers --prefix >"$WORK/logs-$rel"
  [[ -s $WORK/logs-$rel ]] || { echo "the pod logged nothing: nothing to search"; return 1; }
  # grep -c: status 1 is "no line matched", the answer wanted; 2 would be an error.
  logs=$(grep -cF -f "$WORK/pattern" "$WORK/logs-$rel") || [[ $? == 1 ]]
  echo "files with the password: ${hits:-none}; log lines: $logs"
  in_main "$ns" "$rel" "git -C \$HOME/$repo config --get remote.origin.url"
  [[ -z $hits && $logs == 0 ]]
}
# git_in_gitspace NS REL REPO: a shell in the gitspace fetches and pushes (a new branch) with no prompt.
git_in_gitspace() {
  in_main "$1" "$2" "cd \$HOME/$3 && export GIT_TERMINAL_PROMPT=0 && git fetch origin && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m pushed && git push origin HEAD:refs/heads/pushed-from-$2"
}
check "inGitspace (default): git fetch and git push work from a shell in the gitspace" git_in_gitspace "$NS_R" r plain
check "inGitspace (default): the push reached the server" git --git-dir "$WORK/git/repos/plain.git" rev-parse --verify -q refs/heads/pushed-from-r
check "restricted, inGitspace: password in no file under HOME, no environ/cmdline, no log (after fetch and push)" secret_nowhere "$NS_R" r plain
no_credentials_in_gitspace() {
  in_main "$NS_B" b 'if test -e /gitspace/git-credentials; then echo "/gitspace/git-credentials present"; exit 1; fi; echo absent'
  # Without credentials the fetch is refused (no prompt: GIT_TERMINAL_PROMPT=0).
  ! in_main "$NS_B" b "cd \$HOME/withdc && GIT_TERMINAL_PROMPT=0 git fetch origin"
}
check "inGitspace false: no credentials in the gitspace, git fetch refused there" no_credentials_in_gitspace
check "standard, clone only: password in no file under HOME, no environ/cmdline, no log" secret_nowhere "$NS_B" b withdc
# The private repositories were served (status 200) to the clones, so the
# credentials were used; the server's log never holds the password.
served_with_credentials() {
  grep -E '"GET /(plain|withdc)\.git/info/refs\?service=git-upload-pack HTTP/[0-9.]+" 200' "$WORK/git/server.log" | tail -n 2
  grep -qE '"GET /plain\.git/info/refs\?service=git-upload-pack HTTP/[0-9.]+" 200' "$WORK/git/server.log" &&
    grep -qE '"GET /withdc\.git/info/refs\?service=git-upload-pack HTTP/[0-9.]+" 200' "$WORK/git/server.log" &&
    ! grep -qF -f "$WORK/pattern" "$WORK/git/server.log"
}
check "the git server served both private repositories with credentials; its log has no password" served_with_credentials

# --- faults
step "Faults: each recovers on the next start, nothing lost"
# tree_sums NS REL CONTAINER: checksums of ~/keep (written by write_tree).
write_tree() {
  kubectl -n "$1" exec "$(pod_of "$1" "$2")" -c "$3" -- sh -c \
    'mkdir -p "$HOME/keep/d" && for i in 1 2 3 4 5; do head -c 20000 /dev/urandom >"$HOME/keep/d/f$i"; done && cd "$HOME" && find keep -type f | sort | xargs sha256sum'
}
# Retried: right after a kubelet restart the pod is Ready before exec reaches it ("pod does not exist").
tree_sums() {
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    in_main "$1" "$2" 'cd "$HOME" && find keep -type f | sort | xargs sha256sum' 2>/dev/null && return 0
    sleep 2
  done
  return 1
}
# container_running NS REL IDX [initContainerStatuses|containerStatuses]
container_running() {
  local ns=$1 rel=$2 idx=$3 kind=${4:-initContainerStatuses} pod
  pod=$(pod_of "$ns" "$rel")
  [[ -n $pod ]] && [[ -n $(kubectl -n "$ns" get "$pod" -o jsonpath="{.status.${kind}[$idx].state.running.startedAt}" 2>/dev/null) ]]
}
wait_running() {
  local _
  for _ in $(seq 1 200); do container_running "$@" && return 0; sleep 0.3; done
  echo "container $3 (${4:-initContainerStatuses}) of $2 never ran"; return 1
}
# kill_pod NS REL: SIGKILL 1 s after SIGTERM, then wait until it is gone. Not --force: that drops
# the API object while the containers still hold the volume, and the cluster's PV recycler may
# then reformat a disk that is still mounted in them.
kill_pod() {
  local pod
  pod=$(pod_of "$1" "$2")
  kubectl -n "$1" delete "$pod" --grace-period=1 --wait=false >/dev/null
  kubectl -n "$1" wait --for=delete "$pod" --timeout=90s >/dev/null
}

# A big HOME (bighome.Dockerfile): seeding takes long enough to be interrupted.
BIG_IMAGE=gitspace-chart/security-bighome
big_sum() { sh -c 'cd "$0" && find big -type f | sort | xargs sha256sum' "$1"; }
kill_during_seed() {
  local want got _ seeding='' pod
  want=$(docker run --rm --entrypoint sh "$BIG_IMAGE:0.1.0" -c "$(declare -f big_sum); big_sum /home/vscode")
  helm install seed "$CHART" -n "$NS_B" --set persistence.keepOnUninstall=false --set persistence.size=1Gi \
    --set image.repository=$BIG_IMAGE --set ide.type=vs_code --set ssh.authorizedKeysSecret=ssh-keys >/dev/null
  # The copy takes seconds and the API reports a running container late: an exec waits inside
  # the container for the seeding marker, prints how far the copy got, then SIGKILLs cp, as a
  # crash would; prepare then fails and the kubelet starts it again. The exec itself dies with the
  # container, so its printed line, not its exit status, says it got there.
  for _ in $(seq 1 100); do
    pod=$(pod_of "$NS_B" seed)
    seeding=$(kubectl -n "$NS_B" exec "$pod" -c prepare -- sh -c '
      i=0; until test -e /gitspace/volume/.gitspace/seeding; do i=$((i+1)); [ $i -lt 400 ] || exit 1; sleep 0.05; done
      sleep 0.2  # the whole copy takes about a second (page cache): kill early
      pids=$(grep -lx cp /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3)
      [ -n "$pids" ] || { echo "no cp running"; exit 0; }
      cd /gitspace/volume/big 2>/dev/null && echo "$(find . -type f | wc -l) of 5080 files, $(find blobs -type f -size -4096k 2>/dev/null | wc -l) short"
      kill -9 $pids' 2>/dev/null || true)
    [[ -z $seeding ]] || break
    sleep 0.2
  done
  [[ -n $seeding ]] || { echo "never saw .gitspace/seeding: the kill would not hit the copy"; return 1; }
  echo "cp killed while seeding: $seeding"
  # Killed after the copy had finished would prove nothing.
  [[ $seeding == *'of 5080 files'* && $seeding != '5080 of 5080 files, 0 short' ]] || { echo "the kill did not hit the copy"; return 1; }
  ready "$NS_B" seed || return 1
  in_main "$NS_B" seed 'test ! -e "$HOME/.gitspace/seeding" && test -s "$HOME/.gitspace/seeded"' || { echo "seed markers wrong"; return 1; }
  got=$(in_main "$NS_B" seed "$(declare -f big_sum); big_sum \$HOME")
  [[ $got == "$want" ]] || { echo "HOME differs from the image's (< image, > volume):"; diff <(echo "$want") <(echo "$got") | head -8; return 1; }
  echo "every file of the image's ~/big on the volume, byte for byte"
}
kill_during_clone() {
  helm install slow "$CHART" -n "$NS_B" --set persistence.keepOnUninstall=false --set persistence.size=1Gi \
    --set "repo.url=http://$GW:$SLOW_PORT/big.git" --set repo.credentials.existingSecret=git-creds \
    --set ide.type=vs_code --set ssh.authorizedKeysSecret=ssh-keys >/dev/null
  # The clone is start.sh's first step in the gitspace container (docs/start-path.md).
  wait_running "$NS_B" slow 0 containerStatuses
  local before after
  before=$(write_tree "$NS_B" slow gitspace) || return 1
  sleep 4
  kubectl -n "$NS_B" exec "$(pod_of "$NS_B" slow)" -c gitspace -- sh -c 'ls "$HOME/.gitspace/tmp"; test ! -e "$HOME/big"' ||
    { echo "the clone was not in progress when killed"; return 1; }
  kill_pod "$NS_B" slow
  ready "$NS_B" slow 300s || return 1
  after=$(tree_sums "$NS_B" slow)
  [[ $before == "$after" ]] || { printf 'before:\n%s\nafter:\n%s\n' "$before" "$after"; return 1; }
  in_main "$NS_B" slow 'git -C "$HOME/big" fsck --no-progress && git -C "$HOME/big" cat-file -e HEAD:blob && ls -A "$HOME/.gitspace/tmp"'
}
restart_kubelet() {
  local before after uid0 uid1
  before=$(write_tree "$NS_B" b gitspace) || return 1
  uid0=$(kubectl -n "$NS_B" get "$(pod_of "$NS_B" b)" -o jsonpath='{.metadata.uid}')
  # Only kubelet: cluster.sh's own functions stop and start it the way `up` does.
  (
    # shellcheck source=test/cluster/cluster.sh
    source "$root/test/cluster/cluster.sh"
    daemon_stop kubelet && kubelet_up && wait_node_ready
  ) || return 1
  ready "$NS_B" b || return 1
  uid1=$(kubectl -n "$NS_B" get "$(pod_of "$NS_B" b)" -o jsonpath='{.metadata.uid}')
  after=$(tree_sums "$NS_B" b)
  echo "pod $uid0 -> $uid1"
  [[ $before == "$after" ]] || { printf 'before:\n%s\nafter:\n%s\n' "$before" "$after"; return 1; }
}
check "seeding killed mid-copy (SIGKILL): the next start re-seeds, Ready, every image file intact" kill_during_seed
check "pod killed mid-clone (slow server): clone completes on the next start, ~/keep intact" kill_during_clone
check "kubelet restarted under a running gitspace: node and pod Ready, ~/keep intact" restart_kubelet

printf '\nsecurity cluster: %d passed, %d failed\n' "${#PASSED[@]}" "${#FAILED[@]}"
((${#FAILED[@]} == 0)) || printf 'failed: %s\n' "${FAILED[@]}"
((${#FAILED[@]} == 0))
