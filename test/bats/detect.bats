#!/usr/bin/env bats
# detect-devcontainer-user.sh: the user fields of devcontainer.json as the
# clone step reads them in the pod (bash + awk only), in the plain Debian
# image (mawk) and with busybox awk, on the corpus the generator's unit test
# (test/unit/devcontainer-corpus.test.ts) runs through devcontainer.ts: the
# pod and gitspace-chart values must read the same fields from the same file.

load helpers/common.bash

CORPUS="$REPO_ROOT/test/corpus/devcontainer-user-fields.json"

setup_file() {
  export DC_DIR="$BATS_FILE_TMPDIR/dc"
  mkdir -p "$DC_DIR"
}

teardown() { cleanup_all; }

# corpus_cases: one line per case, "NAME|TEXT|KIND|EXPECTED", each part
# base64 (KIND: fields or error; EXPECTED: the sorted "key<TAB>value" lines,
# or the line number an error names, or empty).
corpus_cases() {
  node -e '
    const b = (s) => Buffer.from(s, "utf8").toString("base64");
    for (const c of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).cases) {
      const text = Array.isArray(c.text) ? c.text.join("\n") : c.text;
      const want = c.error ? String(c.line ?? "") : Object.entries(c.fields).map(([k, v]) => k + "\t" + v).sort().join("\n");
      console.log([b(c.name), b(text), b(c.error ? "error" : "fields"), b(want)].join("|"));
    }' "$CORPUS"
}

# detect B64_TEXT: write it as REPO/.devcontainer/devcontainer.json and run
# detection in both awks; both must agree. Sets status/output (of mawk run)
# and DC_FILE.
detect() {
  local d="$DC_DIR/$BATS_TEST_NUMBER-$RANDOM"
  mkdir -p "$d/repo/.devcontainer"
  printf '%s' "$1" | base64 -d >"$d/repo/.devcontainer/devcontainer.json"
  [ -n "${DC_CTR:-}" ] || DC_CTR=$(ctr_start "$IMG_BUSYBOX" -v "$DC_DIR:$DC_DIR:ro")
  run docker exec "$DC_CTR" bash -c 'mkdir -p /tmp/bb && ln -sf /bin/busybox /tmp/bb/awk && PATH=/tmp/bb:$PATH "$0" "$1"' \
    "$SCRIPTS/detect-devcontainer-user.sh" "$d/repo"
  local bb_status=$status bb_output=$output
  run docker exec "$DC_CTR" "$SCRIPTS/detect-devcontainer-user.sh" "$d/repo"
  assert_eq "$bb_status" "$status" "busybox awk vs mawk exit status"
  assert_eq "$(printf '%s' "$bb_output" | sed 's/^[0-9TZ:-]* //')" "$(printf '%s' "$output" | sed 's/^[0-9TZ:-]* //')" "busybox awk vs mawk output"
  DC_FILE="$d/repo/.devcontainer/devcontainer.json"
}

@test "the corpus: the same user fields as gitspace-chart values reads, or refused naming the file" {
  local n t k w name kind want ran=0
  while IFS='|' read -r n t k w; do
    name=$(printf '%s' "$n" | base64 -d)
    kind=$(printf '%s' "$k" | base64 -d)
    want=$(printf '%s' "$w" | base64 -d)
    detect "$t"
    if [ "$kind" = fields ]; then
      [ "$status" -eq 0 ] || { echo "refused: $name: $output"; return 1; }
      assert_eq "$(printf '%s\n' "$output" | LC_ALL=C sort)" "$want" "$name"
    else
      [ "$status" -ne 0 ] || { echo "accepted: $name: $output"; return 1; }
      assert_contains "$output" "$DC_FILE"
      [ -z "$want" ] || assert_contains "$output" "$DC_FILE:$want:"
    fi
    ran=$((ran + 1))
  done < <(corpus_cases)
  [ "$ran" -gt 20 ]
}

@test "a syntax error says it is malformed JSONC; a field of the wrong type names the field" {
  detect "$(printf '{"remoteUser": "x"' | base64 -w0)"
  assert_contains "$output" "malformed JSONC in $DC_FILE"
  detect "$(printf '{"remoteUser": 1000}' | base64 -w0)"
  assert_contains "$output" "$DC_FILE: remoteUser must be a string"
}

@test "no devcontainer.json: nothing printed, success" {
  local c
  c=$(ctr_start "$IMG_DEBIAN")
  run docker exec "$c" "$SCRIPTS/detect-devcontainer-user.sh" /nonexistent
  [ "$status" -eq 0 ]
  assert_eq "$output" ""
}
