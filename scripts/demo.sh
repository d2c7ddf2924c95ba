#!/usr/bin/env bash
# npm run demo [-- --all] [-- --no-ssh]
# The main job, from a fresh machine: tools, Docker engine, the reference
# image, the local cluster, a demo repository on a loopback git server (kept
# running), values from the real generator, `helm install` of a gitspace in
# namespace gitspace-demo, then where its IDE is and the Docker/Kubernetes
# parity table (the default case; --all: the whole matrix). It also
# installs an SSH IDE gitspace (release demo-ssh) and prints its ssh command
# (--no-ssh: only the code-server one).
# Idempotent: a second run upgrades and reuses what is there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$root"

NS=gitspace-demo
RELEASE=demo
SSH_RELEASE=demo-ssh
IMAGE=gitspace-chart/gitspace:0.1.0
REPO=demo-app
GIT_PORT=${GITSPACE_DEMO_GIT_PORT:-39418}
IDE_LOCAL_PORT=${GITSPACE_DEMO_IDE_PORT:-18089}
SSH_LOCAL_PORT=${GITSPACE_DEMO_SSH_PORT:-18088}
DEMO_DIR="$GITSPACE_CACHE/demo"
ALL=false
SSH=true
for a in "$@"; do
  case "$a" in
    --all) ALL=true ;;
    --ssh) SSH=true ;;
    --no-ssh) SSH=false ;;
    *) die "unknown option '$a'; usage: npm run demo [-- --all] [-- --no-ssh]" ;;
  esac
done

kubectl() { command kubectl --kubeconfig "$GITSPACE_KUBECONFIG" "$@"; }
helm() { command helm --kubeconfig "$GITSPACE_KUBECONFIG" "$@"; }

# pid_alive FILE: the pid recorded in FILE runs.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid FILE: end the background process WE started (recorded pid only).
stop_pid() {
  if pid_alive "$1"; then kill "$(cat "$1")" 2>/dev/null || true; fi
  rm -f "$1"
}

# git_server: the loopback git server (git http-backend behind basic auth),
# started once in the background and reused; its pid in $DEMO_DIR/gitserver.pid.
git_server() {
  local pidfile="$DEMO_DIR/gitserver.pid" pwfile="$DEMO_DIR/git-password" addrs=(127.0.0.1) hosts=() ip a dev
  mkdir -p "$DEMO_DIR/git"
  if [[ ! -s "$pwfile" ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$pwfile")
  fi
  # cni0 exists only once a pod has run: on a fresh machine it is missing (bridge_ip prints nothing).
  for dev in ${GITSPACE_DEMO_BRIDGES:-docker0 cni0}; do
    ip=$(bridge_ip "$dev")
    [[ -z "$ip" ]] || addrs+=("$ip")
  done
  for a in "${addrs[@]}"; do hosts+=(--host "$a"); done
  if pid_alive "$pidfile" && curl -fsS -o /dev/null "http://127.0.0.1:$GIT_PORT/$REPO.git/info/refs?service=git-upload-pack" -u "gitspace:$(cat "$pwfile")" 2>/dev/null; then
    log_info "git server already running (pid $(cat "$pidfile"), port $GIT_PORT)"
  else
    stop_pid "$pidfile"
    [[ -d "$DEMO_DIR/git/$REPO.git" ]] || node --import tsx test/parity/gitserver.ts create-repo --root "$DEMO_DIR/git" --name "$REPO" --private \
      --file "README.md=# $REPO\n\nA demo repository served by git http-backend on this machine.\n" \
      --file ".devcontainer/devcontainer.json=$(cat test/parity/demo/devcontainer.json)"
    GITSPACE_GIT_USERNAME=gitspace GITSPACE_GIT_PASSWORD="$(cat "$pwfile")" \
      setsid node --import tsx test/parity/gitserver.ts serve --root "$DEMO_DIR/git" --port "$GIT_PORT" "${hosts[@]}" \
      >>"$DEMO_DIR/gitserver.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 30); do
      curl -fsS -o /dev/null -u "gitspace:$(cat "$pwfile")" "http://127.0.0.1:$GIT_PORT/$REPO.git/info/refs?service=git-upload-pack" 2>/dev/null && break
      sleep 1
    done
    pid_alive "$pidfile" || { tail -n 20 "$DEMO_DIR/gitserver.log" >&2; die "git server did not start (log: $DEMO_DIR/gitserver.log)"; }
    log_info "git server started (pid $(cat "$pidfile"), port $GIT_PORT on ${addrs[*]}; log $DEMO_DIR/gitserver.log)"
  fi
}

# install RELEASE VALUES...: namespace, Secrets (data on stdin, never argv), helm upgrade --install.
install() {
  local release=$1
  shift
  helm upgrade --install "$release" charts/gitspace -n "$NS" "$@" --wait --timeout 15m
}

# port_in_use PORT: something listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_forward NAME SVC LOCAL REMOTE: kubectl port-forward in the background on
# 127.0.0.1, on LOCAL, or on a free port kubectl picks when another program
# holds LOCAL. Sets PF_PORT to the local port it listens on.
port_forward() {
  local name=$1 svc=$2 lport=$3 rport=$4 pidfile="$DEMO_DIR/port-forward-$1.pid" log="$DEMO_DIR/port-forward-$1.log"
  stop_pid "$pidfile"
  if port_in_use "$lport"; then
    log_warn "127.0.0.1:$lport is taken by another program: kubectl picks a free port instead"
    lport=""
  fi
  setsid kubectl --kubeconfig "$GITSPACE_KUBECONFIG" port-forward -n "$NS" "svc/$svc" --address 127.0.0.1 "$lport:$rport" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  PF_PORT=""
  for _ in $(seq 1 20); do
    PF_PORT=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log" 2>/dev/null | head -n 1)
    [[ -z "$PF_PORT" ]] || return 0
    sleep 1
  done
  die "kubectl port-forward svc/$svc did not start (log: $log)"
}

main() {
  step "demo 1/9: tools (scripts/setup.sh; cached in $GITSPACE_CACHE)"
  bash scripts/setup.sh
  step "demo 2/9: Docker engine"
  GS_LOG_FILE="$GITSPACE_CACHE/dockerd.log"
  docker_up
  step "demo 3/9: images (cached: rebuilt only when their inputs change)"
  GS_LOG_FILE="the output above"
  if $ALL; then bash images/build.sh all; else bash images/build.sh gitspace; fi
  step "demo 4/9: local Kubernetes cluster"
  GS_LOG_FILE="$GITSPACE_CACHE/cluster/logs/ (one file per daemon)"
  bash test/cluster/cluster.sh up >/dev/null
  log_info "kubeconfig: $GITSPACE_KUBECONFIG"
  step "demo 5/9: image into the cluster"
  bash test/cluster/cluster.sh load-image "$IMAGE"

  step "demo 6/9: demo repository on the loopback git server"
  GS_LOG_FILE="$DEMO_DIR/gitserver.log"
  mkdir -p "$DEMO_DIR"
  git_server
  local git_host repo_url
  git_host=$(bridge_ip docker0)
  [[ -n "$git_host" ]] || die "docker0 has no address: is the Docker engine running?"
  repo_url="http://$git_host:$GIT_PORT/$REPO.git"
  log_info "repository: $repo_url (private: basic auth)"

  step "demo 7/9: values from the real generator (gitspace-chart values)"
  GS_LOG_FILE="the output above"
  node bin/gitspace-chart.js values --image "$IMAGE" --devcontainer test/parity/demo/devcontainer.json \
    --repo-url "$repo_url" --release "$RELEASE" -o "$DEMO_DIR/values.yaml"
  sed -n '1,3p' "$DEMO_DIR/values.yaml"

  step "demo 8/9: helm upgrade --install $RELEASE (namespace $NS)"
  GS_LOG_FILE="kubectl --kubeconfig $GITSPACE_KUBECONFIG -n $NS logs deploy/$RELEASE-gitspace --all-containers"
  kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # The scripts every gitspace of this chart version mounts: once per namespace (docs/fleet.md).
  shared_scripts_up "$NS"
  # The repo credentials as a Secret, from stdin: the password is in no argv.
  jq -n --arg ns "$NS" --arg pw "$(cat "$DEMO_DIR/git-password")" \
    '{apiVersion:"v1",kind:"Secret",metadata:{name:"demo-git",namespace:$ns},type:"Opaque",stringData:{username:"gitspace",password:$pw}}' |
    kubectl apply -f - >/dev/null
  printf 'repo:\n  credentials:\n    existingSecret: demo-git\n' >"$DEMO_DIR/overlay.yaml"
  install "$RELEASE" -f "$DEMO_DIR/values.yaml" -f "$DEMO_DIR/overlay.yaml"
  kubectl get pods -n "$NS" -l "app.kubernetes.io/instance=$RELEASE"
  port_forward ide "$RELEASE-gitspace" "$IDE_LOCAL_PORT" 8089
  local url="http://127.0.0.1:$PF_PORT/?folder=/home/vscode/$REPO"
  curl -fsS -o /dev/null --retry 10 --retry-connrefused --retry-delay 1 "$url" ||
    die "the IDE does not answer at $url (log: $DEMO_DIR/port-forward-ide.log)"

  local ssh_line
  if $SSH; then
    local key="$DEMO_DIR/id_ed25519"
    # Both halves or neither: an earlier run cut short may have left one, or an empty one.
    if [[ ! -s "$key" || ! -s "$key.pub" ]]; then
      rm -f "$key" "$key.pub"
      ssh-keygen -q -t ed25519 -N '' -C gitspace-demo -f "$key"
    fi
    jq -n --arg ns "$NS" --arg k "$(cat "$key.pub")" \
      '{apiVersion:"v1",kind:"Secret",metadata:{name:"demo-ssh-keys",namespace:$ns},type:"Opaque",stringData:{authorized_keys:($k + "\n")}}' |
      kubectl apply -f - >/dev/null
    node bin/gitspace-chart.js values --image "$IMAGE" --devcontainer test/parity/demo/devcontainer.json \
      --repo-url "$repo_url" --release "$SSH_RELEASE" --ide vs_code -o "$DEMO_DIR/values-ssh.yaml"
    printf 'ssh:\n  authorizedKeysSecret: demo-ssh-keys\n' >>"$DEMO_DIR/overlay.yaml"
    install "$SSH_RELEASE" -f "$DEMO_DIR/values-ssh.yaml" -f "$DEMO_DIR/overlay.yaml"
    port_forward ssh "$SSH_RELEASE-gitspace" "$SSH_LOCAL_PORT" 8088
    ssh_line="ssh -i $key -p $PF_PORT -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no vscode@127.0.0.1"
  else
    ssh_line="(not installed: --no-ssh)"
  fi

  step "demo 9/9: Docker/Kubernetes parity ($($ALL && echo 'all cases' || echo 'default case'))"
  local parity_args=(--case default)
  $ALL && parity_args=()
  local rc=0
  npx tsx test/parity/suite.ts "${parity_args[@]}" || rc=$?

  printf '\n'
  printf 'gitspace "%s" in namespace %s (helm release %s)\n' "$REPO" "$NS" "$RELEASE"
  printf '  IDE (code-server):  %s\n' "$url"
  printf '  SSH:                %s\n' "$ssh_line"
  printf '  git server:         %s (pid %s, background; password in %s)\n' "$repo_url" "$(cat "$DEMO_DIR/gitserver.pid")" "$DEMO_DIR/git-password"
  printf '  terminal:           kubectl --kubeconfig %s exec -it -n %s deploy/%s-gitspace -- bash -l\n' "$GITSPACE_KUBECONFIG" "$NS" "$RELEASE"
  printf '  parity report:      %s/parity-report.json\n' "$root"
  return "$rc"
}

main
