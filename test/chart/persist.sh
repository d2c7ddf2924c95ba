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
ready() {
  k rollout status "deploy/$DEP" --timeout=8m >/dev/null &&
    k wait pod -l "app.kubernetes.io/instance=$REL,app.kubernetes.io/component=gitspace" --for=condition=Ready --timeout=8m >/dev/null
}
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

  printf '\npersisted paths: %d passed, %d failed%s\n' "$PASS" "${#FAILED[@]}" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  [[ ${#FAILED[@]} -eq 0 ]]
}

main "$@"
