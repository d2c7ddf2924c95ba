#!/usr/bin/env bats
# migrate-to-home.sh (docs/migration.md): an old /workspaces volume becomes a
# HOME with nothing lost. Real containers of the reference image, the volume a
# Docker named volume at /gitspace/volume as in the chart's hook Job and
# prepare; the image's HOME is visible at /home/vscode.

load helpers/common.bash

teardown() { cleanup_all; }

V=/gitspace/volume
MIG_ENV=(-e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e GITSPACE_USER=vscode -e HOME=/home/vscode
  -e "GITSPACE_VOLUME=$V" -e GITSPACE_SEED_HOME=true)

# mig CTR [docker exec args]: the script as the hook Job runs it (root, no args).
mig() {
  local c=$1
  shift
  docker exec -u 0 "${MIG_ENV[@]}" "$@" "$c" "$SCRIPTS/migrate-to-home.sh"
}

# new_ctr: a container with a fresh named volume at $V; prints its name.
new_ctr() { ctr_start "$IMG_GITSPACE" -v "$(vol_create):$V"; }

# make_tree CTR DIR: a repo as users leave them: files of root, of 1000 and
# of another uid, nested dirs, symlinks (one dangling), a hard link, a
# setgid dir, an empty dir, odd names (spaces, a newline), 1 MB of data.
# shellcheck disable=SC2016 # the script runs in the container, $1 is its argument
make_tree() {
  xroot "$1" bash -euc '
    d=$1; mkdir -p "$d/sub/deep/er" "$d/empty dir" "$d/sgid"
    git -C "$d" init -q
    echo "by root" >"$d/root-file"
    echo "by vscode" >"$d/sub/user-file"; chown 1000:1000 "$d/sub/user-file" "$d/sub"
    echo "by 4242" >"$d/sub/deep/other"; chown 4242:4242 "$d/sub/deep/other"
    printf "spaces" >"$d/a file with spaces"
    printf "newline" >"$d/sub/deep/er/new
line"
    yes "blob of $d" | head -c 1048576 >"$d/sub/blob.bin" # same bytes every run: compared across volumes
    ln -s "../a file with spaces" "$d/sub/rel-link"
    ln -s /nowhere/at/all "$d/dangling"
    ln "$d/root-file" "$d/sub/hard-link"
    chmod 2775 "$d/sgid"; chmod 0600 "$d/sub/blob.bin"; chmod 0755 "$d/root-file"
  ' _ "$2"
}

# sums CTR DIR: what a user sees of DIR: every path, size, mode, type, link
# target, and the sha256 of every file's content (owner left out: the
# migration makes everything the user's on purpose).
# shellcheck disable=SC2016 # runs in the container
sums() {
  xroot "$1" bash -euc 'cd "$1"
    find . -mindepth 1 \( -path ./.gitspace -o -path ./lost+found \) -prune -o -printf "%P %s %m %y %l\0" | LC_ALL=C sort -z | tr "\0" "\n"
    find . -mindepth 1 \( -path ./.gitspace -o -path ./lost+found \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum' _ "$2"
}

# times CTR: path, ctime and mtime of everything on the volume.
times() { xroot "$1" find "$V" -printf '%P %C@ %T@\0' | LC_ALL=C sort -z | tr '\0' '\n'; }

# not_user_owned CTR: entries not owned by 1000:1000 (lost+found aside).
not_user_owned() { xroot "$1" find "$V" -xdev -path "$V/lost+found" -prune -o \( \! -user 1000 -o \! -group 1000 \) -print; }

@test "legacy-root: nothing moves, every file identical, all the user's, HOME's dotfiles added, layout home 1" {
  local c sum1 sum2
  c=$(new_ctr)
  make_tree "$c" "$V/test"
  make_tree "$c" "$V/second-repo"
  sum1=$(sums "$c" "$V/test")
  sum2=$(sums "$c" "$V/second-repo")
  run mig "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "detected layout legacy-root"
  assert_contains "$output" "renames: 0 now"
  assert_eq "$(sums "$c" "$V/test")" "$sum1" "test/ (paths, sizes, modes, link targets, sha256)"
  assert_eq "$(sums "$c" "$V/second-repo")" "$sum2" "second-repo/"
  # At the top: the repos, the image's HOME entries, our state; nothing else.
  assert_eq "$(xroot "$c" ls -A "$V" | LC_ALL=C sort)" \
    "$( (printf '.gitspace\nsecond-repo\ntest\n'; xroot "$c" ls -A /home/vscode) | LC_ALL=C sort)" "volume top level"
  xroot "$c" cmp /home/vscode/.bashrc "$V/.bashrc"
  xroot "$c" test -f "$V/.vscode-server/bin/gitspace-reference/VERSION"
  assert_eq "$(xroot "$c" cat "$V/.gitspace/layout")" "home 1"
  assert_eq "$(not_user_owned "$c")" "" "entries not owned by 1000:1000"
  # The user writes everywhere, where root owned it before.
  docker exec -u 1000 "$c" sh -c "echo x >'$V/test/new' && echo y >>'$V/test/root-file' && echo z >'$V/test/sub/deep/mine'"
  # A hard link is still one file.
  assert_eq "$(xroot "$c" stat -c %h "$V/test/sub/hard-link")" 2
}

@test "legacy-nested: workspaces/ repos move up by rename (same inode), collisions keep both, workspaces/ removed by rmdir" {
  local c sum_test sum_other sum_top ino
  c=$(new_ctr)
  make_tree "$c" "$V/workspaces/test"
  make_tree "$c" "$V/workspaces/other"
  xroot "$c" sh -c "printf loose >'$V/workspaces/loose file'"
  # A clone a legacy pod made at the root, with the same name: both must stay.
  make_tree "$c" "$V/test"
  sum_test=$(sums "$c" "$V/workspaces/test")
  sum_other=$(sums "$c" "$V/workspaces/other")
  sum_top=$(sums "$c" "$V/test")
  ino=$(xroot "$c" stat -c %i "$V/workspaces/test/sub/blob.bin")
  run mig "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "detected layout legacy-nested"
  assert_contains "$output" "name collision: workspaces/test is kept as test.from-workspaces"
  assert_contains "$output" "collisions kept under another name: 1"
  assert_eq "$(sums "$c" "$V/test")" "$sum_top" "the root's own test/"
  assert_eq "$(sums "$c" "$V/test.from-workspaces")" "$sum_test" "workspaces/test, now test.from-workspaces"
  assert_eq "$(sums "$c" "$V/other")" "$sum_other" "workspaces/other, now other"
  assert_eq "$(xroot "$c" cat "$V/loose file")" "loose"
  # renamed, not copied: the same inode
  assert_eq "$(xroot "$c" stat -c %i "$V/test.from-workspaces/sub/blob.bin")" "$ino" "inode of a moved file"
  run xroot "$c" test -e "$V/workspaces"
  [ "$status" -ne 0 ]
  assert_eq "$(not_user_owned "$c")" "" "entries not owned by 1000:1000"
  assert_eq "$(xroot "$c" cat "$V/.gitspace/layout")" "home 1"
  run xroot "$c" cat "$V/.gitspace/migration.journal"
  assert_contains "$output" "move 3 "
  assert_contains "$output" "done 3"
  assert_contains "$output" "finished "
}

@test "a rename the kernel refuses (an immutable entry in workspaces/) stops the run naming it; nothing lost; the next run finishes" {
  local c vol beta sum_alpha sum_beta
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" -v "$vol:$V")
  make_tree "$c" "$V/workspaces/alpha"
  make_tree "$c" "$V/workspaces/beta"
  sum_alpha=$(sums "$c" "$V/workspaces/alpha")
  sum_beta=$(sums "$c" "$V/workspaces/beta")
  # rename(2) of an immutable entry fails (EPERM), as a full disk's can (ENOSPC): `mv -n`
  # leaves beta behind and only the check after the renames sees it. chattr needs
  # CAP_LINUX_IMMUTABLE, which containers lack: set from this host, on the volume's directory.
  beta="$(docker volume inspect -f '{{.Mountpoint}}' "$vol")/workspaces/beta"
  chattr +i "$beta"
  run mig "$c"
  chattr -i "$beta"
  [ "$status" -ne 0 ]
  assert_contains "$output" "mv reported a failure; checking each rename"
  assert_contains "$output" "renaming workspaces/beta to beta did not happen"
  assert_contains "$output" "nothing more was changed: compare the volume with"
  # Nothing lost, nothing half-done: alpha renamed whole (its rename checked and recorded),
  # beta where it was.
  assert_eq "$(sums "$c" "$V/alpha")" "$sum_alpha" "alpha, renamed before the failure"
  assert_eq "$(sums "$c" "$V/workspaces/beta")" "$sum_beta" "beta, not renamed"
  run xroot "$c" cat "$V/.gitspace/migration.journal"
  refute_contains "$output" "finished "
  # The cause gone, the next run finishes what is left.
  run mig "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "moved workspaces/beta -> beta"
  assert_eq "$(sums "$c" "$V/alpha")" "$sum_alpha" "alpha after the second run"
  assert_eq "$(sums "$c" "$V/beta")" "$sum_beta" "beta after the second run"
  run xroot "$c" test -e "$V/workspaces"
  [ "$status" -ne 0 ]
  assert_eq "$(xroot "$c" cat "$V/.gitspace/layout")" "home 1"
}

# reference_state CTR: the state an uninterrupted migration reaches, minus
# timestamps and our own journal.
final_state() {
  sums "$1" "$V"
  not_user_owned "$1"
  xroot "$1" cat "$V/.gitspace/layout" "$V/.gitspace/migrated-from"
  xroot "$1" ls -A "$V"
}

# nested_fixture CTR: the same nested volume for every kill point.
nested_fixture() {
  make_tree "$1" "$V/workspaces/test"
  make_tree "$1" "$V/workspaces/b-repo"
  make_tree "$1" "$V/test"
  xroot "$1" sh -c "printf one >'$V/workspaces/z
odd name'"
}

@test "SIGKILL after each rename and after each step: the next run finishes it, same files as an uninterrupted run" {
  local ref c point kill_args want
  ref=$(new_ctr)
  nested_fixture "$ref"
  mig "$ref"
  want=$(final_state "$ref")
  for point in rename:1 rename:2 rename:3 planned seeded owned finished; do
    c=$(new_ctr)
    nested_fixture "$c"
    if [[ "$point" == rename:* ]]; then
      kill_args=(-e GITSPACE_TEST_HOOKS=1 -e GITSPACE_MIGRATE_KILL_AFTER="${point#rename:}")
    else
      kill_args=(-e GITSPACE_TEST_HOOKS=1 -e GITSPACE_MIGRATE_KILL_AT="$point")
    fi
    run mig "$c" "${kill_args[@]}"
    [ "$status" -eq 137 ] || { echo "kill at $point: status $status, want 137 (SIGKILL)" >&2; false; }
    run xroot "$c" test -e "$V/.gitspace/layout"
    [ "$status" -ne 0 ] || { echo "kill at $point: layout written before the end" >&2; false; }
    run mig "$c"
    [ "$status" -eq 0 ]
    assert_contains "$output" "was interrupted: resuming"
    assert_eq "$(final_state "$c")" "$want" "after a kill at $point and a rerun"
    docker rm -f "$c" >/dev/null
  done
}

@test "the test hooks do nothing without GITSPACE_TEST_HOOKS=1" {
  local c
  c=$(new_ctr)
  nested_fixture "$c"
  run mig "$c" -e GITSPACE_MIGRATE_KILL_AFTER=1 -e GITSPACE_MIGRATE_KILL_AT=planned
  [ "$status" -eq 0 ]
  assert_eq "$(xroot "$c" cat "$V/.gitspace/layout")" "home 1"
}

@test "second run: 'already migrated', not one ctime or mtime changes" {
  local c before
  c=$(new_ctr)
  nested_fixture "$c"
  mig "$c"
  before=$(times "$c")
  run mig "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "already migrated, nothing to do"
  assert_eq "$(times "$c")" "$before" "ctime/mtime of every entry"
}

@test "unrecognised volumes are refused and left untouched" {
  local c before
  # files, no repository, no .gitspace: not a gitspace volume
  c=$(new_ctr)
  xroot "$c" sh -c "mkdir $V/pg_data && echo x >$V/pg_data/base && echo y >$V/notes.txt"
  before=$(times "$c")
  run mig "$c"
  [ "$status" -ne 0 ]
  assert_contains "$output" "not a gitspace volume this script recognises; nothing was changed"
  assert_contains "$output" "persistence.existingClaim"
  assert_eq "$(times "$c")" "$before" "volume after the refusal"
  # a layout marker from a newer chart
  c=$(new_ctr)
  make_tree "$c" "$V/test"
  xroot "$c" sh -c "mkdir $V/.gitspace && echo 'home 9' >$V/.gitspace/layout"
  before=$(times "$c")
  run mig "$c"
  [ "$status" -ne 0 ]
  assert_contains "$output" "a layout this chart does not know"
  assert_eq "$(times "$c")" "$before" "volume after the refusal"
}

@test "a volume that already is a HOME (dotfiles, no marker, e.g. a Docker Gitspace volume): nothing moved or seeded" {
  local c before
  c=$(new_ctr)
  make_tree "$c" "$V/workspaces/test"
  xroot "$c" sh -c "echo mine >$V/.bashrc"
  before=$(times "$c")
  run mig "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "already holds .bashrc at its root: a HOME, not a /workspaces volume"
  assert_eq "$(times "$c")" "$before" "volume"
}

@test "empty volume: nothing to migrate, nothing written (prepare seeds it like Docker)" {
  local c before
  c=$(new_ctr)
  before=$(times "$c")
  run mig "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "empty volume: nothing to migrate"
  assert_eq "$(times "$c")" "$before" "volume"
}

@test "home -> legacy: a volume created as HOME is refused naming compat.layout, untouched; a migrated one (rollback) is served" {
  local c before
  c=$(new_ctr)
  docker exec -u 0 "${MIG_ENV[@]}" -e GITSPACE_ETC_OUT=/tmp/etc "$c" "$SCRIPTS/gitspace-init.sh" prepare
  before=$(times "$c")
  run docker exec -u 0 "${MIG_ENV[@]}" -e GITSPACE_LAYOUT=legacy -e GITSPACE_ETC_OUT=/tmp/etc "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -ne 0 ]
  assert_contains "$output" "Going from home back to legacy is refused; set compat.layout=home again"
  assert_eq "$(times "$c")" "$before" "volume after the refusal"
  # rollback of a migration: allowed, nothing moves, a warning says why
  c=$(new_ctr)
  make_tree "$c" "$V/test"
  mig "$c"
  before=$(sums "$c" "$V")
  run docker exec -u 0 "${MIG_ENV[@]}" -e GITSPACE_LAYOUT=legacy -e GITSPACE_ETC_OUT=/tmp/etc "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_contains "$output" "(a rollback); every repo is still at /workspaces/{repo}"
  assert_eq "$(sums "$c" "$V")" "$before" "volume after prepare in layout legacy"
}

@test "prepare of a layout-home release migrates a legacy volume first (existingClaim), then neither seeds over it nor walks again" {
  local c before
  c=$(new_ctr)
  make_tree "$c" "$V/test"
  before=$(sums "$c" "$V/test")
  run docker exec -u 0 "${MIG_ENV[@]}" -e GITSPACE_ETC_OUT=/tmp/etc "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_contains "$output" "detected layout legacy-root"
  assert_contains "$output" "already seeded"
  assert_contains "$output" "no walk"
  assert_eq "$(sums "$c" "$V/test")" "$before" "repo after prepare"
  assert_eq "$(xroot "$c" cat "$V/.gitspace/layout")" "home 1"
  xroot "$c" test -f "$V/.profile"
}
