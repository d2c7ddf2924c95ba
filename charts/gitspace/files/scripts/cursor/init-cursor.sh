#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# cursor/init-cursor.sh cursor|windsurf
# Cursor and Windsurf connect over SSH (ssh/sshd.sh) and install their own
# server into HOME on first connect (~/.cursor-server, ~/.windsurf-server):
# HOME is the volume, so it is kept across restarts. Nothing to download here;
# we only make sure the folder exists under HOME with the user's ownership.
set -euo pipefail
# shellcheck source=../lib.sh
[ -n "${_GITSPACE_LIB_LOADED:-}" ] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # loaded already: no dirname fork

# init_cursor IDE: the IDE's server folder under HOME.
init_cursor() {
  case "$1" in
    cursor) mkdir -p "$HOME/.cursor-server" ;;
    windsurf) mkdir -p "$HOME/.windsurf-server" ;;
    *) die "init_cursor: unknown IDE $(q "$1") (cursor or windsurf)" ;;
  esac
}

if ! _is_sourced; then
  [ $# -eq 1 ] || die "usage: cursor/init-cursor.sh cursor|windsurf"
  init_cursor "$1"
fi
