#!/usr/bin/env bats
# detect-devcontainer-user.sh: JSONC (comments, trailing commas) parsed with
# bash + awk only, in the plain Debian image (mawk) and with busybox awk.

load helpers/common.bash

setup_file() {
  export DC_DIR="$BATS_FILE_TMPDIR/dc"
  mkdir -p "$DC_DIR"
}

teardown() { cleanup_all; }

# detect JSONC_TEXT: write it as REPO/.devcontainer/devcontainer.json and run
# detection in both awks; both must agree. Sets status/output (of mawk run).
detect() {
  local d="$DC_DIR/$BATS_TEST_NUMBER-$RANDOM"
  mkdir -p "$d/repo/.devcontainer"
  printf '%s' "$1" >"$d/repo/.devcontainer/devcontainer.json"
  [ -n "${DC_CTR:-}" ] || DC_CTR=$(ctr_start "$IMG_BUSYBOX" -v "$DC_DIR:$DC_DIR:ro")
  run docker exec "$DC_CTR" bash -c 'mkdir -p /tmp/bb && ln -sf /bin/busybox /tmp/bb/awk && PATH=/tmp/bb:$PATH "$0" "$1"' \
    "$SCRIPTS/detect-devcontainer-user.sh" "$d/repo"
  local bb_status=$status bb_output=$output
  run docker exec "$DC_CTR" "$SCRIPTS/detect-devcontainer-user.sh" "$d/repo"
  assert_eq "$bb_status" "$status" "busybox awk vs mawk exit status"
  assert_eq "$(printf '%s' "$bb_output" | sed 's/^[0-9TZ:-]* //')" "$(printf '%s' "$output" | sed 's/^[0-9TZ:-]* //')" "busybox awk vs mawk output"
  DC_FILE="$d/repo/.devcontainer/devcontainer.json"
}

@test "comments, trailing commas and tricky strings" {
  detect '// leading comment with "quotes" and { braces
{
  /* block
     comment */ "name": "a // not a comment /* nor this */",
  "image": "mcr.microsoft.com/devcontainers/base:bookworm", // trailing comment
  "containerUser": "root",
  "remoteUser": "vs\u0063ode",
  "features": { "x": { "remoteUser": "nested-is-ignored" }, },
  "forwardPorts": [8080, -1.5e3, true, null, ],
  "esc": "a \"quoted\" \\ back",
}
'
  [ "$status" -eq 0 ]
  assert_eq "$output" vscode
}

@test "remoteUser wins over containerUser; containerUser alone; neither" {
  detect '{"containerUser": "node", "remoteUser": "dev"}'
  assert_eq "$output" dev
  detect '{"remoteUser": "dev", "containerUser": "node"}'
  assert_eq "$output" dev
  detect '{ "containerUser": "node" }'
  assert_eq "$output" node
  detect '{ "image": "x", "features": {"remoteUser": "no"} }'
  [ "$status" -eq 0 ]
  assert_eq "$output" ""
  detect '{"remoteUser": "1000:1000"}'
  assert_eq "$output" "1000:1000"
  detect $'\xef\xbb\xbf{"remoteUser": "bom"}'
  assert_eq "$output" bom
}

@test "no devcontainer.json: nothing printed, success" {
  local c
  c=$(ctr_start "$IMG_DEBIAN")
  run docker exec "$c" "$SCRIPTS/detect-devcontainer-user.sh" /nonexistent
  [ "$status" -eq 0 ]
  assert_eq "$output" ""
}

@test "malformed JSONC: clear error with the file name and line" {
  local bad
  while IFS= read -r bad; do
    detect "$(printf '%b' "$bad")"
    [ "$status" -ne 0 ] || { echo "accepted: $bad"; return 1; }
    assert_contains "$output" "$DC_FILE:"
    assert_contains "$output" "malformed JSONC in $DC_FILE"
  done <<'CASES'
{"remoteUser": "x"
{"remoteUser" "x"}
{"remoteUser": "x",,}
[{"remoteUser": "x"}]
{"remoteUser": "unterminated}
{"a": 1} /* unterminated comment
{"a": "bad \\q escape"}
{"a": 1}}
{"a": tru}
{"a": 01}
{remoteUser: "x"}
{"a": 1} {"b": 2}

CASES
  detect $'{\n  "a": 1,\n  "b": ]\n}'
  assert_contains "$output" "$DC_FILE:3:"
}
