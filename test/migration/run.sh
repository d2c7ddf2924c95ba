#!/usr/bin/env bash
# test/migration/run.sh: issue 7 on a real cluster (docs/migration.md). A release installed with
# compat.layout=legacy (volume at /workspaces, as the old runtime) gets a checksummed tree
# written by the user (kubectl exec) and by root (a short-lived root pod on the PVC: files the
# old runtime left owned by root and by another uid); then `helm upgrade --set
# compat.layout=home` runs the pre-upgrade hook. Checked as the user sees it: every file the
# same (path, size, mode, link target, sha256), the repo at $HOME/test and /workspaces/test,
# everything writable by the user, HOME's dotfiles there; a second upgrade's hook says "already
# migrated" and changes nothing; `helm rollback` to the legacy revision loses nothing and the
# gitspace runs. A second release does the same for the nested layout (workspaces/{repo}) with
# a name collision, after its migration Job was SIGKILLed twice (after the first rename, after
# seeding): the hook of the real upgrade resumes and finishes it. A third release, created with layout home, is switched to legacy: refused
# (prepare fails, naming compat.layout), volume untouched; rolling back restores it. Needs the cluster up (bash test/cluster/cluster.sh up).
# MIGRATION_KEEP_LOGS=1 keeps the hook logs and checksum files (their folder is printed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="migration-$$"
CHART="$root/charts/gitspace"
IMAGE=gitspace-chart/gitspace:0.1.0
WORK=$(mktemp -d)
WATCH_PID=""

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
k() { kubectl -n "$NS" "$@"; }
# to_file FILE CMD...: CMD's output into FILE (for check, which keeps only the tail of the output).
to_file() {
  local f=$1
  shift
  "$@" >"$f"
}

cleanup() {
  [[ -z "$WATCH_PID" ]] || kill "$WATCH_PID" 2>/dev/null || true
  local r
  for r in $(helm -n "$NS" list -aq 2>/dev/null); do helm -n "$NS" uninstall "$r" --no-hooks >/dev/null 2>&1 || true; done
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  if [[ -n "${MIGRATION_KEEP_LOGS:-}" ]]; then echo "hook logs and checksums kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# helm_up RELEASE ARGS...: install or upgrade, waiting for the gitspace to be Ready.
helm_up() {
  local release=$1
  shift
  helm upgrade --install "$release" "$CHART" -n "$NS" --wait --timeout 4m \
    --set persistence.keepOnUninstall=false --set persistence.size=1Gi "$@"
}

# upgrade_watching RELEASE LOG ARGS...: helm upgrade while collecting the migration Job's log
# (Helm deletes a hook Job that succeeded, so it is read while it exists).
upgrade_watching() {
  local release=$1 log=$2
  shift 2
  : >"$log"
  (
    while :; do
      k logs -l app.kubernetes.io/component=migration,app.kubernetes.io/instance="$release" --tail=-1 >>"$log" 2>/dev/null || true
      sleep 1
    done
  ) &
  WATCH_PID=$!
  local rc=0
  helm_up "$release" --reuse-values "$@" || rc=$?
  kill "$WATCH_PID" 2>/dev/null || true
  wait "$WATCH_PID" 2>/dev/null || true
  WATCH_PID=""
  return "$rc"
}

# SUMS SCRIPT (sh, argument DIR): what a user sees of DIR: paths, sizes, modes, types, link
# targets, then the sha256 of each file's content (owners change on purpose).
# shellcheck disable=SC2016 # expanded by the shell in the pod
SUMS='cd "$1" && find . -mindepth 1 -printf "%P %s %m %y %l\0" | LC_ALL=C sort -z | tr "\0" "\n" && find . -mindepth 1 -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum'

# in_gitspace RELEASE SCRIPT [ARGS]: bash in the gitspace container (as the gitspace user).
in_gitspace() {
  local release=$1 script=$2
  shift 2
  k exec "deploy/$release-gitspace" -c gitspace -- bash -c "$script" _ "$@"
}

# root_pod RELEASE SCRIPT: with the gitspace scaled to 0, a root pod of the image runs SCRIPT
# with the release's volume at /workspaces (the old runtime's view); prints its output.
root_pod() {
  local release=$1 script=$2 pod="$1-root-$RANDOM"
  k scale "deploy/$release-gitspace" --replicas=0 >/dev/null
  k wait --for=delete pod -l app.kubernetes.io/instance="$release",app.kubernetes.io/component=gitspace --timeout=120s >/dev/null
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $pod}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 0, runAsGroup: 0}
  containers:
    - name: root
      image: $IMAGE
      imagePullPolicy: IfNotPresent
      command: ["bash", "-euc", $(printf '%s' "$script" | jq -Rs .)]
      volumeMounts: [{name: v, mountPath: /workspaces}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: $release-gitspace}}]
EOF
  k wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$pod" --timeout=120s >/dev/null ||
    { k logs "pod/$pod" >&2; return 1; }
  k logs "pod/$pod"
  k delete pod "$pod" --wait=true >/dev/null
}

# root_pod_to FILE RELEASE SCRIPT: root_pod, its output into FILE.
root_pod_to() {
  local out=$1
  shift
  root_pod "$@" >"$out"
}

# The user's work, written through kubectl exec in the legacy gitspace.
# shellcheck disable=SC2016 # expanded in the pod
USER_TREE='set -e; mkdir -p /workspaces/test/src/deep && cd /workspaces/test && git init -q
echo "by the user" >src/main.c; printf "sp" >"src/a file with spaces"; printf "nl" >"src/new
line"; ln -s main.c src/link; ln -s /nowhere dangling; yes user | head -c 300000 >src/blob; chmod 600 src/blob'

# What the old runtime left: files of root and of another uid, in the repo (root pod).
# shellcheck disable=SC2016 # expanded in the pod
ROOT_TREE='cd /workspaces/test && mkdir -p build/out && echo "built by root" >build/out/app && chmod 755 build/out/app
echo "root config" >root.conf && echo other >build/uid4242 && chown 4242:4242 build/uid4242 && chmod 2775 build'

# Nested: the old layout with repos under workspaces/, plus a clone at the top with the same name.
# shellcheck disable=SC2016 # expanded in the pod
NESTED_TREE='mkdir -p /workspaces/workspaces/test/sub /workspaces/workspaces/api && cd /workspaces/workspaces
git init -q test && git init -q api && echo "old work" >test/sub/file && echo root >api/root-owned && chown 4242:4242 test/sub
yes nested | head -c 200000 >test/blob && git init -q /workspaces/test && echo "new clone" >/workspaces/test/README'

user_owns_all() {
  # shellcheck disable=SC2016 # expanded in the pod
  in_gitspace "$1" 'n=$(find "$HOME" -xdev -path "$HOME/lost+found" -prune -o \! -user "$(id -u)" -print | wc -l); [ "$n" -eq 0 ] || { find "$HOME" -xdev \! -user "$(id -u)" | head; exit 1; }
    echo x >~/test/build/by-user && echo x >~/test/build/out/by-user && echo more >>~/test/root.conf && echo x >>~/test/build/uid4242'
}

# killed_migration RELEASE TAG ENV_JSON: the release's own migration Job (rendered by helm for
# layout home, as `helm upgrade` would run it), started by hand under another name with a test
# hook that SIGKILLs the script (GITSPACE_TEST_HOOKS, docs/migration.md); waits for the Job to
# fail and prints the log. The real upgrade afterwards must finish the migration. The script
# runs as a child of sh here, not exec'd as PID 1: the kernel ignores a SIGKILL that PID 1 of a
# container sends itself (the OOM killer's or a node loss's kill have no such exemption).
killed_migration() {
  local release=$1 env=$3 job="$1-gitspace-kill-$2"
  helm template "$release" "$CHART" -n "$NS" --is-upgrade --set compat.layout=home \
    --set persistence.keepOnUninstall=false --set persistence.size=1Gi --show-only templates/migration-hook.yaml |
    kubectl create --dry-run=client -o json -f - |
    jq --arg job "$job" --argjson env "$env" 'del(.metadata.annotations) |
      .metadata.name = $job | .metadata.labels["app.kubernetes.io/component"] = "migration-kill"
        | .spec.template.metadata.labels["app.kubernetes.io/component"] = "migration-kill"
        | .spec.template.spec.containers[0].env += $env
        | .spec.template.spec.containers[0].command[2] = "\"$0\" \"$1\"; exit $?"' |
    k apply -f - >/dev/null
  local i state=""
  for ((i = 0; i < 150; i++)); do
    state=$(k get "job/$job" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
    [[ "$state" != *Failed* && "$state" != *Complete* ]] || break
    sleep 2
  done
  [[ "$state" == *Failed* ]] || {
    echo "job $job: conditions '${state}', expected Failed (SIGKILLed)"
    k get pods -l job-name="$job" -o wide
    k logs "job/$job"
    return 1
  }
  k logs "job/$job"
  k delete job "$job" --wait=true >/dev/null
}

kill_after_first_rename() {
  killed_migration nest rename1 '[{"name":"GITSPACE_TEST_HOOKS","value":"1"},{"name":"GITSPACE_MIGRATE_KILL_AFTER","value":"1"}]' >"$WORK/kill1.log"
  has_all "$WORK/kill1.log" 'test hook: SIGKILL after rename 1'
}
kill_after_seeding() {
  killed_migration nest seeded '[{"name":"GITSPACE_TEST_HOOKS","value":"1"},{"name":"GITSPACE_MIGRATE_KILL_AT","value":"seeded"}]' >"$WORK/kill2.log"
  has_all "$WORK/kill2.log" 'was interrupted: resuming' 'test hook: SIGKILL at seeded'
}

# has_all FILE REGEX...: every REGEX matches a line of FILE.
has_all() {
  local f=$1 re
  shift
  for re in "$@"; do grep -q -- "$re" "$f" || { echo "no line matches $re in $f"; return 1; }; done
}

# prepare_refused RELEASE OLD_PODS: the upgrade's new pod (not one of OLD_PODS, the names
# before the upgrade: the running pod may itself once have had a prepare restart) has a prepare
# that exits 1 with the home -> legacy message. On failure, what the pod's prepare printed.
prepare_refused() {
  local i pod="" name rest prev cur msg="Going from home back to legacy is refused; set compat.layout=home again"
  for ((i = 0; i < 60; i++)); do
    while read -r name rest; do
      [[ -n "$name" && " $2 " != *" $name "* && " $rest " == *" 1 "* ]] && { pod=$name; break; }
    done < <(k get pod -l app.kubernetes.io/instance="$1",app.kubernetes.io/component=gitspace -o jsonpath='{range .items[*]}{.metadata.name} {.status.initContainerStatuses[0].state.terminated.exitCode} {.status.initContainerStatuses[0].lastState.terminated.exitCode}{"\n"}{end}')
    [[ -z "$pod" ]] || break
    sleep 2
  done
  [[ -n "$pod" ]] || { echo "no new pod's prepare exited 1 (pods before the upgrade: $2)"; k get pods; return 1; }
  # The logs read whole first: `grep -q` ends at the match, and under pipefail kubectl's SIGPIPE
  # failed the check with the message right there (CI, 2026-11-30).
  prev=$(k logs "$pod" -c prepare --previous 2>&1) || true
  cur=$(k logs "$pod" -c prepare 2>&1) || true
  [[ "$prev" == *"$msg"* || "$cur" == *"$msg"* ]] || {
    echo "pod $pod: its prepare exited 1 without the message; what it printed (previous run, then this one):"
    printf '%s\n' "$prev" | tail -n 8
    printf '%s\n' "$cur" | tail -n 8
    return 1
  }
}

same_sums() {
  local got
  got=$(in_gitspace "$1" "$SUMS" "$2")
  [[ "$got" == "$(cat "$3")" ]] || { diff <(printf '%s\n' "$got") "$3" | head -20; return 1; }
}

# shellcheck disable=SC2016 # single-quoted scripts below run in the pod
main() {
  local start=$SECONDS
  step "migration on a real cluster, namespace $NS"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  bash "$root/test/cluster/cluster.sh" load-image "$IMAGE" >&2
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"
  # The home-layout release of the last part starts now, next to the first ones (saves a minute).
  helm install fresh "$CHART" -n "$NS" --set persistence.keepOnUninstall=false --set persistence.size=1Gi >/dev/null

  # --- legacy-root: the old runtime's volume, repo at /workspaces/test ---
  check "install compat.layout=legacy" helm_up old --set compat.layout=legacy
  check "user writes a repo at /workspaces/test (kubectl exec)" in_gitspace old "$USER_TREE"
  check "root pod adds files owned by root and uid 4242, records checksums" \
    root_pod_to "$WORK/before-root" old "$ROOT_TREE; bash -c $(printf '%q' "$SUMS") _ /workspaces/test"
  check "checksums recorded (root's, 4242's and the user's files)" has_all "$WORK/before-root" '^build/uid4242 6 644 f' '^src/blob 300000 600 f' '^root.conf 12 644 f' '^build 4096 2775 d' '^dangling 8 777 l /nowhere$'
  # record_state REL FILE: marker and journal times and the journal, into FILE; the journal is finished.
  record_state() {
    in_gitspace "$1" 'stat -c "%n %Z %Y" ~/.gitspace/layout ~/.gitspace/migration.journal; cat ~/.gitspace/migration.journal' >"$2" 2>&1 &&
      grep -q '^finished ' "$2"
  }
  check "helm upgrade --set compat.layout=home (pre-upgrade hook migrates)" upgrade_watching old "$WORK/hook1.log" --set compat.layout=home
  check "hook log: detected legacy-root, migrated" grep -q "migrated (legacy-root -> home 1)" "$WORK/hook1.log"
  check "prepare of the new pod: already migrated" bash -c "kubectl -n $NS logs deploy/old-gitspace -c prepare | grep -q 'already migrated, nothing to do'"
  check "every file of \$HOME/test has its path, size, mode, target, sha256" same_sums old /home/vscode/test "$WORK/before-root"
  check "/workspaces/test is the same repo" in_gitspace old '[ "$(stat -c %i ~/test)" = "$(stat -c %i /workspaces/test)" ] && git -C /workspaces/test rev-parse --git-dir'
  check "the user owns and can write everything in HOME (root's files included)" user_owns_all old
  check "dotfiles from the image are in HOME" in_gitspace old 'test -f ~/.bashrc && test -f ~/.profile && test -f ~/.vscode-server/bin/gitspace-reference/VERSION && [ "$(cat ~/.gitspace/layout)" = "home 1" ]'
  check "journal and marker recorded" record_state old "$WORK/state1"
  check "second helm upgrade: hook says already migrated" upgrade_watching old "$WORK/hook2.log"
  check "hook log of the second upgrade" grep -q "already migrated, nothing to do" "$WORK/hook2.log"
  check "second upgrade changed no marker or journal (ctime, mtime, content)" bash -c "diff <(kubectl -n $NS exec deploy/old-gitspace -c gitspace -- bash -c 'stat -c \"%n %Z %Y\" ~/.gitspace/layout ~/.gitspace/migration.journal; cat ~/.gitspace/migration.journal' 2>&1) $WORK/state1"
  check "checksums before the rollback recorded" to_file "$WORK/before-rollback" in_gitspace old "$SUMS" /home/vscode/test
  check "a file written in home after the migration" in_gitspace old 'echo "written in home" >~/test/after-migration'
  check "helm rollback to the legacy revision (1): the gitspace runs" helm rollback old 1 -n "$NS" --wait --timeout 4m
  check "rollback: prepare served the migrated volume as legacy, with the warning" bash -c "kubectl -n $NS logs deploy/old-gitspace -c prepare | grep -q '(a rollback); every repo is still at /workspaces/{repo}'"
  check "rollback: /workspaces/test still holds every file (and what was written in home)" bash -c \
    "got=\$(kubectl -n $NS exec deploy/old-gitspace -c gitspace -- bash -c $(printf '%q' "$SUMS") _ /workspaces/test | grep -v after-migration) && [ \"\$got\" = \"\$(grep -v after-migration $WORK/before-rollback)\" ] && kubectl -n $NS exec deploy/old-gitspace -c gitspace -- grep -q 'written in home' /workspaces/test/after-migration"
  check "rollback: HOME's files kept on the volume (/workspaces/.bashrc)" in_gitspace old 'test -f /workspaces/.bashrc && test "$(pwd)" = /workspaces'

  # --- legacy-nested: repos under workspaces/, and a clone at the top with the same name ---
  check "install compat.layout=legacy (nested release)" helm_up nest --set compat.layout=legacy
  check "root pod writes workspaces/{test,api} and a top-level test, records checksums" \
    root_pod_to "$WORK/nested-all" nest "$NESTED_TREE; for d in workspaces/test workspaces/api test; do echo \"== \$d\"; bash -c $(printf '%q' "$SUMS") _ /workspaces/\$d; done"
  awk -v dir="$WORK" '/^== /{f=$2; gsub("/", "_", f); next} {print > (dir "/nested-" f)}' "$WORK/nested-all"
  check "nested checksums recorded" grep -q '^sub/file 9 644 f' "$WORK/nested-workspaces_test"
  # Killed twice before the real upgrade: right after the first rename (before the journal
  # records it), then after the seeding step of the resumed run.
  check "migration SIGKILLed after its first rename (the Job fails)" kill_after_first_rename
  check "rerun SIGKILLed after seeding: it resumed from the journal first" kill_after_seeding
  check "helm upgrade --set compat.layout=home (nested) finishes the killed migration" upgrade_watching nest "$WORK/hook3.log" --set compat.layout=home
  check "hook log: resumed the interrupted migration" grep -q "was interrupted: resuming" "$WORK/hook3.log"
  check "hook log: collision reported, both kept" grep -q "name collision: workspaces/test is kept as test.from-workspaces" "$WORK/kill1.log" "$WORK/hook3.log"
  check "workspaces/test is now \$HOME/test.from-workspaces, every file identical" same_sums nest /home/vscode/test.from-workspaces "$WORK/nested-workspaces_test"
  check "workspaces/api is now \$HOME/api" same_sums nest /home/vscode/api "$WORK/nested-workspaces_api"
  check "the top-level test is untouched" same_sums nest /home/vscode/test "$WORK/nested-test"
  check "workspaces/ is gone (rmdir), the user owns everything" bash -c "kubectl -n $NS exec deploy/nest-gitspace -c gitspace -- bash -c '! test -e ~/workspaces && [ -z \"\$(find ~ -xdev -path ~/lost+found -prune -o \\! -user \$(id -u) -print)\" ]'"

  # --- home -> legacy on a volume created as HOME: refused, nothing touched, undone by rollback ---
  check "install layout home (a volume created as HOME)" k rollout status deploy/fresh-gitspace --timeout=4m
  check "the user writes ~/notes" in_gitspace fresh 'echo mine >~/notes'
  local before
  before=$(k get pod -l app.kubernetes.io/instance=fresh,app.kubernetes.io/component=gitspace -o jsonpath='{.items[*].metadata.name}')
  check "helm upgrade --set compat.layout=legacy (no --wait)" helm upgrade fresh "$CHART" -n "$NS" --reuse-values --set compat.layout=legacy
  check "prepare refuses: exit 1, message names compat.layout and the fix" prepare_refused fresh "$before"
  check "helm rollback to the home revision: the gitspace runs, HOME intact" bash -c \
    "helm rollback fresh 1 -n $NS --wait --timeout 4m >/dev/null && kubectl -n $NS exec deploy/fresh-gitspace -c gitspace -- bash -c '[ \"\$(cat ~/notes)\" = mine ] && [ \"\$(cat ~/.gitspace/layout)\" = \"home 1\" ] && [ \"\$(pwd)\" = /home/vscode ]'"

  printf '\nmigration: %d passed, %d failed%s (%ds)\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" "$((SECONDS - start))" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
