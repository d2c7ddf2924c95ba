#!/usr/bin/env bats
# IDE setup and lifecycle hooks, piece by piece, as the user in the
# reference image: Cursor over SSH, VS Code desktop recommendations, hook
# ordering and the once-per-volume marker.

load helpers/common.bash

teardown() { cleanup_all; }

ENVU=(-e HOME=/home/vscode -e GITSPACE_USER=vscode)

@test "Cursor: sshd as the user on Docker Gitspace's port 8098, key login, server folder under HOME" {
  local vol c port
  vol=$(vol_create)
  mkdir -p "$BATS_TEST_TMPDIR/ssh"
  ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/key"
  cp "$BATS_TEST_TMPDIR/key.pub" "$BATS_TEST_TMPDIR/ssh/authorized_keys"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  c=$(ctr_start "$IMG_GITSPACE" --user vscode -v "$vol:/home/vscode" -v "$BATS_TEST_TMPDIR/ssh:/gitspace/ssh:ro" -p "127.0.0.1:$port:8098")
  docker exec -d -u vscode "${ENVU[@]}" -e IDE_TYPE=cursor -e SSH_AUTHORIZED_KEYS_FILE=/gitspace/ssh/authorized_keys \
    -e GITSPACE_HOOKS_DIR=/nonexistent "$c" bash -c "exec $SCRIPTS/start.sh >/tmp/start.log 2>&1"
  for _ in $(seq 1 120); do docker exec "$c" bash -c '(exec 3<>/dev/tcp/127.0.0.1/8098)' 2>/dev/null && break; sleep 0.5; done
  run ssh -i "$BATS_TEST_TMPDIR/key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR vscode@127.0.0.1 'echo "$HOME"; id -un'
  [ "$status" -eq 0 ] || { docker exec "$c" cat /tmp/start.log; return 1; }
  assert_eq "$output" $'/home/vscode\nvscode'
  docker exec "$c" test -d /home/vscode/.cursor-server
  run docker exec "$c" cat /home/vscode/.gitspace/ssh/sshd_config
  assert_contains "$output" "Port 8098"
  assert_contains "$output" "PasswordAuthentication no"
  assert_contains "$output" "AllowUsers vscode"
  # a Docker volume root is 755: StrictModes stays on
  assert_contains "$output" "StrictModes yes"
}

@test "SSH IDE without authorized keys: clear error, no sshd" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --user vscode)
  run docker exec -u vscode "${ENVU[@]}" -e IDE_TYPE=windsurf -e GITSPACE_HOOKS_DIR=/nonexistent "$c" "$SCRIPTS/start.sh"
  [ "$status" -ne 0 ]
  assert_contains "$output" "SSH_AUTHORIZED_KEYS_FILE"
  assert_contains "$output" "public keys only"
}

@test "group-writable HOME (Kubernetes fsGroup): StrictModes no, and why is logged" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --user vscode)
  xroot "$c" chmod 2775 /home/vscode
  run docker exec -u vscode "${ENVU[@]}" "$c" bash -c "echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExampleEx x' >/tmp/ak; SSH_AUTHORIZED_KEYS_FILE=/tmp/ak; export SSH_AUTHORIZED_KEYS_FILE; source $SCRIPTS/ssh/sshd.sh; sshd_setup 8088 vscode"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "StrictModes no"
  run docker exec "$c" grep '^StrictModes' /home/vscode/.gitspace/ssh/sshd_config
  assert_eq "$output" "StrictModes no"
}

@test "VS Code desktop: IDE_EXTENSIONS become .vscode/extensions.json recommendations, never over the repo's own" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --user vscode)
  docker exec -u vscode "$c" mkdir -p /home/vscode/r1 /home/vscode/r2/.vscode
  docker exec -u vscode "$c" sh -c 'echo "{\"recommendations\": [\"mine.ext\"]}" >/home/vscode/r2/.vscode/extensions.json'
  docker exec -u vscode "${ENVU[@]}" -e IDE_EXTENSIONS='ms-python.python, golang.go@0.40.0' "$c" \
    bash -c "source $SCRIPTS/vscode/init-vscode.sh && init_vscode_desktop /home/vscode/r1 && init_vscode_desktop /home/vscode/r2"
  assert_eq "$(docker exec "$c" cat /home/vscode/r1/.vscode/extensions.json)" '{"recommendations": ["ms-python.python", "golang.go"]}'
  assert_eq "$(docker exec "$c" cat /home/vscode/r2/.vscode/extensions.json)" '{"recommendations": ["mine.ext"]}'
  docker exec -u vscode "$c" mkdir -p /home/vscode/r3
  run docker exec -u vscode "${ENVU[@]}" -e REPO_NAME=r3 -e IDE_EXTENSIONS='ok.ext x;rm -rf ~' "$c" "$SCRIPTS/vscode/init-vscode.sh" desktop
  [ "$status" -ne 0 ]
  assert_contains "$output" "IDE_EXTENSIONS:"
  run docker exec "$c" test -e /home/vscode/r3/.vscode/extensions.json
  [ "$status" -ne 0 ]
}

# shellcheck disable=SC2016 # hook files hold commands: $HOME is expanded by the hook's shell
@test "hooks: groups in name order, postCreate once per volume (marker after the hooks), postStart every time" {
  local c h="$BATS_TEST_TMPDIR/hooks"
  mkdir -p "$h/postCreateCommand" "$h/postStartCommand"
  echo 'sleep 1; echo a >>"$HOME/order"' >"$h/postCreateCommand/10-a"
  echo 'echo b >>"$HOME/order"' >"$h/postCreateCommand/20-b"
  echo 'echo c >>"$HOME/order"' >"$h/postCreateCommand/zz"
  echo 'echo s >>"$HOME/order"; echo "$0:$(id -u)"' >"$h/postStartCommand/10-s"
  c=$(ctr_start "$IMG_GITSPACE" --user vscode -v "$h:/gitspace/hooks:ro")
  run docker exec -u vscode "${ENVU[@]}" -e GITSPACE_HOOKS_DIR=/gitspace/hooks "$c" "$SCRIPTS/lifecycle.sh"
  [ "$status" -eq 0 ]
  assert_contains "$output" "[hook postStartCommand/10-s] /bin/sh:1000"
  assert_eq "$(docker exec "$c" cat /home/vscode/order)" $'a\nb\nc\ns'
  docker exec "$c" test -f /home/vscode/.gitspace/postCreate.done
  run docker exec -u vscode "${ENVU[@]}" -e GITSPACE_HOOKS_DIR=/gitspace/hooks "$c" "$SCRIPTS/lifecycle.sh"
  assert_contains "$output" "postCreateCommand already ran"
  assert_eq "$(docker exec "$c" cat /home/vscode/order)" $'a\nb\nc\ns\ns'
  # hooks never run as root
  run docker exec -u 0 "${ENVU[@]}" -e GITSPACE_UID=1000 -e GITSPACE_HOOKS_DIR=/gitspace/hooks "$c" "$SCRIPTS/lifecycle.sh"
  [ "$status" -ne 0 ]
  assert_contains "$output" "never as root"
}

@test "hooks: a new reset generation runs postCreate once more, the marker records it; 0 never re-runs" {
  local c h="$BATS_TEST_TMPDIR/hooks"
  mkdir -p "$h/postCreateCommand"
  # shellcheck disable=SC2016 # $HOME is the hook's
  echo 'echo x >>"$HOME/created"' >"$h/postCreateCommand/00-command"
  c=$(ctr_start "$IMG_GITSPACE" --user vscode -v "$h:/gitspace/hooks:ro")
  local run_pc=(docker exec -u vscode "${ENVU[@]}" -e GITSPACE_HOOKS_DIR=/gitspace/hooks)
  "${run_pc[@]}" "$c" "$SCRIPTS/lifecycle.sh" postCreate
  # a marker written before resets existed (no generation line) counts as generation 0
  docker exec -u vscode "$c" sh -c 'echo "ran at before" >/home/vscode/.gitspace/postCreate.done'
  run "${run_pc[@]}" "$c" "$SCRIPTS/lifecycle.sh" postCreate
  assert_contains "$output" "postCreateCommand already ran"
  run "${run_pc[@]}" -e GITSPACE_RESET_GENERATION=1 "$c" "$SCRIPTS/lifecycle.sh" postCreate
  assert_contains "$output" "reset (generation 0 -> 1): postCreateCommand runs again"
  "${run_pc[@]}" -e GITSPACE_RESET_GENERATION=1 "$c" "$SCRIPTS/lifecycle.sh" postCreate
  assert_eq "$(docker exec "$c" cat /home/vscode/created)" $'x\nx'
  assert_eq "$(docker exec "$c" sed -n 2p /home/vscode/.gitspace/postCreate.done)" "reset generation 1"
  # back to 0 (a values file without reset.generation): no reset asked, the marker stays at 1
  run "${run_pc[@]}" -e GITSPACE_RESET_GENERATION=0 "$c" "$SCRIPTS/lifecycle.sh" postCreate
  assert_contains "$output" "postCreateCommand already ran"
  assert_eq "$(docker exec "$c" cat /home/vscode/created)" $'x\nx'
  assert_eq "$(docker exec "$c" sed -n 2p /home/vscode/.gitspace/postCreate.done)" "reset generation 1"
  run "${run_pc[@]}" -e GITSPACE_RESET_GENERATION='a b' "$c" "$SCRIPTS/lifecycle.sh" postCreate
  [ "$status" -ne 0 ]
  assert_contains "$output" "GITSPACE_RESET_GENERATION:"
}

@test "code-server extensions: checked and installed when anything changed since the last start, not asked again otherwise (stamp in ~/.gitspace)" {
  local c
  c=$(ctr_start "$IMG_GITSPACE" --user vscode)
  (cd "$REPO_ROOT/images/gitspace/extension" &&
    python3 -m zipfile -c "$BATS_TEST_TMPDIR/hello.vsix" '[Content_Types].xml' extension.vsixmanifest extension)
  docker cp "$BATS_TEST_TMPDIR/hello.vsix" "$c:/tmp/hello.vsix"
  xroot "$c" chmod 0644 /tmp/hello.vsix
  docker exec -u vscode "$c" mkdir -p /home/vscode/.gitspace
  web() { docker exec -u vscode "${ENVU[@]}" -e IDE_PORT=8089 -e IDE_EXTENSIONS=/tmp/hello.vsix "$c" "$SCRIPTS/vscode/init-vscode.sh" web; }
  run web
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "installing extension /tmp/hello.vsix"
  docker exec "$c" test -s /home/vscode/.gitspace/code-server-extensions
  # nothing changed: code-server is not asked again
  run web
  [ "$status" -eq 0 ]
  assert_contains "$output" "as at the last start: none to install"
  refute_contains "$output" "installing extension"
  # a new .vsix (its time changed): installed again
  xroot "$c" touch -d 2020-01-02 /tmp/hello.vsix
  run web
  assert_contains "$output" "installing extension /tmp/hello.vsix"
  # the extension removed by hand: installed again
  docker exec -u vscode "${ENVU[@]}" "$c" code-server --uninstall-extension gitspace-chart.gitspace-hello
  run web
  assert_contains "$output" "installing extension /tmp/hello.vsix"
  run docker exec -u vscode "${ENVU[@]}" "$c" code-server --list-extensions
  assert_contains "$output" "gitspace-chart.gitspace-hello"
  # ~/.gitspace wiped: checked again
  run web
  assert_contains "$output" "none to install"
  docker exec -u vscode "$c" rm -rf /home/vscode/.gitspace
  docker exec -u vscode "$c" mkdir -p /home/vscode/.gitspace
  run web
  assert_contains "$output" "installing extension /tmp/hello.vsix"
}
