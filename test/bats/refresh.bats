#!/usr/bin/env bats
# refresh.sh, run by gitspace-init.sh prepare at the first start with another
# image: every rule of docs/persistence.md ("Image upgrades") on HOME and on a
# persisted path (/go), in the language test image. The "new image" is the
# container's own HOME and /go changed between two prepares (what prepare
# reads of the image is exactly those folders) with another GITSPACE_IMAGE.

load helpers/common.bash

IMG_LANG="gitspace-chart/test-lang:$IMAGE_TAG"
V=/gitspace/volume
G=/gitspace/volume/.gitspace/persist/go

teardown() { cleanup_all; }

# prep CTR IMAGE [docker exec args]: prepare as root, as the chart's init container.
prep() {
  local c=$1 img=$2
  shift 2
  docker exec -u 0 -e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode \
    -e GITSPACE_VOLUME=$V -e GITSPACE_ETC_OUT=/gitspace/etc -e GITSPACE_SEED_HOME=true \
    -e GITSPACE_IMAGE="$img" -e GITSPACE_PERSIST_PATHS=/go "$@" "$c" "$SCRIPTS/gitspace-init.sh" prepare
}

# image_v1 CTR: what the old image has in HOME and /go.
# shellcheck disable=SC2016 # expanded by the container's bash
image_v1() {
  xroot "$1" bash -euc '
    cd /home/vscode
    for f in same img both user drop dropchg userdel userdel2 mode modeuser; do echo "$f v1" >$f.txt; done
    mkdir -p d2f kept-dir && echo a >d2f/a && echo old >kept-dir/old.txt
    echo target >f2l
    chown -R 1000:1000 /home/vscode
    echo "package own" >/go/src/own.go && chown root:golang /go/src/own.go && chmod 664 /go/src/own.go
    echo "v1" >/go/src/lib.go && chown root:golang /go/src/lib.go'
}

# user_edits CTR: what the user did on the volume between the two images.
user_edits() {
  xroot "$1" bash -euc "
    cd $V
    echo 'both mine' >both.txt; echo 'user mine' >user.txt; echo 'dropchg mine' >dropchg.txt
    rm userdel.txt userdel2.txt
    echo 'newmine mine' >newmine.txt; echo 'added mine' >added.txt
    echo 'identical v2' >identical.txt
    chmod 600 modeuser.txt
    echo mine >kept-dir/mine.txt
    chown -R 1000:1000 $V/*.txt $V/kept-dir
    printf '#!/bin/sh\necho mytool\n' >$G/bin/mytool && chmod 755 $G/bin/mytool && chown 1000:999 $G/bin/mytool
    echo 'lib mine' >$G/src/lib.go"
}

# image_v2 CTR: the new image's HOME and /go.
# shellcheck disable=SC2016 # expanded by the container's bash
image_v2() {
  xroot "$1" bash -euc '
    cd /home/vscode
    for f in img both userdel; do echo "$f v2" >$f.txt; done
    rm drop.txt dropchg.txt
    echo "new v2" >new.txt; echo "newmine v2" >newmine.txt; echo "identical v2" >identical.txt
    chmod 755 mode.txt modeuser.txt
    rm -r d2f && echo "now a file" >d2f
    rm f2l && ln -s same.txt f2l
    rm -r kept-dir
    chown -R 1000:1000 /home/vscode
    chown root:root /go/src/own.go
    echo "v2" >/go/src/lib.go'
}

# scenario: a volume seeded from v1, edited by the user, the container's image turned into v2.
scenario() {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:$V")
  image_v1 "$c"
  prep "$c" test/img:v1 >/dev/null 2>&1
  user_edits "$c"
  image_v2 "$c"
  printf '%s\n' "$c"
}

# user_files CTR: checksum, owner and mode of every file the user wrote or changed.
user_files() {
  xroot "$1" bash -c "cd $V && for f in both.txt user.txt dropchg.txt newmine.txt added.txt modeuser.txt kept-dir/mine.txt $G/bin/mytool $G/src/lib.go; do
    printf '%s %s ' \"\$f\" \"\$(stat -c '%u:%g %a' \"\$f\")\"; sha256sum <\"\$f\"; done"
}

# aside CTR: the one dated folder of this upgrade.
aside() { xroot "$1" sh -c "ls -d $V/.gitspace/upgrades/*/" | sed 's:/$::'; }

@test "first start records the image and the manifests; the same image again: one read, nothing else" {
  local vol c before
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:$V")
  image_v1 "$c"
  prep "$c" test/img:v1
  assert_eq "$(xroot "$c" cat $V/.gitspace/image)" test/img:v1
  run xroot "$c" sh -c "tr '\\0' '\\n' <$V/.gitspace/home.manifest"
  assert_contains "$output" "both.txt"
  before=$(xroot "$c" find $V -printf '%P %y %u:%g %m %s %T@\n' | LC_ALL=C sort)
  run prep "$c" test/img:v1
  [ "$status" -eq 0 ]
  refute_contains "$output" "refresh"
  assert_eq "$(xroot "$c" find $V -printf '%P %y %u:%g %m %s %T@\n' | LC_ALL=C sort | grep -v '^.gitspace/\(owner\|layout\) ')" \
    "$(printf '%s\n' "$before" | grep -v '^.gitspace/\(owner\|layout\) ')" "the volume after a restart on the same image"
}

@test "upgrade: unchanged files updated, the user's edits and additions kept, conflicts beside and listed (HOME)" {
  local c a
  c=$(scenario)
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  assert_contains "$output" "image test/img:v1 -> test/img:v2: refreshing"
  refute_contains "$output" "ERROR"
  a=$(aside "$c")
  x() { xroot "$c" cat "$V/$1"; }
  # the image changed it, the user did not: the new version
  assert_eq "$(x img.txt)" "img v2"
  assert_eq "$(x same.txt)" "same v1"
  # both changed: the user's kept, the image's beside it
  assert_eq "$(x both.txt)" "both mine"
  assert_eq "$(xroot "$c" cat "$a/home/both.txt")" "both v2"
  # the user changed it, the image did not: the user's, not listed
  assert_eq "$(x user.txt)" "user mine"
  # the user added it: untouched
  assert_eq "$(x added.txt)" "added mine"
  # dropped by the image: moved aside when unchanged, kept when the user changed it
  run xroot "$c" test -e $V/drop.txt
  [ "$status" -ne 0 ]
  assert_eq "$(xroot "$c" cat "$a/home/drop.txt")" "drop v1"
  assert_eq "$(x dropchg.txt)" "dropchg mine"
  # the user deleted it: stays deleted (the image's new version beside when it changed)
  run xroot "$c" test -e $V/userdel.txt
  [ "$status" -ne 0 ]
  run xroot "$c" test -e $V/userdel2.txt
  [ "$status" -ne 0 ]
  assert_eq "$(xroot "$c" cat "$a/home/userdel.txt")" "userdel v2"
  # new in the image: copied in; the user's own of that name kept, the image's beside
  assert_eq "$(x new.txt)" "new v2"
  assert_eq "$(x newmine.txt)" "newmine mine"
  assert_eq "$(xroot "$c" cat "$a/home/newmine.txt")" "newmine v2"
  assert_eq "$(x identical.txt)" "identical v2"
  run xroot "$c" test -e "$a/home/identical.txt"
  [ "$status" -ne 0 ]
  # the report, on the volume, for the user
  run xroot "$c" cat $V/.gitspace/upgrade-report
  assert_contains "$output" "$(printf 'updated\thome\timg.txt')"
  assert_contains "$output" "$(printf 'conflict\thome\tboth.txt')"
  assert_contains "$output" "$(printf 'aside\thome\tdrop.txt')"
  assert_contains "$output" "$(printf 'kept\thome\tdropchg.txt')"
  assert_contains "$output" "$(printf 'added\thome\tnew.txt')"
  assert_contains "$output" "$(printf 'conflict\thome\tnewmine.txt')"
  refute_contains "$output" "$(printf '\tuser.txt')"
  refute_contains "$output" "$(printf '\tadded.txt')"
  refute_contains "$output" "$(printf '\tsame.txt')"
  assert_eq "$(xroot "$c" cat "$a/REPORT.txt")" "$output"
  # the user can read and clear it all
  assert_eq "$(xroot "$c" find $V/.gitspace/upgrades -type d ! -user 1000 | wc -l)" 0
  assert_eq "$(xroot "$c" cat $V/.gitspace/image)" test/img:v2
  run xroot "$c" test -e $V/.gitspace/refresh
  [ "$status" -ne 0 ]
}

@test "upgrade: type changes (folder to file, file to link) and modes follow the same rules" {
  local c a
  c=$(scenario)
  prep "$c" test/img:v2
  a=$(aside "$c")
  assert_eq "$(xroot "$c" stat -c %F $V/d2f)" "regular file"
  assert_contains "$(xroot "$c" cat $V/.gitspace/upgrade-report)" "$(printf 'updated\thome\td2f (now a file)')"
  assert_eq "$(xroot "$c" cat $V/d2f)" "now a file"
  assert_eq "$(xroot "$c" cat "$a/home/d2f/a")" a "the old folder's file moved aside"
  assert_eq "$(xroot "$c" readlink $V/f2l)" same.txt
  assert_eq "$(xroot "$c" cat "$a/home/f2l")" target
  assert_contains "$(xroot "$c" cat $V/.gitspace/upgrade-report)" "$(printf 'updated\thome\tf2l (now a link; the old file is in .gitspace/upgrades/')"
  # mode: the image's new mode where the user kept the old one; the user's own mode kept
  assert_eq "$(xroot "$c" stat -c %a $V/mode.txt)" 755
  assert_eq "$(xroot "$c" stat -c %a $V/modeuser.txt)" 600
  assert_eq "$(xroot "$c" stat -c %a "$a/home/modeuser.txt")" 755
  # a folder the image dropped but that holds the user's file: kept, with the user's file
  assert_eq "$(xroot "$c" cat $V/kept-dir/mine.txt)" mine
  run xroot "$c" test -e $V/kept-dir/old.txt
  [ "$status" -ne 0 ]
  assert_contains "$(xroot "$c" cat $V/.gitspace/upgrade-report)" "$(printf 'kept\thome\tkept-dir: the folder holds files of yours')"
}

@test "upgrade of a persisted path: owner changes applied, the user's tool and edit kept" {
  local c a
  c=$(scenario)
  prep "$c" test/img:v2
  a=$(aside "$c")
  assert_eq "$(xroot "$c" stat -c '%U:%G %a' $G/src/own.go)" "root:root 664"
  assert_eq "$(xroot "$c" cat $G/bin/mytool)" "$(printf '#!/bin/sh\necho mytool')"
  assert_eq "$(xroot "$c" cat $G/src/lib.go)" "lib mine"
  assert_eq "$(xroot "$c" cat "$a/go/src/lib.go")" v2
  assert_eq "$(xroot "$c" stat -c '%U:%G %a' $G/bin)" "root:golang 2775"
  run xroot "$c" cat $V/.gitspace/upgrade-report
  assert_contains "$output" "$(printf 'updated\tgo\tsrc/own.go')"
  assert_contains "$output" "$(printf 'conflict\tgo\tsrc/lib.go')"
  refute_contains "$output" "mytool"
}

@test "idempotent: the next start on the new image changes nothing and makes no new folder" {
  local c before
  c=$(scenario)
  prep "$c" test/img:v2
  before=$(xroot "$c" find $V -printf '%P %y %u:%g %m %s %T@\n' | LC_ALL=C sort | grep -v '^.gitspace/\(owner\|layout\) ')
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  refute_contains "$output" "refresh"
  assert_eq "$(xroot "$c" find $V -printf '%P %y %u:%g %m %s %T@\n' | LC_ALL=C sort | grep -v '^.gitspace/\(owner\|layout\) ')" "$before"
}

@test "a SIGKILL at any step of the refresh: the next start finishes it, same result, no user file changed" {
  local ref c n total want got
  # the result of an uninterrupted refresh
  ref=$(scenario)
  prep "$ref" test/img:v2 >/dev/null 2>&1
  total=$(xroot "$ref" cat $V/.gitspace/upgrade-report | grep -vc '^#')
  want=$(xroot "$ref" bash -c "cd $V && find . -path ./.gitspace -prune -o -printf '%P %y %u:%g %m %s\n' | LC_ALL=C sort")
  for n in 1 4 9; do
    c=$(scenario)
    local before
    before=$(user_files "$c")
    run prep "$c" test/img:v2 -e GITSPACE_TEST_HOOKS=1 -e GITSPACE_REFRESH_KILL_AFTER=$n
    [ "$status" -ne 0 ]
    xroot "$c" test -f $V/.gitspace/refresh/plan
    assert_eq "$(xroot "$c" cat $V/.gitspace/refresh/progress)" "$n" "steps done at the kill"
    run prep "$c" test/img:v2
    [ "$status" -eq 0 ]
    assert_contains "$output" "was interrupted: finishing it"
    assert_contains "$output" "resuming after step $n"
    got=$(xroot "$c" bash -c "cd $V && find . -path ./.gitspace -prune -o -printf '%P %y %u:%g %m %s\n' | LC_ALL=C sort")
    assert_eq "$got" "$want" "HOME after a kill at step $n and a resume"
    assert_eq "$(user_files "$c")" "$before" "the user's files after a kill at step $n"
    assert_eq "$(xroot "$c" cat $V/.gitspace/upgrade-report | grep -vc '^#')" "$total"
  done
}

@test "persistence.refreshOnUpgrade false: the volume keeps the old image's files, as Docker" {
  local c before
  c=$(scenario)
  before=$(xroot "$c" bash -c "cd $V && find . -path ./.gitspace -prune -o -printf '%P %y %m %s\n' | LC_ALL=C sort")
  run prep "$c" test/img:v2 -e GITSPACE_REFRESH_ON_UPGRADE=false
  [ "$status" -eq 0 ]
  assert_contains "$output" "persistence.refreshOnUpgrade false"
  assert_eq "$(xroot "$c" bash -c "cd $V && find . -path ./.gitspace -prune -o -printf '%P %y %m %s\n' | LC_ALL=C sort")" "$before"
  assert_eq "$(xroot "$c" cat $V/img.txt)" "img v1"
  run xroot "$c" test -e $V/.gitspace/upgrades
  [ "$status" -ne 0 ]
}

@test "a link the user put where the image has a folder is never written through" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:$V")
  xroot "$c" bash -c 'mkdir -p /home/vscode/.config/app && echo v1 >/home/vscode/.config/app/conf && chown -R 1000:1000 /home/vscode/.config'
  prep "$c" test/img:v1 >/dev/null 2>&1
  xroot "$c" bash -c "mkdir -p /outside && rm -rf $V/.config/app && ln -s /outside $V/.config/app"
  xroot "$c" bash -c 'echo v2 >/home/vscode/.config/app/conf && echo new >/home/vscode/.config/app/new'
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  assert_eq "$(xroot "$c" ls -A /outside)" ""
  assert_eq "$(xroot "$c" readlink $V/.config/app)" /outside
}

@test "a full volume at the upgrade: the refresh waits, naming the step and the free space, nothing of the user's changed; freed, the next start refreshes" {
  local c before
  c=$(ctr_start "$IMG_LANG" --tmpfs "$V:size=16m")
  image_v1 "$c"
  prep "$c" test/img:v1 >/dev/null 2>&1
  user_edits "$c"
  image_v2 "$c"
  before=$(user_files "$c")
  # shellcheck disable=SC2016 # expanded by the container's sh
  xroot "$c" sh -c 'fallocate -l "$(stat -f -c "%a * %S" "$1" | xargs expr)" "$1/filler"' sh "$V"
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  assert_contains "$output" "image refresh: not done: the volume is full (0 bytes free at $V)"
  refute_contains "$output" "ERROR: step '"
  assert_eq "$(xroot "$c" cat "$V/img.txt")" "img v1" "a file the image changed, before space is freed"
  assert_eq "$(user_files "$c")" "$before" "the user's files after the refresh waited"
  xroot "$c" rm "$V/filler"
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  assert_contains "$output" "image test/img:v1 -> test/img:v2: refreshing"
  assert_eq "$(xroot "$c" cat "$V/img.txt")" "img v2" "a file the image changed, after space is freed"
  assert_eq "$(xroot "$c" cat "$(aside "$c")/home/both.txt")" "both v2" "the image's version of a file both changed, beside"
  assert_eq "$(user_files "$c")" "$before" "the user's files after the refresh"
}

@test "the volume fills during the refresh: the copy that did not fit is removed, the journal stays; freed, the next start finishes the same plan" {
  local c before want
  c=$(ctr_start "$IMG_LANG" --tmpfs "$V:size=16m")
  image_v1 "$c"
  prep "$c" test/img:v1 >/dev/null 2>&1
  user_edits "$c"
  image_v2 "$c"
  # the next image also brings a file bigger than what is left: the plan fits, that copy does not
  xroot "$c" sh -c 'head -c 2097152 /dev/urandom >/home/vscode/big-new.bin && chown 1000:1000 /home/vscode/big-new.bin'
  want=$(xroot "$c" sh -c 'sha256sum </home/vscode/big-new.bin')
  before=$(user_files "$c")
  # shellcheck disable=SC2016 # expanded by the container's sh
  xroot "$c" sh -c 'fallocate -l "$(($(stat -f -c "%a * %S" "$1") - 1048576))" "$1/filler"' sh "$V"
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  assert_contains "$output" "refresh: copying /home/vscode/big-new.bin to $V/big-new.bin failed: the volume is full ("
  assert_contains "$output" "image refresh: not done: the volume is full ("
  refute_contains "$output" "ERROR: step '"
  run xroot "$c" find "$V" -name '*.gitspace-new'
  assert_eq "$output" "" "staged copies left"
  run xroot "$c" test -e "$V/big-new.bin"
  [ "$status" -ne 0 ]
  assert_eq "$(xroot "$c" cat "$V/.gitspace/image")" test/img:v1 "the recorded image while the refresh waits"
  assert_eq "$(user_files "$c")" "$before" "the user's files after the refresh stopped"
  xroot "$c" rm "$V/filler"
  run prep "$c" test/img:v2
  [ "$status" -eq 0 ]
  assert_contains "$output" "was interrupted: finishing it"
  assert_contains "$output" "refresh done"
  assert_eq "$(xroot "$c" sh -c "sha256sum <$V/big-new.bin")" "$want" "the image's big file after the refresh"
  assert_eq "$(xroot "$c" cat "$V/img.txt")" "img v2" "a file the image changed"
  assert_eq "$(xroot "$c" cat "$V/.gitspace/image")" test/img:v2
  assert_eq "$(user_files "$c")" "$before" "the user's files after the refresh"
  run xroot "$c" find "$V" -name '*.gitspace-new'
  assert_eq "$output" "" "staged copies left"
}
