#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# detect-devcontainer-user.sh REPO_DIR
# Prints the user fields of REPO_DIR/.devcontainer/devcontainer.json as
# written, one "remoteUser<TAB>VALUE" / "containerUser<TAB>VALUE" line each
# (nothing when neither is set or there is no file). It resolves nothing:
# which user they mean is decided once, by `gitspace-chart values` (it also
# has the image's metadata label and passwd); the clone step only compares
# these fields with the ones the release was rendered from.
# Needs only bash and awk: devcontainer images may have no jq/python/node.
# test/corpus/devcontainer-user-fields.json is read by this parser's bats test
# and by generator/src/devcontainer.ts's unit test: both must agree on it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# jsonc_top_level_members FILE: prints "key<TAB>type<TAB>value" for every
# top-level member of FILE (type: string, number, boolean, null, object or
# array; value only for strings, decoded, UTF-8). FILE is JSONC (// and /* */
# comments, trailing commas, a UTF-8 BOM). A repeated key: the last one, as
# JSON.parse. Exit 2 with "FILE:LINE: message" when the file is not
# well-formed. Escaped control characters (\n, \t, \u0001...) come out as "?"
# (raw ones are refused, as in JSON), so a member is one line.
jsonc_top_level_members() {
  local file=$1
  [ -r "$file" ] || die "cannot read $file"
  LC_ALL=C awk -v file="$file" '
    function fail(msg, ln) {
      printf "%s:%d: %s\n", file, ln, msg > "/dev/stderr"
      failed = 1
      exit 2
    }
    function hexval(h,    k, v, c) {
      v = 0
      for (k = 1; k <= 4; k++) {
        c = index("0123456789abcdef", tolower(substr(h, k, 1)))
        if (c == 0) return -1
        v = v * 16 + c - 1
      }
      return v
    }
    # utf8(code): the UTF-8 bytes of a code point.
    function utf8(c) {
      if (c < 128) return sprintf("%c", c)
      if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
      if (c < 65536) return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
      return sprintf("%c%c%c%c", 240 + int(c / 262144), 128 + int(c / 4096) % 64, 128 + int(c / 64) % 64, 128 + c % 64)
    }
    function addtok(t, v, ln) { nt++; tt[nt] = t; tv[nt] = v; tl[nt] = ln }
    # Tokenizer: strings, numbers, literals, punctuation; comments dropped.
    function tokenize(    i, n, c, d, s, e, j, code, lo, word, ln) {
      n = length(src); i = 1; ln = 1
      while (i <= n) {
        c = substr(src, i, 1)
        if (c == "\n") { ln++; i++; continue }
        if (c == " " || c == "\t" || c == "\r") { i++; continue }
        if (c == "/") {
          d = substr(src, i + 1, 1)
          if (d == "/") { while (i <= n && substr(src, i, 1) != "\n") i++; continue }
          if (d == "*") {
            j = index(substr(src, i + 2), "*/")
            if (j == 0) fail("unterminated /* comment", ln)
            s = substr(src, i, j + 3)
            ln += gsub(/\n/, "", s)
            i += j + 3
            continue
          }
          fail("unexpected \"/\"", ln)
        }
        if (c == "\"") {
          i++; s = ""
          while (1) {
            if (i > n) fail("unterminated string", ln)
            c = substr(src, i, 1)
            if (c == "\"") { i++; break }
            if (c == "\n") fail("unterminated string (newline inside)", ln)
            if (index(ctl, c) > 0) fail("control character inside a string (write it as an escape)", ln)
            if (c == "\\") {
              e = substr(src, i + 1, 1)
              if (e == "\"" || e == "/" || e == "\\") s = s e
              # Control characters: "?" (no user string holds one), so a member stays one line.
              else if (e == "n" || e == "t" || e == "r" || e == "b" || e == "f") s = s "?"
              else if (e == "u") {
                code = hexval(substr(src, i + 2, 4))
                if (code < 0) fail("bad \\u escape", ln)
                i += 6
                # A surrogate pair is one code point; a lone surrogate is not text.
                if (code >= 55296 && code < 56320 && substr(src, i, 2) == "\\u" && (lo = hexval(substr(src, i + 2, 4))) >= 56320 && lo < 57344) {
                  code = 65536 + (code - 55296) * 1024 + (lo - 56320)
                  i += 6
                }
                if (code < 32) s = s "?"
                else if (code >= 55296 && code < 57344) s = s "?"
                else s = s utf8(code)
                continue
              } else fail("bad escape \\" e, ln)
              i += 2; continue
            }
            s = s c; i++
          }
          addtok("s", s, ln); continue
        }
        if (index("{}[]:,", c) > 0) { addtok(c, c, ln); i++; continue }
        if (c ~ /[-0-9]/) {
          j = i
          while (i <= n && substr(src, i, 1) ~ /[-+0-9.eE]/) i++
          s = substr(src, j, i - j)
          if (s !~ /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) fail("bad number " s, ln)
          addtok("n", s, ln); continue
        }
        if (c ~ /[a-z]/) {
          j = i
          while (i <= n && substr(src, i, 1) ~ /[a-z]/) i++
          word = substr(src, j, i - j)
          if (word != "true" && word != "false" && word != "null") fail("unexpected word " word, ln)
          addtok("l", word, ln); continue
        }
        fail("unexpected character " c, ln)
      }
    }
    # kindof(P): "type<TAB>value" of the value starting at token P.
    function kindof(P) {
      if (tt[P] == "s") return "string\t" tv[P]
      if (tt[P] == "n") return "number\t"
      if (tt[P] == "l") return (tv[P] == "null" ? "null" : "boolean") "\t"
      return (tt[P] == "{" ? "object" : "array") "\t"
    }
    function peekline() { return (p <= nt) ? tl[p] : lastline }
    function expect(t) {
      if (p > nt) fail("unexpected end of file, expected " t, lastline)
      if (tt[p] != t) fail("expected " t " but found " tv[p], tl[p])
      p++
    }
    # Recursive descent; trailing commas accepted before } and ].
    function value(depth,    key, vt) {
      if (p > nt) fail("unexpected end of file", lastline)
      vt = tt[p]
      if (vt == "{") {
        p++
        while (1) {
          if (p > nt) fail("unterminated object", lastline)
          if (tt[p] == "}") { p++; return "{" }
          if (tt[p] != "s") fail("expected a string key but found " tv[p], tl[p])
          key = tv[p]; p++
          expect(":")
          if (p > nt) fail("unexpected end of file", lastline)
          if (depth == 0) {
            if (!(key in found)) order[++nf] = key
            found[key] = kindof(p)
          }
          value(depth + 1)
          if (p > nt) fail("unterminated object", lastline)
          if (tt[p] == ",") { p++; continue }
          if (tt[p] == "}") { p++; return "{" }
          fail("expected , or } but found " tv[p], tl[p])
        }
      }
      if (vt == "[") {
        p++
        while (1) {
          if (p > nt) fail("unterminated array", lastline)
          if (tt[p] == "]") { p++; return "[" }
          value(depth + 1)
          if (p > nt) fail("unterminated array", lastline)
          if (tt[p] == ",") { p++; continue }
          if (tt[p] == "]") { p++; return "[" }
          fail("expected , or ] but found " tv[p], tl[p])
        }
      }
      if (vt == "s" || vt == "n" || vt == "l") { p++; return vt }
      fail("unexpected " tv[p], tl[p])
    }
    # A UTF-8 byte order mark is allowed before the JSON text (as VS Code does).
    NR == 1 && substr($0, 1, 3) == "\357\273\277" { $0 = substr($0, 4) }
    { src = src $0 "\n"; lastline = NR }
    END {
      if (failed) exit 2
      for (k = 1; k < 32; k++) if (k != 10) ctl = ctl sprintf("%c", k)
      tokenize()
      if (nt == 0) fail("empty file: expected a JSON object", 1)
      if (tt[1] != "{") fail("top level must be an object, found " tv[1], tl[1])
      p = 1
      value(0)
      if (p <= nt) fail("unexpected " tv[p] " after the top-level object", tl[p])
      for (k = 1; k <= nf; k++) printf "%s\t%s\n", order[k], found[order[k]]
    }
  ' "$file"
}

# devcontainer_json_path REPO_DIR: where Docker Gitspace reads it from.
devcontainer_json_path() { printf '%s/.devcontainer/devcontainer.json\n' "$1"; }

# devcontainer_user_fields REPO_DIR: prints "remoteUser<TAB>VALUE" and
# "containerUser<TAB>VALUE" for those the repo's devcontainer.json sets, as
# written; nothing when there is no file. Dies naming the file when it is
# malformed or a field is not a string (as gitspace-chart values refuses it).
devcontainer_user_fields() {
  local file members key type val
  file=$(devcontainer_json_path "$1")
  [ -f "$file" ] || return 0
  members=$(jsonc_top_level_members "$file") ||
    die "malformed JSONC in $file (see the line above); fix it or remove it"
  while IFS=$'\t' read -r key type val; do
    case "$key" in
      remoteUser | containerUser)
        [ "$type" = string ] ||
          die "$file: $key must be a string (a user name or uid, e.g. \"vscode\" or \"1000\"), found $type"
        printf '%s\t%s\n' "$key" "$val"
        ;;
    esac
  done <<<"$members"
}

if ! _is_sourced; then
  [ $# -eq 1 ] || die "usage: detect-devcontainer-user.sh REPO_DIR"
  devcontainer_user_fields "$1"
fi
