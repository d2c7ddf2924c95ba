#!/usr/bin/env bats
# gitspace-init.sh prepare (the Kubernetes root init container) and seed-home:
# Docker copy-up parity, never overwriting, crash-safe, idempotent, flat
# restart cost, fsGroup-friendly volume root. Runs in the reference image.

load helpers/common.bash

teardown() { cleanup_all; }

PREP_ENV=(-e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode
  -e GITSPACE_VOLUME=/gitspace/volume -e GITSPACE_ETC_OUT=/gitspace/etc -e GITSPACE_SEED_HOME=true
  -e GITSPACE_IMAGE="$IMG_GITSPACE")

# prep CTR [extra docker exec args]: run prepare as root.
prep() {
  local c=$1
  shift
  docker exec -u 0 "${PREP_ENV[@]}" "$@" "$c" "$SCRIPTS/gitspace-init.sh" prepare
}

# listing CTR DIR: entries with owner, mode, size, type; without our .gitspace.
listing() { xroot "$1" find "$2" -mindepth 1 \( -path "$2/.gitspace" -prune -o -printf '%P %u:%g %m %s %y %l\n' \) | LC_ALL=C sort; }

@test "prepare seeds an empty volume exactly like Docker's copy-up of a new named volume" {
  local dockvol ours c d
  # What Docker itself does: a new named volume mounted at HOME.
  dockvol=$(vol_create)
  d=$(ctr_start "$IMG_GITSPACE" -v "$dockvol:/home/vscode")
  ours=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$ours:/gitspace/volume")
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "HOME seeded"
  assert_eq "$(listing "$c" /gitspace/volume)" "$(listing "$d" /home/vscode)" "seeded tree (owner, mode, size)"
  assert_eq "$(xroot "$c" stat -c '%u:%g %a' /gitspace/volume)" "$(xroot "$d" stat -c '%u:%g %a' /home/vscode)" "volume root owner/mode"
  # what the image preinstalled under HOME is there (observable seeding)
  xroot "$c" test -f /gitspace/volume/.vscode-server/bin/gitspace-reference/VERSION
  xroot "$c" test -f /gitspace/volume/.local/share/code-server/extensions/gitspace-chart.gitspace-hello-0.1.0/package.json
  xroot "$c" test -f /gitspace/volume/.bashrc
  # state: what was seeded, the layout, passwd/group for the main container
  run xroot "$c" cat /gitspace/volume/.gitspace/seeded
  assert_contains "$output" "seeded from /home/vscode"
  assert_contains "$output" ".bashrc"
  assert_eq "$(xroot "$c" cat /gitspace/volume/.gitspace/layout)" "home 1"
  xroot "$c" grep -q '^vscode:x:1000:1000::/home/vscode:/bin/bash$' /gitspace/etc/passwd
  xroot "$c" grep -q '^vscode:x:1000:' /gitspace/etc/group
  run xroot "$c" test -e /gitspace/volume/.gitspace/seeding
  [ "$status" -ne 0 ]
}

@test "the volume root takes the image HOME directory's own owner and mode (cp -a semantics)" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  xroot "$c" chmod 0710 /home/vscode
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_eq "$(xroot "$c" stat -c '%u:%g %a' /gitspace/volume)" "1000:1000 710"
}

@test "second prepare changes nothing and does not walk HOME (flat restart cost)" {
  local vol c before
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  prep "$c"
  before=$(tree_state "$c" /gitspace; etc_state "$c")
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "already seeded"
  assert_contains "$output" "no walk"
  refute_contains "$output" "re-owning"
  assert_eq "$(tree_state "$c" /gitspace; etc_state "$c")" "$before" "volume, passwd and group after a second prepare"
  # Proof that a restart does not walk HOME: 5000 entries with another owner
  # appear after the first start; the next prepare leaves them alone (Docker
  # Gitspace likewise only chowns when HOME's own owner is wrong).
  xroot "$c" bash -c 'mkdir /gitspace/volume/many && cd /gitspace/volume/many && touch f{1..5000} && chown -R 4242:4242 /gitspace/volume/many'
  run prep "$c"
  assert_contains "$output" "no walk"
  assert_eq "$(xroot "$c" find /gitspace/volume/many -user 4242 | wc -l)" 5001
}

@test "a volume with only lost+found counts as empty (what mkfs leaves)" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  xroot "$c" mkdir -m 700 /gitspace/volume/lost+found
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "HOME seeded"
  xroot "$c" test -f /gitspace/volume/.bashrc
  # lost+found stays root's
  assert_eq "$(xroot "$c" stat -c %u /gitspace/volume/lost+found)" 0
}

@test "a volume with user data is never seeded and nothing is overwritten" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  xroot "$c" sh -c 'echo "my own bashrc" >/gitspace/volume/.bashrc && chmod 600 /gitspace/volume/.bashrc'
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "not empty: not seeding"
  assert_eq "$(xroot "$c" cat /gitspace/volume/.bashrc)" "my own bashrc"
  assert_eq "$(xroot "$c" stat -c '%a' /gitspace/volume/.bashrc)" 600
  run xroot "$c" test -e /gitspace/volume/.profile
  [ "$status" -ne 0 ]
  # ownership fixed (first start): the user owns the user's data
  assert_eq "$(xroot "$c" stat -c %u:%g /gitspace/volume/.bashrc)" 1000:1000
}

@test "a seeding killed half-way is redone: a file the kill cut short is replaced, missing files copied" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  # The state a SIGKILL of cp leaves: the in-progress marker, .profile complete,
  # .bashrc cut short (its first 10 bytes, with a fresh mtime), the rest missing.
  xroot "$c" sh -c 'mkdir -p /gitspace/volume/.gitspace && echo crashed >/gitspace/volume/.gitspace/seeding &&
    cp -a /home/vscode/.profile /gitspace/volume/ &&
    head -c 10 /home/vscode/.bashrc >/gitspace/volume/.bashrc && chown 1000:1000 /gitspace/volume/.bashrc'
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "interrupted: copying again"
  assert_eq "$(xroot "$c" sh -c 'sha256sum </gitspace/volume/.bashrc')" "$(xroot "$c" sh -c 'sha256sum </home/vscode/.bashrc')"
  assert_eq "$(xroot "$c" stat -c %s:%u /gitspace/volume/.bashrc)" "$(xroot "$c" stat -c %s:%u /home/vscode/.bashrc)"
  assert_eq "$(xroot "$c" sh -c 'sha256sum </gitspace/volume/.profile')" "$(xroot "$c" sh -c 'sha256sum </home/vscode/.profile')"
  xroot "$c" test -f /gitspace/volume/.vscode-server/bin/gitspace-reference/VERSION
  xroot "$c" test -f /gitspace/volume/.gitspace/seeded
  run xroot "$c" test -e /gitspace/volume/.gitspace/seeding
  [ "$status" -ne 0 ]
}

@test "a failed copy is an error (no seeded marker), never ignored" {
  local c
  # 1 MiB volume, 3 MiB in the image's HOME: the copy must fail.
  c=$(ctr_start "$IMG_GITSPACE" --tmpfs /gitspace/volume:size=1m)
  xroot "$c" dd if=/dev/zero of=/home/vscode/big bs=1M count=3 status=none
  run prep "$c"
  [ "$status" -ne 0 ]
  assert_contains "$output" "copying /home/vscode into the volume failed"
  run xroot "$c" test -e /gitspace/volume/.gitspace/seeded
  [ "$status" -ne 0 ]
  xroot "$c" test -f /gitspace/volume/.gitspace/seeding
}

@test "fsGroup volume root (setgid, group rwx) keeps those bits so OnRootMismatch never walks again" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  # What kubelet's fsGroup leaves on a fresh volume root.
  xroot "$c" sh -c 'chgrp 1000 /gitspace/volume && chmod 2775 /gitspace/volume'
  run prep "$c"
  [ "$status" -eq 0 ]
  local st
  st=$(xroot "$c" stat -c '%u:%g %a' /gitspace/volume)
  [[ "$st" =~ ^1000:1000\ 27[0-7][0-7]$ ]] || { echo "volume root: $st"; return 1; }
}

@test "GITSPACE_SEED_HOME=false: nothing copied (Docker volume-nocopy), volume still owned by the user" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  run prep "$c" -e GITSPACE_SEED_HOME=false
  [ "$status" -eq 0 ]
  run xroot "$c" test -e /gitspace/volume/.bashrc
  [ "$status" -ne 0 ]
  assert_eq "$(xroot "$c" stat -c %u:%g /gitspace/volume)" 1000:1000
}

@test "uid change: ownership re-walked once, then flat again" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  prep "$c"
  run prep "$c" -e GITSPACE_UID=1001 -e GITSPACE_GID=1001
  [ "$status" -eq 0 ]
  assert_contains "$output" "re-owning"
  run xroot "$c" find /gitspace/volume \( ! -user 1001 -o ! -group 1001 \) -print
  assert_eq "$output" ""
  run prep "$c" -e GITSPACE_UID=1001 -e GITSPACE_GID=1001
  assert_contains "$output" "no walk"
}

@test "prepare refuses a bad environment with the variable named" {
  local c
  c=$(ctr_start "$IMG_GITSPACE")
  run prep "$c" -e GITSPACE_USER='x;rm -rf /'
  [ "$status" -ne 0 ]
  assert_contains "$output" "GITSPACE_USER: invalid user name"
  run prep "$c" -e GITSPACE_VOLUME=/nonexistent
  [ "$status" -ne 0 ]
  assert_contains "$output" "GITSPACE_VOLUME=/nonexistent is not mounted"
}

@test "docker-manage-user (Docker side) twice: second run changes nothing; containerEnv block replaced, not appended" {
  local vol c before
  vol=$(vol_create)
  c=$(ctr_start "$IMG_UID1000" -v "$vol:/home/vscode")
  run docker exec -u 0 -e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode \
    "$c" "$SCRIPTS/gitspace-init.sh" docker-manage-user A=1 'B=two words'
  [ "$status" -eq 0 ]
  assert_eq "$(xroot "$c" id -u vscode):$(xroot "$c" id -g vscode)" 1000:1000
  assert_eq "$(xroot "$c" stat -c '%u:%g %a' /home/vscode)" "1000:1000 755"
  before=$(tree_state "$c" /home/vscode; etc_state "$c"; xroot "$c" cat /etc/profile)
  run docker exec -u 0 -e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode \
    "$c" "$SCRIPTS/gitspace-init.sh" docker-manage-user A=1 'B=two words'
  [ "$status" -eq 0 ]
  assert_contains "$output" "nothing changed"
  assert_eq "$(tree_state "$c" /home/vscode; etc_state "$c"; xroot "$c" cat /etc/profile)" "$before"
  assert_eq "$(docker exec -u vscode "$c" bash -lc 'echo "$A|$B"')" "1|two words"
  run docker exec -u 0 -e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode \
    "$c" "$SCRIPTS/gitspace-init.sh" docker-manage-user 'BAD-NAME=x'
  [ "$status" -ne 0 ]
  assert_contains "$output" "containerEnv:"
}

@test "security.mode restricted: prepare as the user (no root) seeds without chown and keeps the image's passwd" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  # What fsGroup gives the user on a fresh volume: a group-writable, setgid root.
  xroot "$c" sh -c 'chgrp 1000 /gitspace/volume && chmod 2775 /gitspace/volume'
  run docker exec -u 1000:1000 "${PREP_ENV[@]}" -e GITSPACE_ETC_OUT= "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "not root: the image's passwd is used as it is"
  assert_contains "$output" "HOME seeded"
  xroot "$c" test -f /gitspace/volume/.local/share/code-server/extensions/gitspace-chart.gitspace-hello-0.1.0/package.json
  assert_eq "$(xroot "$c" cat /gitspace/volume/.gitspace/layout)" "home 1"
  # another uid than the gitspace user's is refused
  run docker exec -u 1234 "${PREP_ENV[@]}" "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -ne 0 ]
  assert_contains "$output" "prepare runs as root, or as the gitspace user"
}

# shellcheck disable=SC2016 # the bash -c scripts run in the container, $1 is their argument
@test "a bash older than 4.4 gets one line naming the version needed; 4.4 and later pass" {
  local c
  c=$(ctr_start "$IMG_GITSPACE")
  # The image's bash is newer: the version check itself is fed an old one.
  run xroot "$c" bash -c 'source "$1/lib.sh" && _gs_require_bash 4 4 4 3 4.3.48' _ "$SCRIPTS"
  [ "$status" -eq 1 ]
  assert_contains "$output" "the gitspace scripts need bash 4.4 or later; this image has bash 4.3.48: install a newer bash in the image"
  run xroot "$c" bash -c 'source "$1/lib.sh" && _gs_require_bash 4 4 3 2 3.2.57' _ "$SCRIPTS"
  [ "$status" -eq 1 ]
  run xroot "$c" bash -c 'source "$1/lib.sh" && _gs_require_bash 4 4 4 4 && _gs_require_bash 4 4 5 0 && _gs_require_bash 4 4 && echo ok' _ "$SCRIPTS"
  [ "$status" -eq 0 ]
  assert_eq "$output" ok
}

# beside CTR FUNCTION: start.sh's FUNCTION as the user, HOME the volume, prepare beside (docs/start-path.md).
beside() {
  docker exec -u 1000 -e HOME=/gitspace/volume -e GITSPACE_PREPARE_SYNC=/gitspace/prepare -e GITSPACE_SEED_HOME=true \
    -e GITSPACE_PREPARE_OWNER=1000:1000 -e GITSPACE_PREPARE_IMAGE="$IMG_GITSPACE" "$1" bash -c "source $SCRIPTS/start.sh; $2"
}

@test "prepare beside the gitspace: start.sh waits only while a marker is missing, and a wiped .gitspace is prepared again in the same pod" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  xroot "$c" install -d -m 0777 /gitspace/prepare
  # The pod's order: the gitspace container is up first; prepare starts after it.
  run beside "$c" prepare_marker_stale
  assert_eq "$output" ".gitspace/layout is missing or not 'home 1'" "an empty volume's first missing marker"
  docker exec -d -u 0 "${PREP_ENV[@]}" -e GITSPACE_ETC_OUT= -e GITSPACE_PREPARE_SYNC=/gitspace/prepare "$c" "$SCRIPTS/gitspace-init.sh" prepare-beside
  run beside "$c" prepare_wait
  [ "$status" -eq 0 ]
  assert_contains "$output" "HOME's .gitspace/layout is missing or not 'home 1': waiting for the prepare container"
  assert_contains "$output" "prepare done: HOME's markers are in place"
  run xroot "$c" cat /gitspace/volume/.gitspace/seeded
  assert_contains "$output" "seeded from /home/vscode"
  assert_eq "$(xroot "$c" cat /gitspace/volume/.gitspace/owner)" "1000:1000"
  # A steady-state start: every marker in place, no wait.
  run beside "$c" prepare_wait
  [ "$status" -eq 0 ]
  assert_contains "$output" "not waiting for the prepare container"
  # Another image than the volume last ran: wait (its refresh runs in prepare).
  run docker exec -u 1000 -e HOME=/gitspace/volume -e GITSPACE_PREPARE_IMAGE=other:1 "$c" bash -c "source $SCRIPTS/start.sh; prepare_marker_stale"
  assert_eq "$output" ".gitspace/image is missing or not other:1"
  # The user wipes ~/.gitspace; the gitspace container restarts in place (this pod's prepare
  # already ran): start.sh asks it to run again and waits for it.
  docker exec -u 1000 "$c" rm -rf /gitspace/volume/.gitspace
  run beside "$c" prepare_wait
  [ "$status" -eq 0 ]
  assert_contains "$output" "HOME's .gitspace/layout is missing or not 'home 1', and this pod's prepare container ran before: asking it to run again"
  assert_contains "$output" "prepare done: HOME's markers are in place"
  assert_eq "$(xroot "$c" cat /gitspace/volume/.gitspace/layout)" "home 1"
  assert_eq "$(xroot "$c" cat /gitspace/volume/.gitspace/owner)" "1000:1000"
}

@test "prepare beside: a failed prepare stops the gitspace's wait with the reason, and TERM ends prepare at once" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:/gitspace/volume")
  xroot "$c" install -d -m 0777 /gitspace/prepare
  # uid 1 is the system user daemon: the user rules refuse it (a prepare that fails).
  docker exec -d -u 0 -e GITSPACE_USER=vscode -e GITSPACE_UID=1 -e GITSPACE_GID=1000 -e HOME=/home/vscode \
    -e GITSPACE_VOLUME=/gitspace/volume -e GITSPACE_PREPARE_SYNC=/gitspace/prepare "$c" "$SCRIPTS/gitspace-init.sh" prepare-beside
  run beside "$c" prepare_wait
  [ "$status" -ne 0 ]
  assert_contains "$output" "the prepare container failed (prepare failed (exit 1)"
  assert_contains "$output" "kubectl logs POD -c prepare"
  # Idle in its blocked read, it still ends on TERM (a pod stop does not wait for the grace period).
  xroot "$c" pkill -TERM -f 'gitspace-init.sh prepare-beside'
  sleep 1
  run xroot "$c" pgrep -f 'gitspace-init.sh prepare-beside'
  [ "$status" -ne 0 ]
}
