#!/usr/bin/env bats
# create_or_update_user USER UID GID HOME, every row of devcontainers/cli's
# updateUID table, with shadow-utils (test-debian, reference image,
# test-uid1000) and with busybox adduser/addgroup (test-busybox).

load helpers/common.bash

teardown() { cleanup_all; }

CU="$SCRIPTS/create-user-dynamic.sh"

# pw CTR USER: the passwd line of USER.
# shellcheck disable=SC2016 # awk programs: $1 is awk's field
pw() { xroot "$1" awk -F: -v u="$2" '$1 == u' /etc/passwd; }
# shellcheck disable=SC2016 # awk programs: $1 is awk's field
gr() { xroot "$1" awk -F: -v g="$2" '$1 == g' /etc/group; }

@test "user missing: created with uid, gid, group and home (shadow and busybox)" {
  local img c
  for img in "$IMG_DEBIAN" "$IMG_BUSYBOX"; do
    c=$(ctr_start "$img")
    run xroot "$c" "$CU" dev 1234 1235 /home/dev
    [ "$status" -eq 0 ]
    assert_contains "$output" "creating user dev uid 1234 gid 1235"
    if [ "$img" = "$IMG_BUSYBOX" ]; then
      assert_contains "$output" "(with busybox tools)"
    else
      assert_contains "$output" "(with shadow tools)"
    fi
    assert_eq "$(pw "$c" dev | cut -d: -f3,4,6)" "1234:1235:/home/dev" "passwd in $img"
    assert_eq "$(gr "$c" dev | cut -d: -f3)" 1235 "group in $img"
    assert_eq "$(xroot "$c" id -u dev):$(xroot "$c" id -g dev)" 1234:1235 "id in $img"
    # HOME is the volume's business (seed-home), not useradd's.
    run xroot "$c" test -e /home/dev
    [ "$status" -ne 0 ]
  done
}

@test "ids equal: second run changes nothing (passwd/group/shadow byte for byte, mtimes too)" {
  local img c before after
  for img in "$IMG_DEBIAN" "$IMG_BUSYBOX"; do
    c=$(ctr_start "$img")
    xroot "$c" "$CU" dev 1234 1234 /home/dev
    before=$(etc_state "$c")
    run xroot "$c" "$CU" dev 1234 1234 /home/dev
    [ "$status" -eq 0 ]
    assert_contains "$output" "nothing changed"
    after=$(etc_state "$c")
    assert_eq "$after" "$before" "etc state in $img"
  done
}

@test "reference image: vscode 1000:1000 already there is a no-op" {
  local c before
  c=$(ctr_start "$IMG_GITSPACE")
  before=$(etc_state "$c")
  run xroot "$c" "$CU" vscode 1000 1000 /home/vscode
  [ "$status" -eq 0 ]
  assert_contains "$output" "nothing changed"
  assert_eq "$(etc_state "$c")" "$before"
}

@test "user exists with another uid/gid: changed, and its files follow (shadow and busybox)" {
  local img c
  for img in "$IMG_DEBIAN" "$IMG_BUSYBOX"; do
    c=$(ctr_start "$img")
    xroot "$c" "$CU" dev 1000 1000 /home/dev
    xroot "$c" sh -c 'mkdir -p /home/dev && touch /home/dev/f && chown -R 1000:1000 /home/dev'
    run xroot "$c" "$CU" dev 1500 1600 /home/dev
    [ "$status" -eq 0 ]
    assert_contains "$output" "uid 1000 -> 1500"
    assert_contains "$output" "gid 1000 -> 1600"
    assert_eq "$(xroot "$c" id -u dev):$(xroot "$c" id -g dev)" 1500:1600 "id in $img"
    assert_eq "$(xroot "$c" stat -c %u /home/dev/f)" 1500 "file owner in $img"
  done
}

@test "uid 1000 taken by ubuntu (Ubuntu 24.04 style): ubuntu moves to a free uid/gid, vscode gets 1000:1000" {
  local c
  c=$(ctr_start "$IMG_UID1000")
  xroot "$c" sh -c 'touch /home/ubuntu/mine && chown ubuntu:ubuntu /home/ubuntu/mine'
  xroot "$c" touch /home/ubuntu/roots
  run xroot "$c" "$CU" vscode 1000 1000 /home/vscode
  [ "$status" -eq 0 ]
  assert_contains "$output" "uid 1000 belongs to user ubuntu: moving ubuntu to uid 1001"
  assert_contains "$output" "gid 1000 belongs to group ubuntu: moving ubuntu to gid 1001"
  assert_eq "$(xroot "$c" id -u vscode):$(xroot "$c" id -g vscode)" 1000:1000
  assert_eq "$(xroot "$c" id -gn vscode)" vscode
  assert_eq "$(pw "$c" ubuntu | cut -d: -f3,4)" 1001:1001 "ubuntu moved"
  assert_eq "$(gr "$c" ubuntu | cut -d: -f3)" 1001
  # ubuntu's own files moved with it; nothing else of it changed.
  assert_eq "$(xroot "$c" stat -c %u:%g /home/ubuntu/mine)" 1001:1001
  assert_eq "$(xroot "$c" stat -c %u:%g /home/ubuntu)" 1001:1001
  assert_eq "$(xroot "$c" stat -c %u:%g /home/ubuntu/roots)" 0:0 "a root file in ubuntu's home"
  assert_eq "$(pw "$c" ubuntu | cut -d: -f6,7)" /home/ubuntu:/bin/bash
  # and a second run is a no-op
  local before
  before=$(etc_state "$c")
  run xroot "$c" "$CU" vscode 1000 1000 /home/vscode
  assert_contains "$output" "nothing changed"
  assert_eq "$(etc_state "$c")" "$before"
}

@test "uid taken by another user, busybox path" {
  local c
  c=$(ctr_start "$IMG_BUSYBOX")
  xroot "$c" sh -c 'addgroup -g 1000 ubuntu && adduser -D -u 1000 -G ubuntu -h /home/ubuntu ubuntu && touch /home/ubuntu/mine && chown 1000:1000 /home/ubuntu/mine'
  run xroot "$c" "$CU" vscode 1000 1000 /home/vscode
  [ "$status" -eq 0 ]
  assert_eq "$(xroot "$c" id -u vscode):$(xroot "$c" id -g vscode)" 1000:1000
  assert_eq "$(pw "$c" ubuntu | cut -d: -f3,4)" 1001:1001
  assert_eq "$(xroot "$c" stat -c %u:%g /home/ubuntu/mine)" 1001:1001
}

@test "uid of a system user is refused with a clear error" {
  local c
  c=$(ctr_start "$IMG_DEBIAN")
  run xroot "$c" "$CU" dev 33 33 /home/dev
  [ "$status" -ne 0 ]
  assert_contains "$output" "UID: uid 33 belongs to the system user www-data"
  # shellcheck disable=SC2016 # an awk program: $1 is awk's field
  run xroot "$c" awk -F: '$1 == "dev"' /etc/passwd
  [ -z "$output" ]
}

@test "gid taken by another group: moved when ordinary, shared when a system group" {
  local img c
  for img in "$IMG_DEBIAN" "$IMG_BUSYBOX"; do
    c=$(ctr_start "$img")
    if [ "$img" = "$IMG_BUSYBOX" ]; then xroot "$c" addgroup -g 1500 devs; else xroot "$c" groupadd -g 1500 devs; fi
    run xroot "$c" "$CU" dev 1400 1500 /home/dev
    [ "$status" -eq 0 ]
    assert_contains "$output" "gid 1500 belongs to group devs: moving devs to gid"
    assert_eq "$(xroot "$c" id -gn dev):$(xroot "$c" id -g dev)" dev:1500 "$img"
    [ "$(gr "$c" devs | cut -d: -f3)" != 1500 ]
    # gid 100 (users) is a system group: shared, never renumbered
    run xroot "$c" "$CU" sam 1401 100 /home/sam
    [ "$status" -eq 0 ]
    assert_contains "$output" "system group users"
    assert_eq "$(xroot "$c" id -gn sam):$(xroot "$c" id -g sam)" users:100 "$img"
    assert_eq "$(gr "$c" users | cut -d: -f3)" 100
  done
}

@test "group of the user's name exists with another gid: renumbered" {
  local c
  c=$(ctr_start "$IMG_DEBIAN")
  xroot "$c" groupadd -g 1700 dev
  run xroot "$c" "$CU" dev 1400 1800 /home/dev
  [ "$status" -eq 0 ]
  assert_contains "$output" "group dev: gid 1700 -> 1800"
  assert_eq "$(gr "$c" dev | cut -d: -f3)" 1800
}

@test "passwd home differs from HOME: passwd updated, no files moved (shadow and busybox)" {
  local img c
  for img in "$IMG_DEBIAN" "$IMG_BUSYBOX"; do
    c=$(ctr_start "$img")
    xroot "$c" "$CU" dev 1400 1400 /home/old
    xroot "$c" sh -c 'mkdir -p /home/old && touch /home/old/keep'
    run xroot "$c" "$CU" dev 1400 1400 /home/dev
    [ "$status" -eq 0 ]
    assert_contains "$output" "home /home/old -> /home/dev"
    assert_eq "$(pw "$c" dev | cut -d: -f6)" /home/dev "$img"
    xroot "$c" test -f /home/old/keep
  done
}

# shellcheck disable=SC2016 # '$(id)' is a user name under test, never expanded
@test "invalid arguments are refused with the argument named, nothing changed" {
  local c before
  c=$(ctr_start "$IMG_DEBIAN")
  before=$(etc_state "$c")
  local -a bad=(
    'USER|a;b|1000|1000|/home/x'
    'USER|../x|1000|1000|/home/x'
    'USER|Dev|1000|1000|/home/x'
    'USER|$(id)|1000|1000|/home/x'
    'USER||1000|1000|/home/x'
    'UID|dev|-1|1000|/home/x'
    'UID|dev|2147483648|1000|/home/x'
    'UID|dev|12a|1000|/home/x'
    'GID|dev|1000|01000|/home/x'
    'HOME|dev|1000|1000|home/x'
    'HOME|dev|1000|1000|/home/../etc'
  )
  local row arg u i g h
  for row in "${bad[@]}"; do
    IFS='|' read -r arg u i g h <<<"$row"
    run xroot "$c" "$CU" "$u" "$i" "$g" "$h"
    [ "$status" -ne 0 ] || { echo "accepted: $row"; return 1; }
    assert_contains "$output" "ERROR: $arg:"
  done
  run xroot "$c" "$CU" dev 1000 1000
  [ "$status" -ne 0 ]
  assert_contains "$output" "usage"
  assert_eq "$(etc_state "$c")" "$before"
}
