#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted commands run in the gitspace's shell
# test/chart/persist.sh: what the user installs outside HOME survives as on Docker (docs/persistence.md),
# on the real cluster: a gitspace of the language image (gitspace-chart/test-lang: GOPATH /go, group
# golang, setgid) with persistence.paths [/go] as `gitspace-chart values --image` lists it; the user
# "go installs" a tool into /go/bin and fills the module cache; then a pod delete, a stop/start and a
# reset: each time the tool runs from PATH, every file under /go has the same checksum, owner and
# mode, and /go is still root:golang 2775 as in the image. Own namespace, removed at the end.
# Needs: the cluster up and the image loaded
#   bash test/cluster/cluster.sh up && bash test/cluster/cluster.sh load-image gitspace-chart/test-lang:0.1.0
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}

NS="persist-$$"
REL=pg
DEP="$REL-gitspace"
CHART="$root/charts/gitspace"
CLI=(node "$root/bin/gitspace-chart.js")
IMAGE=gitspace-chart/test-lang:0.1.0
WORK=$(mktemp -d)

# shellcheck source=test/lib/checks.bash
source "$root/test/lib/checks.bash"
k() { kubectl -n "$NS" "$@"; }

cleanup() {
  helm -n "$NS" uninstall "$REL" --wait --timeout 2m >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=true --timeout=2m >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pod() { k get pod -l "app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace" -o jsonpath='{.items[0].metadata.name}'; }
ready() { gitspace_ready 8m; }
# as_user CMD: a shell of the user in the gitspace.
as_user() { k exec "deploy/$DEP" -c gitspace -- bash -c "$1"; }

# values: what `gitspace-chart values --image` writes for the image (persistence.paths detected).
values() {
  printf '{"image": "%s"}\n' "$IMAGE" >"$WORK/devcontainer.json"
  "${CLI[@]}" values --repo-url https://example.com/none.git --image "$IMAGE" --devcontainer "$WORK/devcontainer.json" -o "$WORK/values.yaml" &&
    grep -A2 '^persistence:' "$WORK/values.yaml" | grep -qx '    - /go'
}

install() {
  # No repository to clone here: the persisted folders are what this test is about.
  helm install "$REL" "$CHART" -n "$NS" -f "$WORK/values.yaml" --set repo.url= --set persistence.keepOnUninstall=false --wait --timeout 5m
}

image_mode() {
  local got
  got=$(as_user 'stat -c "%U:%G %a" /go /go/bin; id -Gn')
  [[ "$got" == $'root:golang 2775\nroot:golang 2775\n'*golang* ]] || { echo "got: $got"; return 1; }
}

# go_install: what `go install` and the module cache leave (a binary in /go/bin, files in /go/pkg/mod).
go_install() {
  as_user 'printf "#!/bin/sh\necho mytool-v1\n" >/go/bin/mytool && chmod 755 /go/bin/mytool &&
    mkdir -p /go/pkg/mod/example.com/lib@v1.0.0 && head -c 200000 /dev/urandom >/go/pkg/mod/example.com/lib@v1.0.0/lib.a &&
    echo "module example.com/lib" >/go/pkg/mod/example.com/lib@v1.0.0/go.mod'
  snapshot >"$WORK/before"
  [[ $(wc -l <"$WORK/before") -ge 5 ]] || { echo "snapshot too small:"; cat "$WORK/before"; return 1; }
}
# snapshot: every entry under /go with type, owner, mode and content checksum.
snapshot() { as_user 'cd /go && find . -printf "%y %u:%g %m %p\n" | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2'; }

same_go() {
  snapshot >"$WORK/after"
  diff "$WORK/before" "$WORK/after" || return 1
  # found through the image's PATH (ENV PATH=/go/bin:...), as an exec or the IDE's process sees it
  [[ "$(k exec "deploy/$DEP" -c gitspace -- mytool)" == mytool-v1 ]] || { echo "mytool on PATH did not run"; return 1; }
  image_mode
}

# --- the image upgrade's refresh, SIGKILLed mid-way (issue 18 point 4; docs/persistence.md) ---
# The next version of the language image (lang_next_image, test/lib/checks.bash): HOME's .bashrc
# and .profile changed, .bash_logout dropped, a new ~/.config/next-tool/config, six new tools in /go/bin.
NEXT=$LANG_NEXT
next_image() { lang_next_image; }

# user_work: what the user does before the upgrade: edits .profile (the image changes it too:
# a conflict), adds files in HOME, puts a tool of their own where the next image has one.
user_work() {
  as_user 'echo "export MY_SETTING=1" >>~/.profile && mkdir -p ~/notes ~/project/data &&
    echo "my plan" >~/notes/plan.md && head -c 300000 /dev/urandom >~/project/data/blob.bin && chmod 600 ~/project/data/blob.bin &&
    ln -s notes/plan.md ~/plan-link && printf "#!/bin/sh\necho mine\n" >/go/bin/imagetool-6 && chmod 755 /go/bin/imagetool-6' &&
    user_snapshot >"$WORK/user-before"
}
# user_snapshot: every entry of HOME (but the gitspace's own .gitspace) and of /go: type,
# owner, mode, link target, and each file's sha256.
user_snapshot() {
  as_user 'for d in "$HOME" /go; do (cd "$d" && find . \( -path ./.gitspace -o -path ./.vscode-server -o -path ./.local -o -path ./.config/code-server \) -prune -o -printf "$d %y %u:%g %m %p %l\n" | LC_ALL=C sort); done
    for d in "$HOME" /go; do (cd "$d" && find . \( -path ./.gitspace -o -path ./.vscode-server -o -path ./.local -o -path ./.config/code-server \) -prune -o -type f -exec sha256sum {} + | sed "s|  |  $d |" | LC_ALL=C sort -k2); done'
}

# upgrade_killed: helm upgrade to the next image, its prepare given the refresh's test hook
# GITSPACE_REFRESH_KILL_AFTER (refresh.sh: SIGKILL of the refresh's processes right after plan
# step N), added by a post-renderer: the chart has no value for a test hook. The refresh is
# killed after step 8 (of 12: HOME done, /go begun); kubelet starts prepare again, which
# finds the journal and finishes the refresh.
upgrade_killed() {
  cat >"$WORK/kill-hook" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
kubectl create --dry-run=client -o json -f - | jq -c '(if .kind == "List" then .items[] else . end)
  | if .kind == "Deployment" then .spec.template.spec |= with_entries(if .key == "initContainers" or .key == "containers"
      then .value |= map(if .name == "prepare" then .env += [{"name": "GITSPACE_TEST_HOOKS", "value": "1"},
        {"name": "GITSPACE_REFRESH_KILL_AFTER", "value": "8"}] else . end) else . end) else . end' | sed '1!s/^/---\n/'
SH
  chmod +x "$WORK/kill-hook"
  helm upgrade "$REL" "$CHART" -n "$NS" --reuse-values --set image.repository="${NEXT%:*}" --set image.tag="${NEXT##*:}" \
    --post-renderer "$WORK/kill-hook" >/dev/null || return 1
  # The killed run's exit code and log, read while kubelet waits to start prepare again (once the
  # next run succeeded, neither is kept).
  local i p=""
  for ((i = 0; i < 240; i++)); do
    p=$(k get pod -l "app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace" -o json | jq -r '.items[]
      | select(any(.status.initContainerStatuses[]?; .name == "prepare" and (.state.terminated.exitCode == 137 or .lastState.terminated.exitCode == 137)))
      | .metadata.name' | head -n 1)
    [[ -z "$p" ]] || break
    sleep 0.5
  done
  [[ -n "$p" ]] || { echo "no prepare ended with 137 (SIGKILL)"; k get pod -o wide; return 1; }
  k logs "$p" -c prepare --previous >"$WORK/killed.log" 2>/dev/null || k logs "$p" -c prepare >"$WORK/killed.log"
  ready
}

# killed_then_resumed: prepare's first run was SIGKILLed after step 8 (exit 137, its log ends
# with that step, no "refresh done"); the second run resumed after step 8 and finished.
killed_then_resumed() {
  local p code first second
  p=$(pod) || return 1
  code=$(k get pod "$p" -o jsonpath='{.status.initContainerStatuses[?(@.name=="prepare")].restartCount}')
  [[ "$code" == 1 ]] || { echo "prepare ran $((code + 1)) times (want 2: killed, then resumed)"; k logs "$p" -c prepare | grep refresh; return 1; }
  first=$(cat "$WORK/killed.log") && second=$(k logs "$p" -c prepare) || return 1
  [[ "$first" == *"refreshing what the image put in HOME"* && "$first" != *"refresh done"* ]] ||
    { echo "first run:"; printf '%s\n' "$first" | tail -n 20; return 1; }
  [[ $(grep -c 'refresh: \(copy\|beside\|aside\|meta\|rmdir\) ' <<<"$first") == 8 ]] || { echo "first run did not stop after step 8:"; grep 'refresh' <<<"$first"; return 1; }
  [[ "$second" == *"was interrupted: finishing it"*"refresh: resuming after step 8"*"refresh done: 12 changes"* ]] ||
    { echo "second run:"; printf '%s\n' "$second" | grep refresh; return 1; }
  [[ $(grep -c 'refresh: \(copy\|beside\|aside\|meta\|rmdir\) ' <<<"$second") == 4 ]] || { echo "second run did not do steps 9 to 12 only:"; grep 'refresh' <<<"$second"; return 1; }
}

# user_files_kept: every entry the user wrote or changed, and every image file the refresh had
# no reason to touch, is the same (type, owner, mode, target, checksum) after the killed and
# resumed refresh; the only differences are the image's own updates.
user_files_kept() {
  # .devbase-label-post-start: the image label's postStartCommand appends a line at each start.
  local h='^(/home/vscode [fl] .* |[0-9a-f]{64}  /home/vscode )\./' g='^(/go [fl] .* |[0-9a-f]{64}  /go )\./'
  local changed="$h\\.devbase-label-post-start ?\$|$h(\\.bashrc|\\.bash_logout|\\.config/next-tool/config) ?\$|^/home/vscode d .* \\./\\.config(/next-tool)? \$|${g}bin/imagetool-[1-5] ?\$"
  user_snapshot >"$WORK/user-after" || return 1
  diff <(grep -Ev "$changed" "$WORK/user-before") <(grep -Ev "$changed" "$WORK/user-after") || return 1
  [[ $(wc -l <"$WORK/user-before") -ge 20 ]] || { echo "snapshot too small:"; cat "$WORK/user-before"; return 1; }
}

# image_files_new: what the user never touched is the next image's (checksum, owner, mode);
# .bash_logout, dropped by the image, is gone from HOME.
image_files_new() {
  local want got
  want=$(docker run --rm --entrypoint sh "$NEXT" -c 'cd /home/vscode && stat -c "%a %n" .bashrc .config/next-tool/config && sha256sum .bashrc .config/next-tool/config &&
    cd /go/bin && stat -c "%U:%G %a %n" imagetool-[1-5] && sha256sum imagetool-[1-5]')
  got=$(as_user 'cd ~ && stat -c "%a %n" .bashrc .config/next-tool/config && sha256sum .bashrc .config/next-tool/config &&
    cd /go/bin && stat -c "%U:%G %a %n" imagetool-[1-5] && sha256sum imagetool-[1-5] && test ! -e ~/.bash_logout') || { echo "$got"; return 1; }
  [[ "$got" == "$want" ]] || { diff <(printf '%s\n' "$want") <(printf '%s\n' "$got"); return 1; }
  [[ "$(k exec "deploy/$DEP" -c gitspace -- imagetool-3)" == imagetool-3 && "$(k exec "deploy/$DEP" -c gitspace -- imagetool-6)" == mine ]]
}

# report_lists: the report has one line per decision, each as the user needs it: the image's
# .profile and imagetool-6 beside the user's, .bash_logout moved aside, all with the same content
# as in the next image.
report_lists() {
  local r stamp want
  r=$(as_user 'cat ~/.gitspace/upgrade-report') || return 1
  stamp=$(sed -n 's/^# image upgrade .* at \([0-9TZ]*\)$/\1/p' <<<"$r")
  [[ -n "$stamp" ]] || { echo "no stamp in: $r"; return 1; }
  want="aside	home	.bash_logout: the new image no longer has it; moved to .gitspace/upgrades/$stamp/home/.bash_logout
updated	home	.bashrc
added	home	.config/next-tool
added	home	.config/next-tool/config
conflict	home	.profile: you changed it and so did the new image; yours is kept, the image's is in .gitspace/upgrades/$stamp/home/.profile
added	go	bin/imagetool-1
added	go	bin/imagetool-2
added	go	bin/imagetool-3
added	go	bin/imagetool-4
added	go	bin/imagetool-5
conflict	go	bin/imagetool-6: new in the image, but you have your own; yours is kept, the image's is in .gitspace/upgrades/$stamp/go/bin/imagetool-6
added	usr/local/share/npm-global	bin/npmtool"
  diff <(printf '%s\n' "$want") <(grep -v '^#' <<<"$r" ) || return 1
  diff <(as_user "cat ~/.gitspace/upgrades/$stamp/REPORT.txt") <(printf '%s\n' "$r") || return 1
  want=$(docker run --rm --entrypoint sh "$NEXT" -c 'sha256sum /home/vscode/.profile /go/bin/imagetool-6' | awk '{print $1}')
  [[ "$(as_user "cd ~/.gitspace/upgrades/$stamp && sha256sum home/.profile go/bin/imagetool-6" | awk '{print $1}')" == "$want" ]] ||
    { echo "the image's files beside the user's differ from the next image's"; return 1; }
  want=$(docker run --rm --entrypoint sha256sum gitspace-chart/test-lang:0.1.0 /home/vscode/.bash_logout | awk '{print $1}')
  [[ "$(as_user "sha256sum ~/.gitspace/upgrades/$stamp/home/.bash_logout" | awk '{print $1}')" == "$want" ]]
}

# nothing_half_written: no staged copy (.NAME.gitspace-new) anywhere in HOME or /go, no journal left.
nothing_half_written() {
  local out
  out=$(as_user 'find ~ /go -name "*.gitspace-new"; test ! -e ~/.gitspace/refresh || echo "journal left: ~/.gitspace/refresh"; cat ~/.gitspace/image')
  [[ "$out" == "$NEXT" ]] || { echo "got: $out"; return 1; }
}

restart_pod() { k delete pod "$(pod)" --wait=true --timeout=2m >/dev/null && ready; }
no_reseed() {
  local l
  l=$(k logs "deploy/$DEP" -c prepare)
  [[ "$l" == *"prepare done"* && "$l" != *"seeding persisted path"* ]] || { printf '%s\n' "$l" | tail -n 20; return 1; }
}

main() {
  step "persisted paths on the cluster: namespace $NS"
  kubectl get --raw /readyz >/dev/null || die "no cluster answers (KUBECONFIG=$KUBECONFIG): bash test/cluster/cluster.sh up"
  kubectl create namespace "$NS" >/dev/null
  shared_scripts_up "$NS"
  check "gitspace-chart values --image $IMAGE lists persistence.paths /go" values
  check "install: the pod is Ready" install
  check "/go is root:golang 2775 as in the image, the user in group golang" image_mode
  check "the user go-installs a tool and fills the module cache" go_install
  check "a pod delete: a new pod is Ready" restart_pod
  check "after the pod delete: every file under /go the same (checksum, owner, mode), the tool runs" same_go
  check "the restart did not seed /go again" no_reseed
  check "stop" "${CLI[@]}" stop "$REL" -n "$NS" --wait --chart "$CHART" --timeout 8m
  check "start" "${CLI[@]}" start "$REL" -n "$NS" --wait --chart "$CHART" --timeout 8m
  check "after stop/start: /go the same, the tool runs" same_go
  check "reset" "${CLI[@]}" reset "$REL" -n "$NS" --wait --chart "$CHART" --timeout 8m
  check "after reset: /go the same, the tool runs (Docker's reset loses it: docs/persistence.md)" same_go

  step "image upgrade: the refresh SIGKILLed mid-way, resumed at the next start"
  check "the next image (changed, dropped and new files in HOME and /go) is built and loaded" next_image
  check "the user edits .profile, adds files in HOME, puts a tool of their own in /go/bin (checksums recorded)" user_work
  check "helm upgrade to the next image, the refresh SIGKILLed after step 8: the pod is Ready" upgrade_killed
  check "prepare was killed (exit 137) after step 8, the next run resumed from the journal and finished" killed_then_resumed
  check "every file of the user's (HOME and /go) the same: checksum, owner, mode, target" user_files_kept
  check "what the user did not touch is the next image's; what it dropped is gone" image_files_new
  check "the report lists every decision; the image's versions beside the user's, the dropped one aside" report_lists
  check "nothing half-written (no staged copy, no journal); the new image recorded" nothing_half_written

  printf '\npersisted paths: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
