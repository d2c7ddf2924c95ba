#!/usr/bin/env bats
# A full (or read-only) volume never locks the user out (docs/chart.md, "When
# the volume is full"). HOME is a real small filesystem: a tmpfs of a few MiB
# in the container (no blocks reserved for root: root gets ENOSPC too), seeded
# from the image's HOME as Docker's copy-up does, then filled with fallocate.
# "Ask for a bigger volume" is a remount with a bigger size from the host
# (nsenter into the container's mount namespace).

load helpers/common.bash
load helpers/git-server.bash

setup_file() {
  gitspace_fixtures "$BATS_FILE_TMPDIR/git" 127.0.0.1
  # postCreate: counts its runs; the first run fills HOME (so its marker cannot be written).
  # shellcheck disable=SC2016 # run by the hook's sh
  echo 'echo ran >>"$HOME/pc-count"; if [ ! -e "$HOME/.filled-once" ]; then touch "$HOME/.filled-once"; fallocate -l "$(stat -f -c "%a * %S" "$HOME" | xargs expr)" "$HOME/big"; fi' \
    >"$GS_DIR/hooks/postCreateCommand/10-fill"
  # shellcheck disable=SC2016
  echo 'echo started >>/gitspace/run/started.txt' >"$GS_DIR/hooks/postStartCommand/10-s"
}

teardown_file() { git_server_stop "$GS_DIR"; }
teardown() { cleanup_all; }

ENVU=(-e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode -e GITSPACE_RUN_DIR=/gitspace/run)
BANNER_TAIL="bytes free; delete files or ask for a bigger volume"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() {
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

# small_home SIZE [docker run args]: the reference image as the gitspace user
# with a SIZE tmpfs at HOME holding the image's HOME (copy-up), a tmpfs at the
# run dir (the chart's emptyDir) and the profile.d snippet where the chart
# mounts it. Prints the container name.
small_home() {
  local size=$1 c
  shift
  c=$(ctr_start "$IMG_GITSPACE" --user vscode --network host \
    --tmpfs "/home/vscode:size=$size,uid=1000,gid=1000,mode=0755,exec" --tmpfs "/gitspace/run:size=64m,mode=1777" \
    -v "$SCRIPTS_SRC/profile.d/gitspace-volume.sh:/etc/profile.d/gitspace-volume.sh:ro" \
    -v "$GS_DIR/ssh:/gitspace/ssh:ro" -v "$GS_DIR/hooks:/gitspace/hooks:ro" -v "$GS_DIR/creds:/gitspace/git-credentials:ro" "$@")
  docker run --rm --entrypoint tar "$IMG_GITSPACE" -C /home/vscode -cf - . | docker exec -i -u 0 "$c" tar -C /home/vscode -xpf -
  printf '%s\n' "$c"
}

# free_of CTR DIR: bytes the user can still write there.
free_of() { docker exec -u vscode "$1" sh -c 'stat -f -c "%a %S" "$1" | awk "{ print \$1 * \$2 }"' sh "$2"; }

# fill CTR DIR: fallocate all the free space of DIR's filesystem into DIR/filler.
fill() {
  docker exec -u vscode "$1" sh -c 'fallocate -l "$(stat -f -c "%a * %S" "$1" | xargs expr)" "$1/filler"' sh "$2"
  assert_eq "$(free_of "$1" "$2")" 0 "free bytes after filling $2"
}

# ssh_login PORT: `id -un` and a login shell over SSH as vscode with the test key, retried
# while sshd comes up (30 s); prints what the last try printed.
ssh_login() {
  local out=""
  for _ in $(seq 1 60); do
    out=$(ssh -i "$GS_DIR/id_ed25519" -p "$1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=2 vscode@127.0.0.1 'id -un; bash -l -c true' 2>&1) && break
    sleep 0.5
  done
  printf '%s\n' "$out"
}

# remount CTR DIR OPTIONS: the operator's side (a bigger or a read-only volume).
remount() { nsenter -t "$(docker inspect -f '{{.State.Pid}}' "$1")" -m mount -o "remount,$3" "$2"; }

# start_gs CTR LOG IDE [docker exec args]: start.sh as the user, detached; its pid in /gitspace/run/start.pid.
start_gs() {
  local c=$1 log=$2 ide=$3
  shift 3
  docker exec -d -u vscode "${ENVU[@]}" -e REPO_NAME=plain -e IDE_TYPE="$ide" -e GITSPACE_HOOKS_DIR=/gitspace/hooks \
    -e SSH_AUTHORIZED_KEYS_FILE=/gitspace/ssh/authorized_keys "$@" "$c" \
    bash -c "echo \$\$ >/gitspace/run/start.pid; exec $SCRIPTS/start.sh >>$log 2>&1"
}

# stop_gs CTR: SIGTERM to start.sh (it stops the IDE and exits 0), then wait for it.
stop_gs() {
  local pid
  pid=$(docker exec "$1" cat /gitspace/run/start.pid)
  docker exec -u vscode "$1" kill -TERM "$pid"
  for _ in $(seq 1 40); do docker exec "$1" test -d "/proc/$pid" || return 0; sleep 0.25; done
  echo "start.sh ($pid) still runs after SIGTERM" >&2
  return 1
}

# ide_env CTR NAME: NAME in the environment of the running code-server (what its terminals inherit).
ide_env() {
  # (not this sh itself: its own command line holds the pattern, and /proc's order is by name)
  docker exec "$1" sh -c 'for p in /proc/[0-9]*; do
    [ "$p" != "/proc/$$" ] || continue
    if tr "\0" " " <"$p/cmdline" 2>/dev/null | grep -q -- "--user-data-dir"; then
      tr "\0" "\n" <"$p/environ" | sed -n "s/^$1=//p"; exit 0
    fi
  done; exit 1' sh "$2"
}

# workbench PORT: the page a browser gets at / (following the redirect to ?folder=).
workbench() { curl -fsSL "http://127.0.0.1:$1/"; }

@test "full HOME: code-server serves the workbench, one line in the log, the banner in a login shell; freed, the next start is normal" {
  local c port page n
  port=$(free_port)
  c=$(small_home 400m)
  fill "$c" /home/vscode
  start_gs "$c" /tmp/start1.log vs_code_web -e IDE_PORT="$port"
  wait_http "http://127.0.0.1:$port/healthz" || { docker exec "$c" cat /tmp/start1.log; return 1; }
  page=$(workbench "$port")
  assert_contains "$page" 'id="vscode-workbench-web-configuration"'
  assert_contains "$page" "workbench.js"
  # its user data and config are in the run dir, and the preinstalled extension still loads from HOME
  assert_contains "$page" "/gitspace/run/code-server/data"
  docker exec "$c" grep -q "bind-addr: 0.0.0.0:$port" /gitspace/run/code-server/config/config.yaml
  run docker exec "$c" test -e /home/vscode/.config/code-server/config.yaml
  [ "$status" -ne 0 ]
  # one line in the container log says why
  run docker exec "$c" cat /tmp/start1.log
  n=$(grep -c "WARN: HOME is full: 0 $BANNER_TAIL" <<<"$output")
  assert_eq "$n" 1 "banner lines in the log"
  refute_contains "$output" "ERROR"
  # a login shell (kubectl exec ... bash -l, an SSH login) shows the banner
  run docker exec -u vscode "${ENVU[@]}" "$c" bash -l -c true
  [ "$status" -eq 0 ]
  assert_contains "$output" "HOME is full: 0 $BANNER_TAIL"
  # the IDE terminal (an interactive bash with code-server's environment) shows it once
  local pc
  pc=$(ide_env "$c" PROMPT_COMMAND)
  [ -n "$pc" ]
  run docker exec -i -u vscode "${ENVU[@]}" -e PROMPT_COMMAND="$pc" "$c" bash -i <<<$'true\nexit'
  assert_eq "$(grep -c "HOME is full: 0 $BANNER_TAIL" <<<"$output")" 1 "banners in an interactive shell with two prompts"
  # postStartCommand still ran; postCreateCommand waits for free space
  run docker exec "$c" cat /tmp/start1.log
  assert_contains "$output" "postCreateCommand: not run now, HOME is full"
  docker exec "$c" grep -q started /gitspace/run/started.txt
  run docker exec "$c" test -e /home/vscode/.gitspace/postCreate.done
  [ "$status" -ne 0 ]

  # The user deletes the file that filled HOME; the next start is normal.
  docker exec -u vscode "$c" rm /home/vscode/filler
  stop_gs "$c"
  start_gs "$c" /tmp/start2.log vs_code_web -e IDE_PORT="$port"
  wait_http "http://127.0.0.1:$port/healthz" || { docker exec "$c" cat /tmp/start2.log; return 1; }
  page=$(workbench "$port")
  assert_contains "$page" "/home/vscode/.local/share/code-server"
  docker exec "$c" grep -q "bind-addr: 0.0.0.0:$port" /home/vscode/.config/code-server/config.yaml
  run docker exec "$c" cat /tmp/start2.log
  refute_contains "$output" "HOME is full"
  run docker exec -u vscode "${ENVU[@]}" "$c" bash -l -c true
  [ "$status" -eq 0 ]
  assert_eq "$output" "" "login shell output once HOME has room"
}

@test "full HOME, SSH IDE: sshd comes up with the volume's host key and a key login works" {
  local c port hostkey
  port=$(free_port)
  c=$(small_home 400m)
  # a first, normal start makes the host key on the volume
  start_gs "$c" /tmp/start1.log vs_code -e IDE_PORT="$port"
  for _ in $(seq 1 60); do docker exec "$c" test -s /home/vscode/.gitspace/ssh/ssh_host_ed25519_key.pub && break; sleep 0.5; done
  hostkey=$(docker exec "$c" cut -d' ' -f2 /home/vscode/.gitspace/ssh/ssh_host_ed25519_key.pub)
  stop_gs "$c"
  fill "$c" /home/vscode
  start_gs "$c" /tmp/start2.log vs_code -e IDE_PORT="$port"
  local out
  out=$(ssh_login "$port")
  assert_contains "$out" "vscode"
  assert_contains "$out" "HOME is full: 0 $BANNER_TAIL"
  run ssh-keyscan -t ed25519 -p "$port" 127.0.0.1
  assert_contains "$output" "$hostkey"
  run docker exec "$c" cat /tmp/start2.log
  assert_contains "$output" "WARN: HOME is full: 0 $BANNER_TAIL"
}

@test "full HOME, JetBrains: the backend install is skipped with the reason logged, SSH is up; freed, the next start installs it" {
  local c port out=""
  port=$(free_port)
  c=$(small_home 400m)
  fill "$c" /home/vscode
  start_gs "$c" /tmp/start1.log intellij -e IDE_PORT="$port" \
    -e JETBRAINS_DOWNLOAD_URL="http://127.0.0.1:$GIT_PORT/static/fake-ide.tar.gz"
  out=$(ssh_login "$port")
  assert_contains "$out" "vscode"
  assert_contains "$out" "HOME is full: 0 $BANNER_TAIL"
  run docker exec "$c" cat /tmp/start1.log
  assert_contains "$output" "WARN: JetBrains intellij backend: not installed, HOME is full (0 bytes free; it unpacks into /home/vscode/.cache/JetBrains/RemoteDev/dist/intellij); SSH is up without it, the next start with free space installs it"
  refute_contains "$output" "ERROR"
  run docker exec "$c" test -e /home/vscode/.cache/JetBrains/RemoteDev/dist
  [ "$status" -ne 0 ]
  # start.sh (the container's main process in the chart) still runs
  docker exec "$c" sh -c 'test -d "/proc/$(cat /gitspace/run/start.pid)"'
  docker exec -u vscode "$c" rm /home/vscode/filler
  stop_gs "$c"
  start_gs "$c" /tmp/start2.log intellij -e IDE_PORT="$port" \
    -e JETBRAINS_DOWNLOAD_URL="http://127.0.0.1:$GIT_PORT/static/fake-ide.tar.gz"
  for _ in $(seq 1 60); do docker exec "$c" grep -q 'Gateway link: ' /tmp/start2.log && break; sleep 0.5; done
  run docker exec "$c" cat /tmp/start2.log
  assert_contains "$output" "JetBrains intellij backend unpacked into"
  assert_contains "$output" "Gateway link: "
}

@test "read-only HOME: code-server still serves the workbench and the log says why" {
  local c port
  port=$(free_port)
  c=$(small_home 400m)
  remount "$c" /home/vscode ro
  start_gs "$c" /tmp/start1.log vs_code_web -e IDE_PORT="$port"
  wait_http "http://127.0.0.1:$port/healthz" || { docker exec "$c" cat /tmp/start1.log; return 1; }
  assert_contains "$(workbench "$port")" 'id="vscode-workbench-web-configuration"'
  run docker exec "$c" cat /tmp/start1.log
  assert_contains "$output" "WARN: HOME is read-only: the gitspace cannot write to it"
  run docker exec -u vscode "${ENVU[@]}" "$c" bash -l -c true
  assert_contains "$output" "HOME is read-only"
}

# The chart's postStart command, rendered by helm (argv: /bin/sh -c SCRIPT TARGET WRITER), each
# argument NUL-terminated.
poststart_command() {
  helm template ws "$REPO_ROOT/charts/gitspace" --kube-version 1.31.0 --show-only templates/deployment.yaml |
    (cd "$REPO_ROOT" && node --input-type=module -e "
      import { parse } from 'yaml';
      let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => {
        for (const a of parse(s).spec.template.spec.containers[0].lifecycle.postStart.exec.command) process.stdout.write(a + '\\0');
      });")
}

@test "postStart report on a full HOME: exit 0, no temp file left, the report in the run dir, the reason in its output" {
  local c
  local -a argv
  mapfile -d '' -t argv < <(poststart_command)
  [ "${#argv[@]}" -eq 5 ]
  c=$(small_home 400m)
  docker exec -u vscode "$c" mkdir -p /home/vscode/.gitspace
  fill "$c" /home/vscode
  run docker exec -u vscode "${ENVU[@]}" "$c" "${argv[@]}"
  [ "$status" -eq 0 ]
  assert_contains "$output" "postStart: the runtime report could not be written to /home/vscode/.gitspace (volume full or read-only: 0 bytes free); written to /gitspace/run/runtime"
  run docker exec "$c" ls -A /home/vscode/.gitspace
  refute_contains "$output" "runtime"
  docker exec "$c" grep -qx uid=1000 /gitspace/run/runtime
  # with room again it goes to the volume
  docker exec -u vscode "$c" rm /home/vscode/filler
  run docker exec -u vscode "${ENVU[@]}" "$c" "${argv[@]}"
  [ "$status" -eq 0 ]
  assert_eq "$output" "runtime report written to /home/vscode/.gitspace/runtime"
  docker exec "$c" grep -qx user=vscode /home/vscode/.gitspace/runtime
}

@test "the same report run by start.sh (prepare beside, no postStart hook): its warning names start.sh" {
  local c
  local -a argv
  mapfile -d '' -t argv < <(poststart_command)
  c=$(small_home 400m)
  docker exec -u vscode "$c" mkdir -p /home/vscode/.gitspace
  fill "$c" /home/vscode
  # GITSPACE_RUNTIME_REPORT holds the same script (deployment.yaml: gitspace.runtimeReport).
  run docker exec -u vscode "${ENVU[@]}" -e GITSPACE_RUNTIME_REPORT="${argv[2]}" "$c" \
    bash -c "source $SCRIPTS/start.sh && cd /home/vscode && runtime_report"
  [ "$status" -eq 0 ]
  assert_contains "$output" "start.sh: the runtime report could not be written to /home/vscode/.gitspace (volume full or read-only: 0 bytes free); written to /gitspace/run/runtime"
  refute_contains "$output" "postStart"
}

PREP_ENV=(-e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode
  -e GITSPACE_VOLUME=/gitspace/volume -e GITSPACE_ETC_OUT=/gitspace/etc -e GITSPACE_SEED_HOME=true)

@test "seeding on a volume too small for the image's HOME: clear error, the next start on a bigger volume finishes" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --tmpfs /gitspace/volume:size=32k)
  run docker exec -u 0 "${PREP_ENV[@]}" "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -ne 0 ]
  assert_contains "$output" "seed HOME: copying /home/vscode into the volume failed ("
  assert_contains "$output" "bytes to copy): the volume is full (0 bytes free at /gitspace/volume)"
  docker exec "$c" test -f /gitspace/volume/.gitspace/seeding
  run docker exec "$c" test -e /gitspace/volume/.gitspace/seeded
  [ "$status" -ne 0 ]
  # a bigger volume: the next prepare copies again over what the first left
  remount "$c" /gitspace/volume size=400m
  run docker exec -u 0 "${PREP_ENV[@]}" "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_contains "$output" "a previous seeding was interrupted"
  assert_contains "$output" "HOME seeded"
  docker exec "$c" cmp /home/vscode/.bashrc /gitspace/volume/.bashrc
  docker exec "$c" test -f /gitspace/volume/.vscode-server/bin/gitspace-reference/VERSION
  run docker exec "$c" test -e /gitspace/volume/.gitspace/seeding
  [ "$status" -ne 0 ]
}

@test "ownership fix on a full volume: prepare passes, the marker waits for free space, nothing half-written" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --tmpfs /gitspace/volume:size=400m)
  docker exec -u 0 "${PREP_ENV[@]}" "$c" "$SCRIPTS/gitspace-init.sh" prepare >/dev/null 2>&1
  # the recorded owner no longer matches (same size: no block freed) and a file is root's
  docker exec -u 0 "$c" sh -c 'printf "0:0\n" >/gitspace/volume/.gitspace/owner; touch /gitspace/volume/rootfile'
  fill "$c" /gitspace/volume
  run docker exec -u 0 "${PREP_ENV[@]}" "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_contains "$output" "fix ownership: not done: the volume is full (0 bytes free at /gitspace/volume)"
  # an expected failure for space: no ERR-trap line that reads as a crash
  refute_contains "$output" "ERROR: step '"
  assert_contains "$output" "prepare done"
  assert_eq "$(docker exec "$c" stat -c %u:%g /gitspace/volume/rootfile)" 1000:1000 "owner of a root file after the walk"
  run docker exec "$c" find /gitspace/volume/.gitspace -name '.owner.*'
  assert_eq "$output" "" "temp files of the owner marker"
  # free space: the next prepare records the owner
  docker exec -u 0 "$c" rm /gitspace/volume/filler
  run docker exec -u 0 "${PREP_ENV[@]}" "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_eq "$(docker exec "$c" cat /gitspace/volume/.gitspace/owner)" 1000:1000
}

@test "clone on a full HOME: clear error, no half clone, the IDE step still runs; freed, the next start clones" {
  local c
  c=$(small_home 400m)
  docker exec -u vscode "$c" mkdir -p /home/vscode/.gitspace/tmp
  fill "$c" /home/vscode
  # a failure that is not about space stays an error, full volume or not
  run docker exec -u vscode "${ENVU[@]}" -e REPO_URL="file:///etc" "$c" "$SCRIPTS/gitspace-init.sh" user-setup
  [ "$status" -ne 0 ]
  assert_contains "$output" "REPO_URL: unsupported or unsafe URL"
  refute_contains "$output" "not done"
  run docker exec -u vscode "${ENVU[@]}" -e REPO_URL="http://127.0.0.1:$GIT_PORT/plain.git" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials "$c" "$SCRIPTS/gitspace-init.sh" user-setup
  [ "$status" -eq 0 ]
  assert_contains "$output" "clone: not done: the volume is full (0 bytes free at /home/vscode)"
  refute_contains "$output" "ERROR: step '"
  assert_contains "$output" "the IDE starts without the repository; the next start with free space clones it"
  run docker exec "$c" test -e /home/vscode/plain
  [ "$status" -ne 0 ]
  assert_eq "$(docker exec "$c" ls -A /home/vscode/.gitspace/tmp)" "" "leftovers of the failed clone"
  docker exec -u vscode "$c" rm /home/vscode/filler
  run docker exec -u vscode "${ENVU[@]}" -e REPO_URL="http://127.0.0.1:$GIT_PORT/plain.git" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials "$c" "$SCRIPTS/gitspace-init.sh" user-setup
  [ "$status" -eq 0 ]
  assert_contains "$output" "cloned into"
  docker exec "$c" test -f /home/vscode/plain/README
}

@test "postCreate marker on a volume the hook filled: error names the step and the free space; freed, the next start runs it again" {
  local c port
  port=$(free_port)
  c=$(small_home 400m)
  start_gs "$c" /tmp/start1.log vs_code_web -e IDE_PORT="$port"
  for _ in $(seq 1 120); do docker exec "$c" grep -q "postCreate.done failed" /tmp/start1.log && break; sleep 0.5; done
  run docker exec "$c" cat /tmp/start1.log
  assert_contains "$output" "lifecycle hooks: writing /home/vscode/.gitspace/postCreate.done failed: the volume is full (0 bytes free at /home/vscode/.gitspace)"
  run docker exec "$c" find /home/vscode/.gitspace -maxdepth 1 -name '.postCreate.done.*'
  assert_eq "$output" "" "temp files of the marker"
  # the IDE kept running
  wait_http "http://127.0.0.1:$port/healthz"
  docker exec -u vscode "$c" rm /home/vscode/big
  stop_gs "$c"
  start_gs "$c" /tmp/start2.log vs_code_web -e IDE_PORT="$port"
  for _ in $(seq 1 120); do docker exec "$c" test -f /home/vscode/.gitspace/postCreate.done && break; sleep 0.5; done
  docker exec "$c" test -f /home/vscode/.gitspace/postCreate.done
  assert_eq "$(docker exec "$c" cat /home/vscode/pc-count)" $'ran\nran' "postCreate runs"
}

@test "migration of a full legacy volume: clear error, no plan left behind, nothing moved; freed, the next start migrates" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --tmpfs /gitspace/volume:size=8m)
  docker exec -u 0 "$c" sh -c 'mkdir -p /gitspace/volume/app && cd /gitspace/volume/app && git init -q && echo hi >README && chown -R 1000:1000 /gitspace/volume'
  fill "$c" /gitspace/volume
  run docker exec -u 0 "${PREP_ENV[@]}" -e REPO_NAME=app "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -ne 0 ]
  assert_contains "$output" "detected layout legacy-root"
  assert_contains "$output" "migration: planning failed (above): the volume is full (0 bytes free at /gitspace/volume)"
  assert_eq "$(docker exec "$c" ls -A /gitspace/volume/.gitspace)" "" "what the failed migration left in .gitspace"
  docker exec "$c" test -f /gitspace/volume/app/README
  docker exec -u 0 "$c" rm /gitspace/volume/filler
  run docker exec -u 0 "${PREP_ENV[@]}" -e REPO_NAME=app "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_eq "$(docker exec "$c" cat /gitspace/volume/.gitspace/layout)" "home 1"
  docker exec "$c" test -f /gitspace/volume/app/README
}
