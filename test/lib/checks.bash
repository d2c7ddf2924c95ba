# shellcheck shell=bash
# The named-check harness of the cluster test scripts (e2e, migration, full
# volume, operations, distribution): each check runs one command, counts as
# passed or failed, and shows the command's output only when it fails. The
# caller prints its own summary from PASS and FAILED.
# shellcheck disable=SC2034 # PASS and FAILED are read by the caller
PASS=0
FAILED=()

ok() { PASS=$((PASS + 1)); printf '  ok   %s\n' "$1" >&2; }
nok() { FAILED+=("$1"); printf '  FAIL %s\n' "$1" >&2; }
# check NAME COMMAND...: one named check; its output is shown only when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else nok "$name"; printf '%s\n' "$out" | tail -n 30 >&2; fi
}

# Shared by the cluster scripts that test one gitspace release: they set NS, REL and DEP
# (the release's Deployment) before calling these.

# gitspace_ready [TIMEOUT]: the release's rollout is done and its one gitspace pod Ready (the
# old one gone); when not, the pod and the namespace's last events, for the failed check.
gitspace_ready() {
  local t=${1:-3m} sel="app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace"
  if ! kubectl -n "$NS" rollout status "deploy/$DEP" --timeout="$t" >/dev/null ||
    ! kubectl -n "$NS" wait pod -l "$sel" --for=condition=Ready --timeout="$t" >/dev/null; then
    kubectl -n "$NS" get pod -l "$sel" -o wide
    kubectl -n "$NS" get events --sort-by=.lastTimestamp | tail -n 8
    return 1
  fi
}

# small_pv_mnt NAME: where `cluster.sh small-pv NAME` mounts the PV's disk on the node (a
# separate shell: the cluster's common.sh is not meant to be sourced into a test script).
small_pv_mnt() {
  local common
  common="$(cd "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib" && pwd)/common.sh"
  bash -c 'source "$1" && printf "%s" "$CLUSTER_DATA/pv-small/mnt/$2"' _ "$common" "$1"
}

# The next version of the language image (gitspace-chart/test-lang), for the image-upgrade tests
# (persist.sh, upgrade-full.sh): HOME's .bashrc and .profile changed, .bash_logout dropped, a new
# ~/.config/next-tool/config, six new tools in /go/bin, one in npm's global prefix. Built from the
# cache (same id each run, so load-image imports it once per machine).
LANG_NEXT=gitspace-chart/test-lang-next:0.1.0
lang_next_image() {
  local cluster
  cluster="$(cd "$(dirname "${BASH_SOURCE[0]}")/../cluster" && pwd)/cluster.sh"
  docker build -q -t "$LANG_NEXT" - >/dev/null <<'DOCKERFILE' && bash "$cluster" load-image "$LANG_NEXT"
FROM gitspace-chart/test-lang:0.1.0
RUN echo '# added by the next image' >>/home/vscode/.bashrc \
 && echo '# the next image changed this too' >>/home/vscode/.profile \
 && rm /home/vscode/.bash_logout \
 && mkdir -p /home/vscode/.config/next-tool \
 && echo 'from the next image' >/home/vscode/.config/next-tool/config \
 && chown -R vscode:vscode /home/vscode \
 && for i in 1 2 3 4 5 6; do printf '#!/bin/sh\necho imagetool-%s\n' "$i" >/go/bin/imagetool-$i; done \
 && chown root:golang /go/bin/imagetool-* && chmod 775 /go/bin/imagetool-* \
 && printf '#!/bin/sh\necho npmtool\n' >/usr/local/share/npm-global/bin/npmtool \
 && chown root:npm /usr/local/share/npm-global/bin/npmtool && chmod 775 /usr/local/share/npm-global/bin/npmtool
DOCKERFILE
}

# sh_in CMD: CMD in the gitspace as the user (kubectl exec).
sh_in() { kubectl -n "$NS" exec "deploy/$DEP" -c gitspace -- bash -c "$1"; }

# ssh_in CMD: CMD over SSH as vscode with the key $WORK/key, through a port-forward to the pod
# on a port kubectl picks (started and ended here: a check runs in a subshell).
ssh_in() {
  local pf port="" i out rc=0
  kubectl -n "$NS" port-forward "deploy/$DEP" --address 127.0.0.1 :8088 >"$WORK/pf.log" 2>&1 &
  pf=$!
  for ((i = 0; i < 40; i++)); do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/pf.log" | head -n 1)
    [[ -z "$port" ]] || break
    sleep 0.25
  done
  if [[ -z "$port" ]]; then
    kill "$pf" 2>/dev/null || :
    cat "$WORK/pf.log"
    return 1
  fi
  out=$(timeout 30 ssh -i "$WORK/key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR vscode@127.0.0.1 "$1" 2>&1) || rc=$?
  kill "$pf" 2>/dev/null || :
  wait "$pf" 2>/dev/null || :
  printf '%s\n' "$out"
  return "$rc"
}
