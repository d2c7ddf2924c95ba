#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# detect-devcontainer-user.sh REPO_DIR
# Prints the user named by REPO_DIR/.devcontainer/devcontainer.json
# (remoteUser, else containerUser; nothing when neither or no file).
# Needs only bash and awk: devcontainer images may have no jq/python/node.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# jsonc_top_level_strings FILE: prints "key<TAB>value" for every top-level
# member of FILE whose value is a string. FILE is JSONC (// and /* */
# comments, trailing commas). Exit 2 with "FILE:LINE: message" when the file
# is not well-formed. Values have \n, \t and \\ escaped back so each member is
# one line.
jsonc_top_level_strings() {
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
    function addtok(t, v, ln) { nt++; tt[nt] = t; tv[nt] = v; tl[nt] = ln }
    # Tokenizer: strings, numbers, literals, punctuation; comments dropped.
    function tokenize(    i, n, c, d, s, e, j, code, word, ln) {
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
            if (c == "\\") {
              e = substr(src, i + 1, 1)
              if (e == "\"" || e == "/") s = s e
              else if (e == "\\") s = s "\\\\"
              else if (e == "n") s = s "\\n"
              else if (e == "t") s = s "\\t"
              else if (e == "r" || e == "b" || e == "f") s = s ""
              else if (e == "u") {
                code = hexval(substr(src, i + 2, 4))
                if (code < 0) fail("bad \\u escape", ln)
                if (code >= 32 && code < 127) s = s sprintf("%c", code)
                else s = s "?"
                i += 6; continue
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
          if (depth == 0 && tt[p] == "s") { found[key] = tv[p]; order[++nf] = key }
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

# detect_devcontainer_user REPO_DIR: prints remoteUser, else containerUser,
# from the repo's devcontainer.json; prints nothing when neither is set or
# the file does not exist. Dies naming the file when it is malformed.
detect_devcontainer_user() {
  local repo_dir=$1 file fields remote='' container='' key val
  file=$(devcontainer_json_path "$repo_dir")
  [ -f "$file" ] || return 0
  fields=$(jsonc_top_level_strings "$file") ||
    die "malformed JSONC in $file (see the line above); fix it or remove it"
  while IFS=$'\t' read -r key val; do
    case "$key" in
      remoteUser) remote=$val ;;
      containerUser) container=$val ;;
    esac
  done <<<"$fields"
  if [ -n "$remote" ]; then
    printf '%s\n' "$remote"
  elif [ -n "$container" ]; then
    printf '%s\n' "$container"
  fi
}

if ! _is_sourced; then
  [ $# -eq 1 ] || die "usage: detect-devcontainer-user.sh REPO_DIR"
  detect_devcontainer_user "$1"
fi
