#!/usr/bin/env bash
# bash test/demo/run.sh: the `demo` test stage. Runs README's main job
# (`npm run demo`) end to end and checks what it printed as a user would use
# it: the IDE URL answers with the code-server workbench (also after the demo
# exited), the SSH command logs in as the remote user in HOME, the parity
# summary has 0 failed. The git server's bridge list names a device that does
# not exist, as cni0 does not on a fresh machine before any pod ran (the
# demo died there once, silently). Removes the demo's releases at the end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
cd "$root"

OUT="$GITSPACE_CACHE/demo-stage.log"
NS=gitspace-demo
failed=0
ok() { printf '  ok   %s\n' "$1"; }
nok() { printf '  FAIL %s\n' "$1"; failed=$((failed + 1)); }
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else nok "$name"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/       | /'; fi
}

step "demo stage: npm run demo (git server bridges: docker0 gs-absent0 cni0)"
GS_LOG_FILE=$OUT
GITSPACE_DEMO_BRIDGES="docker0 gs-absent0 cni0" npm run demo 2>&1 | tee "$OUT"

# printed NAME: the value after "NAME:" on the demo's closing lines.
printed() { sed -n "s/^  $1:[[:space:]]*//p" "$OUT" | tail -n 1; }
URL=$(printed 'IDE (code-server)')
SSH_CMD=$(printed 'SSH')

step "demo stage: what the demo printed works"
# code-server's workbench page: the HTML that loads the VS Code workbench.
workbench() {
  local html
  [[ $URL == http://127.0.0.1:*'/?folder=/home/vscode/demo-app' ]] || { echo "unexpected IDE URL: '$URL'"; return 1; }
  html=$(curl -fsS --max-time 10 "$URL")
  grep -q 'workbench' <<<"$html" || { echo "no workbench in the page:"; head -c 400 <<<"$html"; return 1; }
}
check "the IDE URL the demo printed answers with the workbench after the demo exited" workbench
ssh_login() {
  local -a cmd
  read -r -a cmd <<<"$SSH_CMD"
  [[ ${cmd[0]:-} == ssh ]] || { echo "no ssh command printed: '$SSH_CMD'"; return 1; }
  # The printed line has no quoting (no spaces in its parts): split as a user's shell would.
  local got
  # Our options go before the destination (the last word): after it, ssh reads a remote command.
  # shellcheck disable=SC2016 # $HOME is for the remote shell
  got=$("${cmd[@]:0:${#cmd[@]}-1}" -o BatchMode=yes -o ConnectTimeout=10 "${cmd[-1]}" 'id -un; pwd; echo "$HOME"')
  echo "$got"
  [[ $got == $'vscode\n/home/vscode\n/home/vscode' ]]
}
check "the SSH command the demo printed logs in as vscode in HOME" ssh_login
check "the parity summary line has 0 failed" grep -Eq '^[0-9]+ rows, 0 failed' "$OUT"
check "the terminal command the demo printed opens a shell as the user" \
  bash -c "$(printed 'terminal' | sed 's/ -it / -i /') <<<'id -un' | grep -qx vscode"

step "demo stage: removing the demo releases (their CPU requests would crowd the later stages)"
kubectl --kubeconfig "$GITSPACE_KUBECONFIG" delete namespace "$NS" --wait=false >/dev/null

printf 'demo stage: %d failed\n' "$failed"
((failed == 0))
