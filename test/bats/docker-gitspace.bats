#!/usr/bin/env bats
# The reference image run exactly like Docker Gitspace runs it: a new named
# volume at HOME (Docker seeds it), main process `sleep infinity`, then the
# setup steps by `docker exec` in Docker Gitspace's order: manage user (root)
# -> clone (user) -> IDE setup + run -> postCreate -> postStart. The IDE is
# reached from the host on published 127.0.0.1 ports; the git server listens
# on the docker0 gateway.

load helpers/common.bash
load helpers/git-server.bash

# shellcheck disable=SC2016 # hook files hold commands: $HOME is expanded by the hook's shell
setup_file() {
  # The docker0 gateway: bridged containers reach it, nothing outside does.
  GW=$(ip -4 -o addr show dev docker0 | awk '{ split($4, a, "/"); print a[1]; exit }')
  [[ "$GW" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "no docker0 address" >&2; return 1; }
  export GW
  gitspace_fixtures "$BATS_FILE_TMPDIR/git" "$GW"
  # Hooks: two postCreate in parallel (same prefix), one failing, one postStart.
  echo 'date +%s%N >"$HOME/pc-a"; sleep 2; id -un >>"$HOME/created.txt"' >"$GS_DIR/hooks/postCreateCommand/10-a"
  echo 'date +%s%N >"$HOME/pc-b"; sleep 2; pwd >"$HOME/pc-b-pwd"' >"$GS_DIR/hooks/postCreateCommand/10-b"
  echo 'echo "hook says bye" >&2; exit 3' >"$GS_DIR/hooks/postCreateCommand/20-fail"
  echo 'echo started >>"$HOME/started.txt"' >"$GS_DIR/hooks/postStartCommand/10-s"
}

teardown_file() { git_server_stop "$GS_DIR"; }
teardown() { cleanup_all; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ENVU=(-e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode)

# gitspace_ctr VOL HOSTPORT:PORT|DOCKER_ARG...: the Docker Gitspace container of
# the reference image, ports published on 127.0.0.1.
gitspace_ctr() {
  local vol=$1 p args=()
  shift
  for p in "$@"; do
    if [[ "$p" =~ ^[0-9]+:[0-9]+$ ]]; then args+=(-p "127.0.0.1:$p"); else args+=("$p"); fi
  done
  ctr_start "$IMG_GITSPACE" --user vscode -v "$vol:/home/vscode" \
    -v "$GS_DIR/creds:/gitspace/git-credentials:ro" -v "$GS_DIR/ssh:/gitspace/ssh:ro" \
    -v "$GS_DIR/hooks:/gitspace/hooks:ro" "${args[@]}"
}

# setup_steps CTR: Docker Gitspace's setup steps before the IDE.
setup_steps() {
  docker exec -u 0 "${ENVU[@]}" "$1" "$SCRIPTS/gitspace-init.sh" docker-manage-user GREETING='hello world' QUOTED="$QUOTED_VALUE"
  docker exec -u vscode "${ENVU[@]}" -e REPO_URL="http://$GW:$GIT_PORT/plain.git" \
    -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials -e GITSPACE_IMAGE="$IMG_GITSPACE" \
    "$1" "$SCRIPTS/gitspace-init.sh" user-setup
}

# start_ide CTR IDE_TYPE [exec args]: start.sh as vscode, detached (as Docker's IDE run step).
start_ide() {
  local c=$1 ide=$2
  shift 2
  docker exec -d -u vscode "${ENVU[@]}" -e REPO_NAME=plain -e IDE_TYPE="$ide" \
    -e SSH_AUTHORIZED_KEYS_FILE=/gitspace/ssh/authorized_keys "$@" "$c" \
    bash -c "exec $SCRIPTS/start.sh >>/tmp/start-$ide.log 2>&1"
}

# wait_http URL: until it answers (60 s).
wait_http() {
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

# wait_listen CTR PORT: until something listens on PORT inside CTR (a
# published port always accepts on the host side: docker-proxy answers
# before the container listens).
wait_listen() {
  for _ in $(seq 1 240); do
    docker exec "$1" bash -c "(exec 3<>/dev/tcp/127.0.0.1/$2)" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

# A containerEnv value only a quoting that every sh reads survives.
QUOTED_VALUE=$'it\'s "two"\nlines $HOME `id` \\ end'

sshu() {
  local port=$1
  shift
  ssh -i "$GS_DIR/id_ed25519" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=accept-new \
    -o UserKnownHostsFile="$BATS_TEST_TMPDIR/known_hosts" -o ConnectTimeout=10 -o LogLevel=ERROR "$@"
}

@test "Docker flow: seeded volume, manage user, clone, code-server workbench over HTTP, hooks once" {
  local vol c pw
  vol=$(vol_create)
  pw=$(free_port)
  c=$(gitspace_ctr "$vol" "$pw:8089")
  # Docker's own copy-up seeded the new volume with the image's HOME
  docker exec "$c" test -f /home/vscode/.vscode-server/bin/gitspace-reference/VERSION
  run setup_steps "$c"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  docker exec "$c" test -f /home/vscode/plain/README
  docker exec "$c" grep -q "^export GREETING='hello world'\$" /etc/profile
  assert_eq "$(docker exec "$c" bash -lc 'echo "$GREETING"')" "hello world"
  # A quote, a newline and shell syntax come back unchanged in bash and in dash (sh) login shells.
  assert_eq "$(docker exec "$c" bash -lc 'printf %s "$QUOTED"')" "$QUOTED_VALUE"
  assert_eq "$(docker exec "$c" sh -lc 'printf %s "$QUOTED"')" "$QUOTED_VALUE"
  start_ide "$c" vs_code_web -e IDE_PORT=8089 -e GITSPACE_HOOKS_DIR=/gitspace/hooks
  wait_http "http://127.0.0.1:$pw/healthz" || { docker exec "$c" cat /tmp/start-vs_code_web.log; return 1; }
  # / redirects to the workbench opened at the repo (?folder=), like Docker Gitspace's URL
  run curl -fsSL -o "$BATS_TEST_TMPDIR/page.html" -w '%{url_effective}' "http://127.0.0.1:$pw/"
  [ "$status" -eq 0 ]
  assert_contains "$output" "folder=/home/vscode/plain"
  run cat "$BATS_TEST_TMPDIR/page.html"
  assert_contains "$output" 'id="vscode-workbench-web-configuration"'
  assert_contains "$output" "workbench.js"
  assert_contains "$output" "/home/vscode/.local/share/code-server"
  # the preinstalled extension is seen by code-server
  run docker exec -u vscode "${ENVU[@]}" "$c" code-server --list-extensions
  assert_contains "$output" "gitspace-chart.gitspace-hello"
  # config written where Docker Gitspace writes it, no password in it
  run docker exec "$c" cat /home/vscode/.config/code-server/config.yaml
  assert_contains "$output" "bind-addr: 0.0.0.0:8089"
  assert_contains "$output" "auth: none"
  # hooks: postCreate ran (10-a and 10-b in parallel, as vscode, in the repo),
  # the failing one is logged with its exit code and the IDE keeps running
  for _ in $(seq 1 60); do docker exec "$c" test -f /home/vscode/.gitspace/postCreate.done && break; sleep 0.5; done
  docker exec "$c" test -f /home/vscode/.gitspace/postCreate.done
  assert_eq "$(docker exec "$c" cat /home/vscode/created.txt)" vscode
  assert_eq "$(docker exec "$c" cat /home/vscode/pc-b-pwd)" /home/vscode/plain
  local a b
  a=$(docker exec "$c" cat /home/vscode/pc-a)
  b=$(docker exec "$c" cat /home/vscode/pc-b)
  (( (a > b ? a - b : b - a) < 1500000000 )) || { echo "10-a and 10-b did not run in parallel: $a $b"; return 1; }
  run docker exec "$c" cat /home/vscode/.gitspace/logs/lifecycle.log
  assert_contains "$output" "hook postCreateCommand/20-fail: FAILED with exit code 3"
  assert_contains "$output" "hook says bye"
  for _ in $(seq 1 20); do docker exec "$c" test -f /home/vscode/started.txt && break; sleep 0.5; done
  assert_eq "$(docker exec "$c" cat /home/vscode/started.txt)" started
  curl -fsS -o /dev/null "http://127.0.0.1:$pw/healthz"
  # restart (Docker start of a stopped container): postStart again, postCreate not
  docker restart -t 5 "$c" >/dev/null
  start_ide "$c" vs_code_web -e IDE_PORT=8089 -e GITSPACE_HOOKS_DIR=/gitspace/hooks
  wait_http "http://127.0.0.1:$pw/healthz"
  for _ in $(seq 1 40); do [ "$(docker exec "$c" wc -l </dev/null /home/vscode/started.txt 2>/dev/null | awk '{print $1}')" = 2 ] && break; sleep 0.5; done
  assert_eq "$(docker exec "$c" cat /home/vscode/started.txt)" $'started\nstarted'
  assert_eq "$(docker exec "$c" cat /home/vscode/created.txt)" vscode
}

@test "Docker flow: SSH IDE (VS Code desktop) logs in with a key as vscode; host key kept across restarts; no passwords, no root" {
  local vol c ps
  vol=$(vol_create)
  ps=$(free_port)
  c=$(gitspace_ctr "$vol" "$ps:8088")
  setup_steps "$c" >/dev/null 2>&1
  start_ide "$c" vs_code -e IDE_PORT=8088 -e GITSPACE_HOOKS_DIR=/nonexistent
  wait_listen "$c" 8088 || { docker exec "$c" cat /tmp/start-vs_code.log; return 1; }
  run sshu "$ps" vscode@127.0.0.1 'pwd; id'
  [ "$status" -eq 0 ] || { echo "$output"; docker exec "$c" cat /tmp/start-vs_code.log; return 1; }
  assert_contains "$output" "/home/vscode"
  assert_contains "$output" "uid=1000(vscode) gid=1000(vscode)"
  # sshd runs as vscode, host keys live in HOME (the volume)
  assert_eq "$(docker exec "$c" stat -c %U /home/vscode/.gitspace/ssh/ssh_host_ed25519_key)" vscode
  run docker exec "$c" ps -o user= -C sshd
  assert_contains "$output" "vscode"
  refute_contains "$output" "root"
  # passwords and root are refused
  run ssh -p "$ps" -o BatchMode=yes -o PreferredAuthentications=password -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null vscode@127.0.0.1 true
  [ "$status" -ne 0 ]
  run sshu "$ps" root@127.0.0.1 true
  [ "$status" -ne 0 ]
  # restart: same host key (StrictHostKeyChecking=yes against the saved known_hosts)
  docker restart -t 5 "$c" >/dev/null
  start_ide "$c" vs_code -e IDE_PORT=8088 -e GITSPACE_HOOKS_DIR=/nonexistent
  wait_listen "$c" 8088
  run sshu "$ps" -o StrictHostKeyChecking=yes vscode@127.0.0.1 'echo again'
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "again"
}

@test "start.sh as the main process stops cleanly and fast on SIGTERM (docker stop)" {
  local vol c
  vol=$(vol_create)
  c="gs-bats-main-$RANDOM$RANDOM"
  docker run -d --name "$c" --label "$TEST_LABEL" --user vscode -v "$vol:/home/vscode" \
    -v "$SCRIPTS_SRC:$SCRIPTS:ro" "${ENVU[@]}" -e IDE_TYPE=vs_code_web -e GITSPACE_HOOKS_DIR=/nonexistent \
    "$IMG_GITSPACE" "$SCRIPTS/start.sh" >/dev/null
  echo "$c" >>"$BATS_TEST_TMPDIR/.containers"
  for _ in $(seq 1 120); do docker exec "$c" bash -c '(exec 3<>/dev/tcp/127.0.0.1/8089)' 2>/dev/null && break; sleep 0.5; done
  docker exec "$c" bash -c '(exec 3<>/dev/tcp/127.0.0.1/8089)'
  local t0=$SECONDS
  docker stop -t 30 "$c" >/dev/null
  (( SECONDS - t0 < 10 )) || { echo "docker stop took $((SECONDS - t0))s"; return 1; }
  assert_eq "$(docker inspect -f '{{.State.ExitCode}}' "$c")" 0
  run docker logs "$c"
  assert_contains "$output" "stop requested"
}

@test "JetBrains: backend unpacked from a URL into ~/.cache/JetBrains/RemoteDev/dist/<ide>, plugins installed into it, run with --ssh-link-user, sshd beside it" {
  local vol c ps
  vol=$(vol_create)
  ps=$(free_port)
  c=$(gitspace_ctr "$vol" "$ps:8090")
  setup_steps "$c" >/dev/null 2>&1
  start_ide "$c" intellij -e IDE_PORT=8090 -e GITSPACE_HOOKS_DIR=/nonexistent \
    -e JETBRAINS_DOWNLOAD_URL="http://$GW:$GIT_PORT/static/fake-ide.tar.gz" \
    -e JETBRAINS_PLUGINS=org.jetbrains.plugins.go,com.intellij.kubernetes
  wait_listen "$c" 8090 || { docker exec "$c" cat /tmp/start-intellij.log; return 1; }
  # customizations.jetbrains.plugins: installPlugins REPO ID... before the run, once per list.
  run docker exec "$c" cat /home/vscode/plugins-installed
  assert_eq "$output" "installPlugins /home/vscode/plain org.jetbrains.plugins.go com.intellij.kubernetes"
  docker exec "$c" test -x /home/vscode/.cache/JetBrains/RemoteDev/dist/intellij/bin/remote-dev-server.sh
  for _ in $(seq 1 20); do docker exec "$c" grep -q 'Gateway link: ' /home/vscode/.gitspace/logs/jetbrains.log 2>/dev/null && break; sleep 0.5; done
  run docker exec "$c" cat /home/vscode/.gitspace/logs/jetbrains.log
  assert_contains "$output" "remote-dev-server args: run /home/vscode/plain --ssh-link-user vscode"
  assert_contains "$output" "Gateway link: "
  run sshu "$ps" vscode@127.0.0.1 'id -un'
  assert_eq "$output" vscode
  # no temp dirs left; a second start does not download again
  run docker exec "$c" find /home/vscode/.cache/JetBrains/RemoteDev/dist -mindepth 1 -maxdepth 1 -name '.*'
  assert_eq "$output" ""
}

@test "code-server with IDE_AUTH=password: login required, password from the file only (not in config, argv or HOME)" {
  local vol c pw secret
  vol=$(vol_create)
  pw=$(free_port)
  secret="cs-$(date +%s%N | sha256sum | cut -c1-20)"
  mkdir -p "$BATS_TEST_TMPDIR/idepw"
  printf '%s\n' "$secret" >"$BATS_TEST_TMPDIR/idepw/password"
  c=$(gitspace_ctr "$vol" "$pw:8089" -v "$BATS_TEST_TMPDIR/idepw:/gitspace/ide:ro")
  start_ide "$c" vs_code_web -e IDE_PORT=8089 -e GITSPACE_HOOKS_DIR=/nonexistent \
    -e IDE_AUTH=password -e IDE_PASSWORD_FILE=/gitspace/ide/password
  wait_http "http://127.0.0.1:$pw/healthz" || { docker exec "$c" cat /tmp/start-vs_code_web.log; return 1; }
  run curl -fsSL -o /dev/null -w '%{url_effective}' "http://127.0.0.1:$pw/"
  assert_contains "$output" "/login"
  run curl -sS -o /dev/null -w '%{http_code}' -c "$BATS_TEST_TMPDIR/jar" --data-urlencode "password=wrong" "http://127.0.0.1:$pw/login"
  run grep -c code-server-session "$BATS_TEST_TMPDIR/jar"
  assert_eq "$output" 0
  curl -sS -o /dev/null -c "$BATS_TEST_TMPDIR/jar" --data-urlencode "password=$secret" "http://127.0.0.1:$pw/login"
  run curl -fsSL -b "$BATS_TEST_TMPDIR/jar" "http://127.0.0.1:$pw/"
  assert_contains "$output" 'id="vscode-workbench-web-configuration"'
  run docker exec "$c" cat /home/vscode/.config/code-server/config.yaml
  assert_contains "$output" "auth: password"
  refute_contains "$output" "$secret"
  run docker exec -u 0 "$c" grep -rlF -- "$secret" /home/vscode
  [ "$status" -eq 1 ]
  run docker exec "$c" ps -eo args
  refute_contains "$output" "$secret"
}
