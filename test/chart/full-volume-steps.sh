#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted commands run in the gitspace's shell
# test/chart/full-volume-steps.sh: every step that writes at a start, on a real small volume of
# the local cluster that is full (ENOSPC) or read-only (docs/chart.md, "When the volume is full"):
# a line naming the step and the free space, nothing half-written left, and the next start
# after space is freed finishes the job. One SSH gitspace (ide vs_code) on one small PV
# (StorageClass local-small, `cluster.sh small-pv`), a repository on a git server on the pods'
# bridge, a postCreateCommand that fills HOME on its first run. In order:
#   1. seeding: the disk has less room than the image's HOME -> the start stops with the reason;
#      the admin grows the disk (`gitspace-chart stop`, `cluster.sh small-pv-grow`, `start`):
#      seeding finishes, the repository is cloned;
#   2. lifecycle marker: postCreateCommand fills HOME, its marker cannot be written: one line
#      says so, no temp file, SSH stays up;
#   3. ownership fix, clone, postCreate on a full HOME at the next start: each deferred with its
#      line, SSH logs in with the key and the login shell shows the banner;
#   4. the user frees HOME: the next start records the owner, clones, runs postCreateCommand;
#   5. read-only: the disk remounted read-only (ext4's errors=remount-ro): SSH logs in, the
#      banner says read-only, the files are intact.
# What is checked is what the user sees (the pod Ready, ssh, the banner, the pod's log lines of
# all its containers, files in HOME), not which container did the work. Own namespace, PV and
# git server, all removed at the end. About 3 minutes.
# Needs: the cluster up and the image loaded
#   bash test/cluster/cluster.sh up && bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="full-steps-$$"
PV="full-steps-$$"
REL=fs
DEP="$REL-gitspace"
CHART="$root/charts/gitspace"
CLI=(node "$root/bin/gitspace-chart.js")
IMAGE=gitspace-chart/gitspace:0.1.0
WORK=$(mktemp -d)
GIT_PID=""
FULL_TAIL="bytes free; delete files or ask for a bigger volume"

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
# The PV's disk as the node sees it (cluster.sh small-pv mounts it there).
MNT=$(small_pv_mnt "$PV")
k() { kubectl -n "$NS" "$@"; }

cleanup() {
  [[ -z "$GIT_PID" ]] || kill "$GIT_PID" 2>/dev/null || true
  # A read-only disk cannot be deleted cleanly: back to read-write first.
  if mountpoint -q "$MNT" && findmnt -n -o OPTIONS --mountpoint "$MNT" | grep -q '^ro'; then mount -o remount,rw "$MNT" || true; fi
  helm -n "$NS" uninstall "$REL" --wait --timeout 2m >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=true --timeout=2m >/dev/null 2>&1 || true
  bash "$root/test/cluster/cluster.sh" small-pv-delete "$PV" >/dev/null 2>&1 || log_warn "PV $PV left behind: bash test/cluster/cluster.sh small-pv-delete $PV"
  rm -rf "$WORK"
}
trap cleanup EXIT

SELECTOR="app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace"
pod() { k get pod -l "$SELECTOR" -o jsonpath='{.items[0].metadata.name}'; }

# pod_logs: the log of every container of the pod (init containers included), as a user
# reads them with kubectl logs; a container that has not started yet has none.
pod_logs() {
  local p c
  p=$(pod) || return 1
  for c in $(k get pod "$p" -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}'); do
    k logs "$p" -c "$c" 2>/dev/null || true
  done
}

# log_has TEXT: some container of the pod logged TEXT.
log_has() {
  local logs
  logs=$(pod_logs)
  [[ "$logs" == *"$1"* ]] || { echo "no '$1' in the pod's log:"; grep '\[gitspace\]\|ERROR' <<<"$logs" | tail -n 30; return 1; }
}

# wait_log TEXT: until some container of the pod logs TEXT (2 min).
wait_log() {
  local i
  for ((i = 0; i < 60; i++)); do
    [[ "$(pod_logs 2>/dev/null)" != *"$1"* ]] || return 0
    sleep 2
  done
  log_has "$1"
}

no_crash_line() {
  local logs
  logs=$(pod_logs)
  [[ "$logs" != *"ERROR: step '"* ]] || { echo "an ERR-trap line:"; grep "ERROR: step '" <<<"$logs"; return 1; }
}

ready() { gitspace_ready 3m; }

restart_pod() {
  k delete pod -l "$SELECTOR" --wait=true --timeout=2m >/dev/null && ready
}

no_restarts() {
  local n
  n=$(k get pod "$(pod)" -o jsonpath='{.status.containerStatuses[0].restartCount}')
  [[ "$n" == 0 ]] || { echo "restartCount $n"; return 1; }
}

# fill_disk_on_node: the disk has less room than the image's HOME. The reference image's HOME
# takes 20 KiB on this 1 KiB-block disk, so the room is taken instead: a root file in lost+found
# (which seeding leaves alone, as mkfs's own) leaves 6 KiB, enough for seeding's own marker, not
# for the copy.
fill_disk_on_node() {
  local free
  free=$(stat -f -c '%a * %S' "$MNT" | xargs expr)
  fallocate -l "$((free - 6144))" "$MNT/lost+found/taken" || return 1
  free=$(stat -f -c '%a * %S' "$MNT" | xargs expr)
  ((free <= 6144)) || { echo "$free bytes still free"; return 1; }
}

seeding_left_undone() {
  [[ -f "$MNT/.gitspace/seeding" && ! -e "$MNT/.gitspace/seeded" ]] ||
    { echo "on the disk: $(ls -A "$MNT/.gitspace" 2>&1)"; return 1; }
}

grow_disk() {
  "${CLI[@]}" stop "$REL" -n "$NS" --wait --timeout 3m >/dev/null &&
    bash "$root/test/cluster/cluster.sh" small-pv-grow "$PV" 64Mi &&
    "${CLI[@]}" start "$REL" -n "$NS" >/dev/null && ready
}

home_seeded() {
  local want got
  want=$(docker run --rm --entrypoint sha256sum "$IMAGE" /home/vscode/.bashrc | cut -d' ' -f1)
  got=$(sh_in 'sha256sum ~/.bashrc; cat ~/.gitspace/seeded; ls -A ~/.gitspace') || { echo "$got"; return 1; }
  [[ "$got" == "$want "* && "$got" == *"seeded from /home/vscode"* && "$got" != *seeding* ]] || { echo "got: $got"; return 1; }
}

no_marker_temp() {
  local out
  out=$(sh_in 'ls -A ~/.gitspace | grep "^\.postCreate" || true; test ! -e ~/.gitspace/postCreate.done && echo no-marker')
  [[ "$out" == no-marker ]] || { echo "in ~/.gitspace: $out"; return 1; }
}

ssh_works() {
  local out
  out=$(ssh_in 'id -un; cat ~/app/README.md')
  [[ "$out" == $'vscode\n# app'* ]] || { echo "ssh said: $out"; return 1; }
}

# user_fills_home: what the user does (kubectl exec): the volume's owner record is stale (as
# after a uid change), the repository is gone, then one big file takes all the free space.
user_fills_home() {
  sh_in 'printf "0:0\n" >~/.gitspace/owner && rm -rf ~/app && sync' || return 1
  # ext4 hands back a block freed by the removal a moment later: fill until none is left.
  local i out free
  for ((i = 0; i < 5; i++)); do
    out=$(sh_in 'fallocate -l "$(stat -f -c "%a * %S" "$HOME" | xargs expr)" "$HOME/filler.$(date +%s%N)"; sync' 2>&1) ||
      [[ "$out" == *"No space left on device"* ]] || { echo "filling HOME: $out"; return 1; }
    sleep 1
    free=$(sh_in 'stat -f -c %a "$HOME"')
    [[ "$free" != 0 ]] || return 0
  done
  echo "HOME still has $free blocks free"
  return 1
}

full_banner_over_ssh() {
  local out
  out=$(ssh_in 'id -un; bash -l -c true')
  [[ "$out" =~ ^vscode.*HOME\ is\ full:\ [0-9]+\ bytes\ free\;\ delete\ files\ or\ ask\ for\ a\ bigger\ volume ]] || { echo "ssh said: $out"; return 1; }
}

nothing_half_cloned() {
  local out
  out=$(sh_in 'test ! -e ~/app && echo no-app; ls -A ~/.gitspace/tmp 2>/dev/null')
  [[ "$out" == no-app ]] || { echo "got: $out"; return 1; }
}

finished_after_freeing() {
  local out
  out=$(sh_in 'cat ~/.gitspace/owner; cat ~/app/README.md; wc -l <~/pc-count; test -f ~/.gitspace/postCreate.done && echo marker')
  [[ "$out" == $'1000:1000\n# app\n2\nmarker' ]] || { echo "got: $out"; return 1; }
}

no_banner_over_ssh() {
  local out
  out=$(ssh_in 'bash -l -c "echo shell"')
  [[ "$out" == shell ]] || { echo "ssh said: $out"; return 1; }
}

readonly_banner_and_files() {
  local out
  out=$(ssh_in 'bash -l -c "cat ~/app/README.md"')
  # The banner (the login shell's stderr) and the file (stdout) come over two ssh channels,
  # in either order.
  [[ "$out" == *"HOME is read-only: the gitspace cannot write to it"* && "$out" == *"# app"* ]] || { echo "ssh said: $out"; return 1; }
}

# restart_full: stop the gitspace, take on the node the few blocks ext4 handed back after the
# user's fill (a removed file's blocks come back after a journal commit, and the old pod's last
# log lines move blocks too: 1 KiB blocks), start it: the new pod starts on 0 bytes free.
restart_full() {
  local free
  "${CLI[@]}" stop "$REL" -n "$NS" --wait --timeout 3m >/dev/null || return 1
  sync
  free=$(stat -f -c '%a * %S' "$MNT" | xargs expr)
  if ((free > 0)); then fallocate -l "$free" "$MNT/filler.node" || return 1; fi
  [[ "$(stat -f -c %a "$MNT")" == 0 ]] || { echo "$(stat -f -c %a "$MNT") blocks free after the top-up"; return 1; }
  "${CLI[@]}" start "$REL" -n "$NS" >/dev/null && ready
}

readonly_restart() {
  "${CLI[@]}" stop "$REL" -n "$NS" --wait --timeout 3m >/dev/null &&
    mount -o remount,ro "$MNT" &&
    "${CLI[@]}" start "$REL" -n "$NS" >/dev/null && ready
}

git_server() {
  local ip
  ip=$(bridge_ip cni0)
  [[ -n "$ip" ]] || { echo "no cni0 bridge (no pod has run yet?)"; return 1; }
  node --import tsx "$root/test/parity/gitserver.ts" create-repo --root "$WORK/git" --name app --file 'README.md=# app\n' || return 1
  GITSPACE_GIT_PASSWORD=unused-public-repo node --import tsx "$root/test/parity/gitserver.ts" serve --root "$WORK/git" \
    --port 0 --host "$ip" >"$WORK/git.log" 2>&1 &
  GIT_PID=$!
  local i port=""
  for ((i = 0; i < 40; i++)); do
    port=$(sed -n 's/^git server on [0-9.]*:\([0-9]*\) .*/\1/p' "$WORK/git.log")
    [[ -z "$port" ]] || break
    sleep 0.5
  done
  [[ -n "$port" ]] || { cat "$WORK/git.log"; return 1; }
  REPO_URL="http://$ip:$port/app.git"
}

main() {
  step "every writing step on a full or read-only volume: namespace $NS, PV $PV"
  cd "$root"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  git_server || die "the git server did not start"
  bash "$root/test/cluster/cluster.sh" small-pv "$PV" 16Mi
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/key"
  k create secret generic ssh-keys --from-file=authorized_keys="$WORK/key.pub" >/dev/null
  # postCreateCommand: counts its runs; its first run fills HOME, so its marker cannot be written.
  cat >"$WORK/values.yaml" <<YAML
ide: {type: vs_code}
ssh: {authorizedKeysSecret: ssh-keys}
repo: {url: "$REPO_URL"}
persistence: {storageClass: local-small, size: 16Mi, keepOnUninstall: false}
devcontainer:
  postCreateCommand: 'echo ran >>"\$HOME/pc-count"; if [ ! -e "\$HOME/.filled-once" ]; then touch "\$HOME/.filled-once"; fallocate -l "\$(stat -f -c "%a * %S" "\$HOME" | xargs expr)" "\$HOME/big"; fi'
YAML

  # 1. seeding
  step "1. seeding"
  check "the disk has less room than the image's HOME" fill_disk_on_node
  check "install (no wait)" helm install "$REL" "$CHART" -n "$NS" -f "$WORK/values.yaml"
  check "seeding: the pod's log says the volume is full, with the free space" \
    wait_log "bytes to copy): the volume is full ("
  # wait_log again: prepare restarts in a loop, and the attempt that runs now may not have got there yet.
  check "seeding: its log line names the step" wait_log "seed HOME: copying /home/vscode into the volume failed ("
  check "seeding: left marked unfinished on the disk (seeding, no seeded)" seeding_left_undone
  check "the admin grows the disk (gitspace-chart stop, cluster.sh small-pv-grow 64Mi, start): Ready" grow_disk
  check "seeding: the next start copies again over what was left" log_has "a previous seeding was interrupted"
  check "seeding: HOME holds the image's files, marked seeded" home_seeded

  # 2. lifecycle marker
  step "2. lifecycle marker"
  check "postCreate marker: the hook filled HOME, the log names the step and the free space" \
    wait_log "lifecycle hooks: writing /home/vscode/.gitspace/postCreate.done failed: the volume is full (0 bytes free at /home/vscode/.gitspace)"
  check "postCreate marker: no temp file, no marker" no_marker_temp
  check "ssh logs in with the key, the repository is there" ssh_works

  # 3. a start on a full HOME
  step "3. a start on a full HOME"
  check "the user makes the owner record stale, removes the repository and fills HOME" user_fills_home
  check "the gitspace restarts (stop, start) and becomes Ready on the full HOME" restart_full
  check "no container restart" no_restarts
  check "ownership fix: deferred, the line names the step and the free space" \
    log_has "fix ownership: not done: the volume is full (0 bytes free at "
  check "clone: deferred, the line names the step and the free space" \
    log_has "clone: not done: the volume is full (0 bytes free at /home/vscode)"
  check "postCreateCommand: waits for free space" log_has "postCreateCommand: not run now, HOME is full"
  check "the deferred steps print no ERR-trap line" no_crash_line
  check "clone: no half clone, nothing in ~/.gitspace/tmp" nothing_half_cloned
  check "ssh logs in with the key and the login shell shows 'HOME is full: N $FULL_TAIL'" full_banner_over_ssh

  # 4. freed
  step "4. freed"
  check "the user deletes the big files" sh_in 'rm ~/filler.* ~/big'
  check "the pod restarts and becomes Ready" restart_pod
  check "the next start records the owner, clones, runs postCreateCommand again" finished_after_freeing
  check "no banner in a login shell over ssh" no_banner_over_ssh

  # 5. read-only
  step "5. read-only"
  # (a remount while the pod writes its logs there is refused: mount point busy)
  check "the disk goes read-only (stop, mount -o remount,ro on the node, start): Ready" readonly_restart
  check "ssh logs in, the banner says read-only, the files are intact" readonly_banner_and_files

  printf '\nfull volume, each step: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
