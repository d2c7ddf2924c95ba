#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted commands run in the gitspace's shell
# test/chart/migration-full.sh: the migration of a legacy volume (/workspaces -> HOME, the chart's
# pre-upgrade hook Job: docs/migration.md) on a real small volume of the local cluster that is
# nearly full (issue 20, "every step that writes, on ENOSPC"). A release installed with
# compat.layout=legacy on a 64Mi PV (StorageClass local-small, `cluster.sh small-pv`); the user
# writes a repository at /workspaces/app and a dataset that leaves 8 KiB free: the migration's
# plan fits, the image's HOME files it seeds (about 20 KiB) do not. Then, as a user sees it:
#   1. `helm upgrade --set compat.layout=home` fails; the hook's log names the step (seeding HOME)
#      and the free space; the old gitspace keeps running on its data;
#   2. every file of the volume has its checksum, size, mode and link target of before; of the
#      image's HOME entries, only whole ones are on the volume (staged, renamed);
#   3. the user deletes the dataset in the still-running legacy gitspace (kubectl exec);
#   4. the same `helm upgrade` resumes the migration from its journal and finishes it: the
#      gitspace is Ready at HOME, every file of the user's is the same, the image's dotfiles are
#      there. Own namespace and PV, removed at the end. About a minute and a half.
# Needs: the cluster up and the image loaded
#   bash test/cluster/cluster.sh up && bash test/cluster/cluster.sh load-image gitspace-chart/gitspace:0.1.0
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="mig-full-$$"
PV="mig-full-$$"
REL=mf
DEP="$REL-gitspace"
CHART="$root/charts/gitspace"
IMAGE=gitspace-chart/gitspace:0.1.0
WORK=$(mktemp -d)
LEFT=8192

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
# The PV's disk as the node sees it (cluster.sh small-pv mounts it there).
MNT=$(small_pv_mnt "$PV")
k() { kubectl -n "$NS" "$@"; }

cleanup() {
  helm -n "$NS" uninstall "$REL" --no-hooks --wait --timeout 2m >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=true --timeout=2m >/dev/null 2>&1 || true
  bash "$root/test/cluster/cluster.sh" small-pv-delete "$PV" >/dev/null 2>&1 || log_warn "PV $PV left behind: bash test/cluster/cluster.sh small-pv-delete $PV"
  rm -rf "$WORK"
}
trap cleanup EXIT

ready() { gitspace_ready 3m; }

# SUMS (sh, argument DIR): every entry of DIR but the gitspace's own .gitspace and lost+found:
# path, mode, type, link target, then each file's sha256 (owners change on purpose; a folder's
# size depends on the filesystem's block size, a file's is in its checksum).
SUMS='cd "$1" && find . -mindepth 1 \( -path ./.gitspace -o -path ./lost+found \) -prune -o -printf "%P %m %y %l\0" | LC_ALL=C sort -z | tr "\0" "\n" &&
  find . -mindepth 1 \( -path ./.gitspace -o -path ./lost+found \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum'
sums() { k exec "deploy/$DEP" -c gitspace -- bash -c "$SUMS" _ "$1"; }

install_legacy() {
  helm install "$REL" "$CHART" -n "$NS" --set compat.layout=legacy --set repo.url= \
    --set persistence.storageClass=local-small --set persistence.size=64Mi --set persistence.keepOnUninstall=false \
    --wait --timeout 4m >/dev/null
}

# user_work: a repository with odd names, a link, a private file; checksums of the whole volume.
user_work() {
  sh_in 'set -e; mkdir -p /workspaces/app/src && cd /workspaces/app && git init -q && echo "by the user" >src/main.c &&
    printf sp >"src/a file with spaces" && ln -s main.c src/link && head -c 300000 /dev/urandom >src/blob && chmod 600 src/blob &&
    echo notes >/workspaces/notes.txt' &&
    sums /workspaces >"$WORK/before" && [[ $(wc -l <"$WORK/before") -ge 10 ]]
}

# user_fills: a dataset that leaves LEFT bytes free (as the user, in the legacy gitspace); topped
# up on the node for the blocks ext4 hands back late, so the hook starts on exactly LEFT free.
user_fills() {
  local free
  sh_in "fallocate -l \$((\$(stat -f -c '%a * %S' /workspaces) - $LEFT)) /workspaces/dataset.bin && sync" || return 1
  sync
  free=$(stat -f -c '%a * %S' "$MNT" | xargs expr)
  if ((free > LEFT)); then fallocate -l "$((free - LEFT))" "$MNT/lost+found/node-topup" || return 1; fi
  free=$(stat -f -c '%a * %S' "$MNT" | xargs expr)
  ((free <= LEFT)) || { echo "$free bytes free, want $LEFT"; return 1; }
}

# upgrade_fails: helm upgrade to layout home fails on the hook; its output and the Job's log
# name the step and the free space.
upgrade_fails() {
  if helm upgrade "$REL" "$CHART" -n "$NS" --reuse-values --set compat.layout=home --wait --timeout 3m >"$WORK/upgrade1.out" 2>&1; then
    echo "helm upgrade succeeded on a full volume"
    return 1
  fi
  k logs "job/$DEP-migrate" >"$WORK/hook1.log" 2>&1 || true
  grep -q 'pre-upgrade hooks failed' "$WORK/upgrade1.out" || { cat "$WORK/upgrade1.out"; return 1; }
}

hook_says() {
  grep -qF "$1" "$WORK/hook1.log" || { echo "no '$1' in the hook's log:"; cat "$WORK/hook1.log"; return 1; }
}
hook_names_free_space() {
  grep -qE 'migration: seeding HOME: adding .* from the image failed, nothing half-copied left: the volume is full \([0-9]+ bytes free at /gitspace/volume\)' "$WORK/hook1.log" ||
    { cat "$WORK/hook1.log"; return 1; }
}

old_gitspace_runs() {
  local out
  out=$(sh_in 'pwd; cat /workspaces/notes.txt')
  [[ "$out" == $'/workspaces\nnotes' ]] || { echo "got: $out"; return 1; }
}

# nothing_lost DIR BEFORE ALSO: every entry of BEFORE is in DIR as it was; anything more is one of
# the image's HOME entries, whole (the same files and checksums as in the image), or matches ALSO.
nothing_lost() {
  local dir=$1 want=$2 after
  after=$(sums "$dir") || return 1
  diff <(cat "$want") <(grep -Fxf "$want" <<<"$after") || { echo "entries of before that changed or went (above)"; return 1; }
  grep -vFxf "$want" <<<"$after" >"$WORK/extra" || true
  local img
  img=$(docker run --rm --entrypoint bash "$IMAGE" -c "$SUMS" _ /home/vscode) || return 1
  # A folder's mode is not compared: on the volume it takes the fsGroup's setgid bit, and the IDE
  # makes ~/.vscode-server private.
  local dirmode='s/^(.*) [0-7]+ d $/\1 d/'
  sed -E "$dirmode" "$WORK/extra" | grep -vFxf <(printf '%s\n' "$img" | sed -E "$dirmode") | grep -vE "$3" &&
    { echo "entries that are neither the user's nor whole image files (above)"; return 1; }
  return 0
}

# frees_space: the user deletes the dataset in the gitspace that still runs; the node's top-up goes too.
frees_space() {
  sh_in 'rm /workspaces/dataset.bin' && rm -f "$MNT/lost+found/node-topup"
}

upgrade_finishes() {
  helm upgrade "$REL" "$CHART" -n "$NS" --reuse-values --set compat.layout=home --wait --timeout 3m >"$WORK/upgrade2.out" 2>&1 ||
    { cat "$WORK/upgrade2.out"; k logs "job/$DEP-migrate" 2>&1 | tail -n 20; return 1; }
  ready
}

# migrated_at_home: the pod's HOME is the volume, marked layout home 1; the prepare log says the
# hook migrated it; the image's dotfiles are the image's.
migrated_at_home() {
  local out want
  out=$(sh_in 'pwd; cat ~/.gitspace/layout; grep -c "^done\|^finished" ~/.gitspace/migration.journal; sha256sum ~/.bashrc ~/.profile | cut -d" " -f1') || { echo "$out"; return 1; }
  want=$(docker run --rm --entrypoint sh "$IMAGE" -c 'sha256sum /home/vscode/.bashrc /home/vscode/.profile | cut -d" " -f1')
  [[ "$out" == "/home/vscode"$'\n'"home 1"$'\n'*$'\n'"$want" ]] || { echo "got: $out"; return 1; }
  # (the log read whole first: grep -q ends at the match, and under pipefail kubectl's SIGPIPE failed the check)
  out=$(k logs "deploy/$DEP" -c prepare) || return 1
  [[ "$out" == *"already migrated, nothing to do"* ]] || { printf '%s\n' "$out" | tail -n 20; return 1; }
}

main() {
  local start=$SECONDS
  step "migration of a legacy volume that is nearly full: namespace $NS, PV $PV"
  cd "$root"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  bash "$root/test/cluster/cluster.sh" small-pv "$PV" 64Mi
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"
  check "install compat.layout=legacy on a 64Mi volume: Ready" install_legacy
  check "the user writes a repository at /workspaces/app (checksums of the volume recorded)" user_work
  check "the user's dataset leaves $LEFT bytes free" user_fills
  check "helm upgrade --set compat.layout=home fails on the pre-upgrade hook" upgrade_fails
  check "hook: the plan was written (it fits)" hook_says "plan written to"
  check "hook: one line names the step (seeding HOME) and the free space" hook_names_free_space
  check "hook: no ERR-trap line (an expected stop, not a crash)" bash -c "! grep \"ERROR: step '\" '$WORK/hook1.log'"
  grep -h 'ERROR\|Error' "$WORK/upgrade1.out" "$WORK/hook1.log" | sed 's/^/       /' >&2 || true
  check "the old gitspace still runs at /workspaces" old_gitspace_runs
  check "every file the same (checksum, mode, target); of the image's entries only whole ones" \
    nothing_lost /workspaces "$WORK/before" '(^|  \./)dataset\.bin( |$)'
  check "the user deletes the dataset in the running gitspace" frees_space
  check "the same helm upgrade finishes the migration: Ready" upgrade_finishes
  check "the gitspace runs at HOME (layout home 1), the image's dotfiles are there" migrated_at_home
  # What the IDE's start writes in HOME now that it is the volume (code-server's data, logs).
  check "every file of the user's the same at \$HOME; the rest whole image entries or the IDE's" \
    nothing_lost /home/vscode "$WORK/before" '(^|  \./)(\.config/code-server|\.local/share/code-server|\.cache)(/| |$)'

  printf '\nmigration on a full volume: %d passed, %d failed%s (%ds)\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" "$((SECONDS - start))" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
