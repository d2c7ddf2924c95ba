#!/usr/bin/env bash
# Bad-input corpus runner: every case in corpus-cases.sh must be refused with ONE short message
# naming the field and the value, with nothing created: no file from the CLI, no pod/PVC from helm,
# no /etc/passwd, HOME or canary change from the scripts. Cases are data (corpus-cases.sh), so a
# dropped case shows in review. Usage: corpus.sh [--no-cluster] [NAME-REGEX]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
cd "$root"

CLUSTER=1
export KUBECONFIG=${KUBECONFIG:-$GITSPACE_KUBECONFIG}
if [[ ${1:-} == --no-cluster ]]; then CLUSTER=0; shift; fi
FILTER=${1:-}
IMAGE=gitspace-chart/gitspace:0.1.0
KUBE_VERSION=1.31.0
# Injection strings in the cases run `touch $CANARY`; it must never appear (host or container).
CANARY=/tmp/pwned-corpus
# A message longer than this is not "one clear message" (e.g. a 1 MB value echoed back).
MAX_MSG=4096
S=/usr/local/gitspace/scripts

work=$(mktemp -d)
ctr=''
ns='' baseline=''
cleanup() {
  [[ -z $ctr ]] || docker rm -f "$ctr" >/dev/null 2>&1 || true
  [[ -z $ns ]] || kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

declare -a PASS=() FAIL=()
N=0

# The image's passwd/group as the CLI reads them (vscode 1000:1000, root).
printf 'root:x:0:0:root:/root:/bin/bash\nvscode:x:1000:1000::/home/vscode:/bin/bash\n' >"$work/passwd"
printf 'root:x:0:\nvscode:x:1000:\ndocker:x:999:vscode\n' >"$work/group"

big() { head -c 1048576 /dev/zero | tr '\0' a; }  # 1 MB of 'a'

_selected() { [[ -z $FILTER || $1 =~ $FILTER ]]; }

# _judge NAME RC OUTFILE REGEX [EXTRA-FAILURE]: the verdict of one case.
_judge() {
  local name=$1 rc=$2 out=$3 re=$4 extra=${5:-} why=()
  ((rc != 0)) || why+=("exit 0")
  grep -Eq -- "$re" "$out" || why+=("no message matching /$re/")
  local size
  size=$(wc -c <"$out")
  ((size <= MAX_MSG)) || why+=("message is $size bytes (> $MAX_MSG)")
  [[ ! -e $CANARY ]] || { why+=("canary $CANARY created on the host"); rm -f "$CANARY"; }
  [[ -z $extra ]] || why+=("$extra")
  if ((${#why[@]} == 0)); then
    PASS+=("$name"); printf 'ok    %s\n' "$name"
  else
    FAIL+=("$name"); printf 'FAIL  %s: %s\n' "$name" "$(IFS=';'; echo "${why[*]}")"
    head -c 600 "$out" | sed 's/^/      | /'; echo
  fi
}

# values NAME REGEX YAML: `helm template` (values.schema.json + template rules) must refuse YAML.
values() {
  local name="values: $1" re=$2 yaml=$3 rc=0
  _selected "$name" || return 0
  N=$((N + 1))
  printf '%s\n' "$yaml" >"$work/v.yaml"
  helm template ws charts/gitspace --kube-version "$KUBE_VERSION" -f "$work/v.yaml" >"$work/out" 2>&1 || rc=$?
  # A refused render prints no manifest; keep only the error for the verdict.
  if grep -q '^kind:' "$work/out"; then
    _judge "$name" "$rc" "$work/out" "$re" "manifests were printed"
  else
    _judge "$name" "$rc" "$work/out" "$re"
  fi
}

# _objects: the namespace's objects an install could leave, sorted.
_objects() {
  kubectl get deploy,pod,pvc,svc,configmap,secret,job -n "$ns" -o name 2>/dev/null | grep -v 'configmap/kube-root-ca.crt' | sort || true
}

# install NAME REGEX YAML: a real `helm install` must fail and leave nothing in the namespace.
install() {
  local name="install: $1" re=$2 yaml=$3 rc=0 left
  _selected "$name" || return 0
  if ((!CLUSTER)); then FAIL+=("$name"); printf 'FAIL  %s: no cluster (--no-cluster)\n' "$name"; return 0; fi
  N=$((N + 1))
  if [[ -z $ns ]]; then
    ns=gs-sec-corpus-$$
    kubectl create namespace "$ns" >/dev/null
    shared_scripts_up "$ns"
    # What the namespace holds before any case (the shared scripts and their release): not "created".
    baseline=$(_objects)
  fi
  printf '%s\n' "$yaml" >"$work/v.yaml"
  helm install bad charts/gitspace -n "$ns" -f "$work/v.yaml" --wait=false >"$work/out" 2>&1 || rc=$?
  left=$(comm -13 <(printf '%s\n' "$baseline") <(_objects))
  helm uninstall bad -n "$ns" >/dev/null 2>&1 || true
  _judge "$name" "$rc" "$work/out" "$re" "${left:+created: $(echo "$left" | tr '\n' ' ')}"
}

# devc NAME REGEX CONTENT [CLI-ARGS...]: `gitspace-chart values --devcontainer` must refuse and write no file.
devc() {
  local name="cli: $1" re=$2 content=$3 rc=0
  shift 3
  _selected "$name" || return 0
  N=$((N + 1))
  printf '%s' "$content" >"$work/devcontainer.json"
  rm -f "$work/out.yaml"
  node bin/gitspace-chart.js values --devcontainer "$work/devcontainer.json" --passwd "$work/passwd" \
    --group "$work/group" --repo-url https://git.example.com/acme/app.git -o "$work/out.yaml" "$@" >"$work/out" 2>&1 || rc=$?
  _judge "$name" "$rc" "$work/out" "$re" "$([[ -e $work/out.yaml ]] && echo "values file written")"
}

# valid NAME JSON CONTENT: an edge input that is VALID and must resolve as devcontainers/cli does:
# `resolve-user --json` prints JSON, and the values file it writes renders with that uid and HOME.
valid() {
  local name="valid: $1" want=$2 content=$3 got why=()
  _selected "$name" || return 0
  N=$((N + 1))
  printf '%s' "$content" >"$work/devcontainer.json"
  local a=(--devcontainer "$work/devcontainer.json" --passwd "$work/passwd" --group "$work/group")
  got=$(node bin/gitspace-chart.js resolve-user "${a[@]}" --json 2>"$work/out") || why+=("resolve-user failed")
  [[ $got == "$want" ]] || why+=("resolved $got")
  rm -f "$work/out.yaml"
  node bin/gitspace-chart.js values "${a[@]}" --repo-url https://git.example.com/acme/app.git -o "$work/out.yaml" 2>>"$work/out" ||
    why+=("values failed")
  local uid home
  uid=$(jq -r .uid <<<"$want")
  home=$(jq -r .home <<<"$want")
  if helm template ws charts/gitspace --kube-version "$KUBE_VERSION" -f "$work/out.yaml" >"$work/render" 2>>"$work/out"; then
    grep -q "runAsUser: $uid\$" "$work/render" || why+=("no runAsUser: $uid in the render")
    grep -q "mountPath: $home\$" "$work/render" || why+=("volume not mounted at $home")
  else
    why+=("helm template failed")
  fi
  if ((${#why[@]} == 0)); then
    PASS+=("$name"); printf 'ok    %s -> %s\n' "$name" "$got"
  else
    FAIL+=("$name"); printf 'FAIL  %s: %s\n' "$name" "$(IFS=';'; echo "${why[*]}")"; head -c 600 "$work/out" | sed 's/^/      | /'
  fi
}

# The image, started once; scripts run in it by `docker exec` as root (they edit /etc/passwd).
_container() {
  [[ -z $ctr ]] || return 0
  ctr=gs-sec-corpus-$$
  # The working tree's scripts, not the copy baked into the image.
  docker run -d --name "$ctr" --network none -v "$root/charts/gitspace/files/scripts:$S:ro" \
    --entrypoint sleep "$IMAGE" infinity >/dev/null
  # A HOME with data the refused calls must leave alone.
  docker exec "$ctr" sh -c 'mkdir -p /home/vscode/keep && echo data >/home/vscode/keep/f && chown -R 1000:1000 /home/vscode'
}
_fingerprint() {
  docker exec "$ctr" sh -c 'sha256sum /etc/passwd /etc/group; find /home /root /tmp -xdev -printf "%p %s %m %u\n" 2>/dev/null | sort' | sha256sum
}

# script NAME REGEX USER CMD...: CMD in the image must refuse and change nothing.
script() { _in_container "script: $1" "${@:2}"; }
_in_container() {
  local name=$1 re=$2 user=$3 rc=0 before after
  shift 3
  _selected "$name" || return 0
  N=$((N + 1))
  _container
  before=$(_fingerprint)
  docker exec -u "$user" -e HOME=/home/vscode -w /home/vscode "$ctr" "$@" >"$work/out" 2>&1 || rc=$?
  after=$(_fingerprint)
  local extra=''
  docker exec "$ctr" test -e "$CANARY" && extra="canary created in the container"
  [[ $before == "$after" ]] || extra="${extra:+$extra; }files changed (passwd, group, /home, /root or /tmp)"
  _judge "$name" "$rc" "$work/out" "$re" "$extra"
}

# detect NAME REGEX CONTENT: detect-devcontainer-user.sh in the image on a repo with this devcontainer.json.
detect() {
  local name="detect: $1" re=$2 content=$3
  _selected "$name" || return 0
  _container
  docker exec "$ctr" rm -rf /tmp/repo
  printf '%s' "$content" >"$work/dc.json"
  docker exec "$ctr" mkdir -p /tmp/repo/.devcontainer
  docker cp "$work/dc.json" "$ctr:/tmp/repo/.devcontainer/devcontainer.json" >/dev/null
  _in_container "$name" "$re" 1000 "$S/detect-devcontainer-user.sh" /tmp/repo
}

# shellcheck source=test/security/corpus-cases.sh
source "$here/corpus-cases.sh"

printf '\ncorpus: %d passed, %d failed (of %d run)\n' "${#PASS[@]}" "${#FAIL[@]}" "$N"
((${#FAIL[@]} == 0))
