#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted commands run in the gitspace's shell
# test/chart/upgrade-full.sh: the image-upgrade refresh and the seeding of a newly persisted path
# (docs/persistence.md) on a real small volume of the local cluster that is full (issue 20, "every
# step that writes, on ENOSPC"). An SSH gitspace of the language image (gitspace-chart/test-lang,
# persistence.paths [/go]) on a 64Mi PV (StorageClass local-small, `cluster.sh small-pv`):
#   1. the user edits .profile, adds files in HOME and a tool of their own in /go/bin, then fills
#      HOME;
#   2. `helm upgrade` to the next image (lang_next_image: HOME and /go changed) that also persists
#      npm's global prefix: the gitspace is Ready, SSH logs in and shows the full-HOME banner, the
#      pod's log names both steps (image refresh, persisted paths) with the free space, every
#      entry of HOME and /go is as before (type, owner, mode, target, checksum), nothing staged is
#      left, the old image is still the recorded one;
#      npm's prefix is mounted from an empty folder prepare made from its reserve (.gitspace/reserve:
#      the kubelet cannot make a subPath folder on a full volume, and the container would never
#      start), the image's tool is not there;
#   3. the user frees HOME, the pod restarts: the refresh finishes (the next image recorded, its
#      files in HOME and /go, the user's kept), npm's prefix is seeded and its tool runs, the
#      reserve is back.
# What is checked is what the user sees (the pod Ready, ssh, the pod's log lines, files), not
# which container did the work. Own namespace and PV, removed at the end. About 2 minutes.
# Needs: the cluster up and the language image loaded
#   bash test/cluster/cluster.sh up && bash test/cluster/cluster.sh load-image gitspace-chart/test-lang:0.1.0
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="upgrade-full-$$"
PV="upgrade-full-$$"
REL=uf
DEP="$REL-gitspace"
CHART="$root/charts/gitspace"
CLI=(node "$root/bin/gitspace-chart.js")
IMAGE=gitspace-chart/test-lang:0.1.0
NPM=/usr/local/share/npm-global
WORK=$(mktemp -d)
FULL_TAIL="bytes free; delete files or ask for a bigger volume"

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
NEXT=$LANG_NEXT
# The PV's disk as the node sees it (cluster.sh small-pv mounts it there).
MNT=$(small_pv_mnt "$PV")
k() { kubectl -n "$NS" "$@"; }

cleanup() {
  helm -n "$NS" uninstall "$REL" --wait --timeout 2m >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=true --timeout=2m >/dev/null 2>&1 || true
  bash "$root/test/cluster/cluster.sh" small-pv-delete "$PV" >/dev/null 2>&1 || log_warn "PV $PV left behind: bash test/cluster/cluster.sh small-pv-delete $PV"
  rm -rf "$WORK"
}
trap cleanup EXIT

SELECTOR="app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace"
pod() { k get pod -l "$SELECTOR" -o jsonpath='{.items[0].metadata.name}'; }
ready() { gitspace_ready 3m; }

# pod_logs: the log of every container of the pod (init containers included), as a user reads
# them with kubectl logs --all-containers.
pod_logs() {
  local p c
  p=$(pod) || return 1
  for c in $(k get pod "$p" -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}'); do
    k logs "$p" -c "$c" 2>/dev/null || true
  done
}

# log_has TEXT...: some container of the pod logged each TEXT.
log_has() {
  local logs t
  logs=$(pod_logs)
  for t in "$@"; do
    [[ "$logs" == *"$t"* ]] || { echo "no '$t' in the pod's log:"; grep '\[gitspace\]\|ERROR' <<<"$logs" | tail -n 30; return 1; }
  done
}

install() {
  helm install "$REL" "$CHART" -n "$NS" -f "$WORK/values.yaml" --wait --timeout 3m >/dev/null || { ready; return 1; }
  ready
}

# user_work: the user edits .profile (the next image changes it too), adds files in HOME, puts a
# tool of their own in /go/bin where the next image has one.
user_work() {
  sh_in 'echo "export MY_SETTING=1" >>~/.profile && mkdir -p ~/notes && echo "my plan" >~/notes/plan.md &&
    head -c 300000 /dev/urandom >~/notes/blob.bin && chmod 600 ~/notes/blob.bin && ln -s notes/plan.md ~/plan-link &&
    printf "#!/bin/sh\necho mine\n" >/go/bin/imagetool-6 && chmod 755 /go/bin/imagetool-6' &&
    snapshot >"$WORK/before"
}

# snapshot: every entry of HOME (but the gitspace's own .gitspace, the IDE's and the fillers) and
# of /go: type, owner, mode, link target, and each file's sha256.
snapshot() {
  sh_in 'for d in "$HOME" /go; do (cd "$d" && find . \( -path ./.gitspace -o -path ./.vscode-server -o -path ./.local -o -path ./.cache -o -path ./.config/code-server -o -path ./lost+found -o -name "filler*" \) -prune -o -printf "$d %y %u:%g %m %p %l\n" | LC_ALL=C sort); done
    for d in "$HOME" /go; do (cd "$d" && find . \( -path ./.gitspace -o -path ./.vscode-server -o -path ./.local -o -path ./.cache -o -path ./.config/code-server -o -path ./lost+found -o -name "filler*" \) -prune -o -type f -exec sha256sum {} + | sed "s|  |  $d |" | LC_ALL=C sort -k2); done'
}

# fill_home: the user fills HOME (kubectl exec); ext4 hands back a block freed a moment later, so
# until none is left.
fill_home() {
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

# take_last_blocks: on the node, the PV's free blocks taken by root files (a fallocate of all the
# free bytes can itself need a block for its extent tree: then a little less, in another file).
take_last_blocks() {
  local i free
  for ((i = 0; i < 8; i++)); do
    sync
    free=$(stat -f -c '%a * %S' "$MNT" | xargs expr)
    ((free > 0)) || return 0
    fallocate -l "$free" "$MNT/filler.node.$i" 2>/dev/null || fallocate -l "$((free * 3 / 4))" "$MNT/filler.node.$i" || return 1
  done
  echo "$(stat -f -c %a "$MNT") blocks free after the top-up"
  return 1
}

# upgrade_full: the gitspace stopped (gitspace-chart stop), the few blocks ext4 handed back since
# taken on the node, then `helm upgrade` to the next image with npm's prefix persisted too, as a
# user's upgrade of their values does: the new pod starts on 0 bytes free.
upgrade_full() {
  local free
  "${CLI[@]}" stop "$REL" -n "$NS" --wait --chart "$CHART" --timeout 3m >/dev/null || return 1
  take_last_blocks || return 1
  helm upgrade "$REL" "$CHART" -n "$NS" --reuse-values --set running=true \
    --set image.repository="${NEXT%:*}" --set image.tag="${NEXT##*:}" \
    --set "persistence.paths={/go,$NPM}" --wait --timeout 3m >/dev/null || { ready; return 1; }
  ready
}

no_restarts() {
  local n
  n=$(k get pod "$(pod)" -o jsonpath='{.status.containerStatuses[0].restartCount}')
  [[ "$n" == 0 ]] || { echo "restartCount $n"; k get events --sort-by=.lastTimestamp | tail -n 8; return 1; }
}

ssh_full_banner() {
  local out
  out=$(ssh_in 'id -un; bash -l -c true')
  [[ "$out" =~ ^vscode.*HOME\ is\ full:\ [0-9]+\ bytes\ free\;\ delete\ files\ or\ ask\ for\ a\ bigger\ volume ]] || { echo "ssh said: $out"; return 1; }
}

same_as_before() {
  snapshot >"$WORK/after" || return 1
  diff "$WORK/before" "$WORK/after"
}

# nothing_staged: no staged copy of the refresh (.NAME.gitspace-new) or of seeding
# (.NAME.gitspace-seeding) anywhere in HOME, /go or the gitspace's area; the old image recorded.
nothing_staged() {
  local out
  out=$(sh_in 'find ~ /go \( -name "*.gitspace-new" -o -name "*.gitspace-seeding" \) -print; cat ~/.gitspace/image')
  [[ "$out" == "$IMAGE" ]] || { echo "got: $out"; return 1; }
}

# npm_prefix_waits: what the user finds at npm's prefix while its seeding waits: the volume's
# (empty) folder, not the image's tool; the state says it is not seeded.
npm_prefix_waits() {
  local out
  out=$(sh_in "ls -A $NPM; command -v npmtool || echo no-npmtool")
  [[ "$out" == no-npmtool ]] || { echo "got: $out"; return 1; }
}

free_home() {
  sh_in 'rm -f ~/filler.*' && rm -f "$MNT"/filler.node.* &&
    k delete pod "$(pod)" --wait=true --timeout=2m >/dev/null && ready
}

refreshed() {
  local out want
  out=$(sh_in 'cat ~/.gitspace/image; test ! -e ~/.gitspace/refresh && echo no-journal; tail -n 1 ~/.bashrc; cat ~/.config/next-tool/config; test ! -e ~/.bash_logout && echo no-bash_logout; imagetool-1; imagetool-6; tail -n 1 ~/.profile')
  want="$NEXT
no-journal
# added by the next image
from the next image
no-bash_logout
imagetool-1
mine
export MY_SETTING=1"
  [[ "$out" == "$want" ]] || { echo "got: $out"; diff <(printf '%s\n' "$want") <(printf '%s\n' "$out"); return 1; }
}

# users_kept: every entry of the user's (edited or added) as before the upgrade.
users_kept() {
  snapshot >"$WORK/after2" || return 1
  diff <(grep -E ' \./(\.profile|notes|notes/plan\.md|notes/blob\.bin|plan-link|bin/imagetool-6)( |$)' "$WORK/before") \
    <(grep -E ' \./(\.profile|notes|notes/plan\.md|notes/blob\.bin|plan-link|bin/imagetool-6)( |$)' "$WORK/after2")
}

npm_seeded() {
  local out
  out=$(sh_in "npmtool; stat -c '%U:%G %a' $NPM; ls ~/.gitspace/persist$NPM/bin")
  [[ "$out" == $'npmtool\nroot:npm 2775\nnpmtool' ]] || { echo "got: $out"; return 1; }
}

no_banner() {
  local out
  out=$(ssh_in 'bash -l -c "echo shell"')
  [[ "$out" == shell ]] || { echo "ssh said: $out"; return 1; }
}

main() {
  step "image upgrade and a new persisted path on a full volume: namespace $NS, PV $PV"
  cd "$root"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  check "the next image (HOME, /go and npm's prefix changed) is built and loaded" lang_next_image
  bash "$root/test/cluster/cluster.sh" small-pv "$PV" 64Mi
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/key"
  k create secret generic ssh-keys --from-file=authorized_keys="$WORK/key.pub" >/dev/null
  cat >"$WORK/values.yaml" <<YAML
image: {repository: "${IMAGE%:*}", tag: "${IMAGE##*:}"}
ide: {type: vs_code}
ssh: {authorizedKeysSecret: ssh-keys}
repo: {url: ""}
persistence: {storageClass: local-small, size: 64Mi, keepOnUninstall: false, paths: [/go]}
YAML
  check "install on the 64Mi volume: Ready" install
  check "the user edits .profile, adds files in HOME and a tool in /go/bin (recorded)" user_work
  check "the user fills HOME" fill_home

  step "helm upgrade to the next image, npm's prefix persisted too, on the full volume"
  check "gitspace-chart stop, the node's last blocks taken, helm upgrade: Ready on 0 bytes free" upgrade_full
  check "no container restart" no_restarts
  check "ssh logs in with the key and the login shell shows 'HOME is full: N $FULL_TAIL'" ssh_full_banner
  check "refresh: deferred, the line names the step and the free space" \
    log_has "image refresh: not done: the volume is full (0 bytes free at "
  check "seeding: deferred, the line names the step and the free space" \
    log_has "persisted paths: not done: the volume is full (0 bytes free at "
  check "every entry of HOME and /go as before the upgrade (type, owner, mode, target, checksum)" same_as_before
  check "nothing staged left in HOME, /go or ~/.gitspace; the old image still recorded" nothing_staged
  check "npm's prefix: its mount point made from the gitspace's reserve (the kubelet cannot make it on a full volume)" \
    log_has "WARN: persisted path $NPM: no room for its mount point (0 bytes free): freed the gitspace's reserve"
  check "npm's prefix: the image's tool is not there until the seeding" npm_prefix_waits

  step "the user frees HOME, the pod restarts"
  check "the user deletes the fillers, the pod restarts: Ready" free_home
  check "the refresh finishes: the next image recorded, its files in HOME and /go" refreshed
  check "the user's files (HOME and /go) as before the upgrade" users_kept
  check "npm's prefix seeded from the next image: its tool runs, root:npm 2775" npm_seeded
  check "the reserve is back" sh_in 'test "$(stat -c %s ~/.gitspace/reserve)" = 262144'
  check "nothing staged left" sh_in 'test -z "$(find ~ /go \( -name "*.gitspace-new" -o -name "*.gitspace-seeding" \) -print)"'
  check "no banner in a login shell over ssh" no_banner

  printf '\nfull volume, image upgrade and seeding: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
