#!/usr/bin/env bats
# persistence.paths (persist-paths.sh, called by gitspace-init.sh prepare): the
# language image's user-writable folders outside HOME (/go, group golang,
# setgid; the npm prefix, group npm) are seeded into the volume's
# .gitspace/persist once, exactly as the image has them (owner, group, mode,
# setgid), resume after a kill, are never walked again, and what the user
# writes there survives a new container. Runs in the language test image.

load helpers/common.bash

IMG_LANG="gitspace-chart/test-lang:$IMAGE_TAG"
PATHS=$'/go\n/usr/local/share/npm-global'
P=/gitspace/volume/.gitspace/persist

teardown() { cleanup_all; }

PREP_ENV=(-e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/vscode
  -e GITSPACE_VOLUME=/gitspace/volume -e GITSPACE_ETC_OUT=/gitspace/etc -e GITSPACE_SEED_HOME=true
  -e GITSPACE_IMAGE="$IMG_LANG" -e GITSPACE_PERSIST_PATHS="$PATHS")

# prep CTR: gitspace-init.sh prepare as root, as the chart's init container.
prep() { docker exec -u 0 "${PREP_ENV[@]}" "$1" "$SCRIPTS/gitspace-init.sh" prepare; }

# tree CTR DIR: every entry with owner, mode (setgid included), size, type.
tree() { xroot "$1" find "$2" -printf '%P %u:%g %m %s %y %l\n' | LC_ALL=C sort; }

# state CTR PATH: the first line of PATH's state file.
state() { xroot "$1" bash -c "head -n 1 /gitspace/volume/.gitspace/persist.state/\$(printf %s '$2' | sha256sum | cut -c1-16).state"; }

@test "prepare seeds each persisted path exactly as the image has it: owner, group, mode, setgid" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  xroot "$c" sh -c 'echo "package tool" >/go/src/tool.go && chown root:golang /go/src/tool.go && chmod 664 /go/src/tool.go'
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "persisted path /go seeded"
  assert_contains "$output" "persisted path /usr/local/share/npm-global seeded"
  assert_eq "$(tree "$c" $P/go)" "$(tree "$c" /go)" "/go on the volume"
  assert_eq "$(tree "$c" $P/usr/local/share/npm-global)" "$(tree "$c" /usr/local/share/npm-global)" "npm prefix on the volume"
  # what a user sees: root:golang, group-writable, setgid (2775), as in the image
  assert_eq "$(xroot "$c" stat -c '%U:%G %a' $P/go/bin)" "root:golang 2775"
  assert_eq "$(state "$c" /go)" seeded
  run xroot "$c" find /gitspace/volume/.gitspace -name '*.gitspace-seeding'
  assert_eq "$output" "" "staging folders left"
  # fix_ownership re-owned HOME for the user but left the persisted trees as the image has them
  assert_eq "$(xroot "$c" stat -c %U /gitspace/volume/.bashrc)" vscode
  assert_eq "$(xroot "$c" find $P ! -user root | wc -l)" 0 "entries under .gitspace/persist not root's"
}

@test "the manifest lists what the image put there: type, owner, mode, content hash, path" {
  local vol c key sum
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  xroot "$c" sh -c 'printf "hello\n" >/go/src/a.go && ln -s a.go /go/src/link && chown -h root:golang /go/src/a.go /go/src/link && chmod 664 /go/src/a.go'
  prep "$c"
  key=$(printf %s /go | sha256sum | cut -c1-16)
  sum=$(printf 'hello\n' | sha256sum | cut -d' ' -f1)
  run xroot "$c" sh -c "tr '\\0' '\\t' </gitspace/volume/.gitspace/persist.state/$key.manifest"
  assert_contains "$output" "$(printf 'f\t0:%s\t664\t%s\tsrc/a.go' "$(xroot "$c" getent group golang | cut -d: -f3)" "$sum")"
  assert_contains "$output" "$(printf '\tsrc/link')"
  assert_contains "$output" "$(printf 'l\t')"
  assert_contains "$output" "$(printf 'd\t0:%s\t2775\t-\tbin' "$(xroot "$c" getent group golang | cut -d: -f3)")"
}

@test "what the user writes in /go survives a new container (go install, as on Docker's stop/start)" {
  local vol c mp w1 w2
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  prep "$c"
  mp=$(docker volume inspect -f '{{.Mountpoint}}' "$vol")
  # The chart's subPath mount: the volume's .gitspace/persist/go at /go, the user's own groups.
  w1=$(ctr_start "$IMG_LANG" -u vscode -v "$mp/.gitspace/persist/go:/go")
  docker exec "$w1" sh -c 'printf "#!/bin/sh\necho hi\n" >/go/bin/mytool && chmod +x /go/bin/mytool'
  assert_eq "$(docker exec "$w1" stat -c '%U:%G' /go/bin/mytool)" "vscode:golang" "setgid gives a go-installed tool the group"
  docker rm -f "$w1" >/dev/null
  w2=$(ctr_start "$IMG_LANG" -u vscode -v "$mp/.gitspace/persist/go:/go")
  assert_eq "$(docker exec "$w2" mytool)" hi "the tool, on PATH, in a new container"
  # and the next prepare (a restart) keeps it
  run prep "$c"
  [ "$status" -eq 0 ]
  xroot "$c" test -x $P/go/bin/mytool
}

@test "a restart reads one state file per path and never walks or re-copies the trees" {
  local vol c before
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  prep "$c"
  before=$(tree "$c" $P)
  # What the image has changed since (the restart must not copy it: that is an upgrade's refresh)
  # and 3000 entries the user made with another owner (a walk would re-own them).
  xroot "$c" touch /go/newinimage
  xroot "$c" bash -c "mkdir $P/go/pkg/many && touch $P/go/pkg/many/f{1..3000} && chown -R 4242:4242 $P/go/pkg/many"
  run prep "$c"
  [ "$status" -eq 0 ]
  refute_contains "$output" "seeding persisted path"
  assert_eq "$(xroot "$c" find $P/go/pkg/many -user 4242 | wc -l)" 3001
  run xroot "$c" test -e $P/go/newinimage
  [ "$status" -ne 0 ]
  assert_eq "$(tree "$c" $P | grep -v '^go/pkg/many')" "$before" "persisted trees after a restart"
}

@test "a seed killed half-way resumes: a file the kill cut short is replaced, the tree renamed into place" {
  local vol c key
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  xroot "$c" sh -c 'seq 1 20000 >/go/src/big.txt && chown root:golang /go/src/big.txt'
  key=$(printf %s /go | sha256sum | cut -c1-16)
  # What a SIGKILL of cp leaves: state "copying", a staging folder with big.txt cut short,
  # and the empty folder kubelet makes for a missing subPath.
  xroot "$c" sh -c "mkdir -p /gitspace/volume/.gitspace/persist.state $P/go $P/.go.gitspace-seeding/src &&
    printf 'copying\n/go\n' >/gitspace/volume/.gitspace/persist.state/$key.state &&
    head -c 100 /go/src/big.txt >$P/.go.gitspace-seeding/src/big.txt"
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "interrupted: copying again"
  assert_eq "$(xroot "$c" sh -c "sha256sum <$P/go/src/big.txt")" "$(xroot "$c" sh -c 'sha256sum </go/src/big.txt')"
  assert_eq "$(tree "$c" $P/go)" "$(tree "$c" /go)" "/go after the resumed seed"
  assert_eq "$(state "$c" /go)" seeded
  run xroot "$c" test -e $P/.go.gitspace-seeding
  [ "$status" -ne 0 ]
}

@test "a kill between the rename and the state file: the next run marks it seeded, copies nothing" {
  local vol c key
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  prep "$c"
  key=$(printf %s /go | sha256sum | cut -c1-16)
  xroot "$c" sh -c "printf 'copying\n/go\n' >/gitspace/volume/.gitspace/persist.state/$key.state && echo mine >$P/go/src/mine"
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "complete before a stop: marking it seeded"
  assert_eq "$(xroot "$c" cat $P/go/src/mine)" mine
  assert_eq "$(state "$c" /go)" seeded
}

@test "data already at a persisted path that no seed of ours wrote is never overwritten" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  xroot "$c" sh -c "mkdir -p $P/go && echo theirs >$P/go/file"
  run prep "$c"
  [ "$status" -eq 0 ]
  assert_contains "$output" "already holds data: not seeded from the image"
  assert_eq "$(xroot "$c" ls $P/go)" file
  assert_eq "$(xroot "$c" cat $P/go/file)" theirs
  assert_contains "$(state "$c" /go)" skipped
}

@test "a path the image does not have becomes an empty folder of the user's" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  run docker exec -u 0 "${PREP_ENV[@]}" -e GITSPACE_PERSIST_PATHS=/opt/mytools "$c" "$SCRIPTS/gitspace-init.sh" prepare
  [ "$status" -eq 0 ]
  assert_eq "$(xroot "$c" stat -c '%u:%g %a %F' $P/opt/mytools)" "1000:1000 755 directory"
}

@test "system paths and paths in or around HOME are refused with the field and the fix" {
  local vol c p
  vol=$(vol_create)
  c=$(ctr_start "$IMG_LANG" -v "$vol:/gitspace/volume")
  for p in /tmp/cache /var /home/vscode/go /home; do
    run docker exec -u 0 "${PREP_ENV[@]}" -e GITSPACE_PERSIST_PATHS="$p" "$c" "$SCRIPTS/persist-paths.sh" seed /gitspace/volume 1000 1000 "$p"
    [ "$status" -ne 0 ]
    assert_contains "$output" "persistence.paths: $p"
    assert_contains "$output" "remove it"
  done
  run xroot "$c" test -e $P
  [ "$status" -ne 0 ]
}

@test "gitspace-chart values --image finds the language image's /go and npm prefix (a find in a throwaway container)" {
  local dc
  dc="$BATS_TEST_TMPDIR/devcontainer.json"
  printf '{"image": "%s"}\n' "$IMG_LANG" >"$dc"
  run node "$REPO_ROOT/bin/gitspace-chart.js" values --repo-url https://example.com/x.git --image "$IMG_LANG" --devcontainer "$dc"
  [ "$status" -eq 0 ]
  assert_contains "$output" "$(printf 'persistence:\n  paths:\n    - /go\n    - /usr/local/share/npm-global\n')"
  # the throwaway container is gone
  assert_eq "$(docker ps -aq --filter label=gitspace-chart.persist-scan=1 --filter "ancestor=$IMG_LANG")" ""
}
