#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# git credential helper: `credential.helper=/…/git-credential-gitspace.sh [DIR]`
# (git appends the action). Answers `get` from the files DIR/username and
# DIR/password (the mounted Secret; DIR defaults to $GIT_CREDENTIALS_DIR), read
# at each use, so the password is never in argv, an environment variable,
# .git/config or any file on the volume. `store` and `erase` are ignored:
# nothing is ever written. Which hosts it answers for is the git config's
# business: the chart scopes it to the repository's scheme://host.
set -eu
dir=${GIT_CREDENTIALS_DIR:-}
if [ $# -ge 2 ]; then
  dir=$1
  shift
fi
[ "${1:-}" = get ] || exit 0
# Read git's request to the blank line (the protocol wants it read).
while IFS= read -r line && [ -n "$line" ]; do :; done
[ -n "$dir" ] && [ -r "$dir/password" ] || exit 0
if [ -r "$dir/username" ]; then
  printf 'username=%s\n' "$(cat "$dir/username")"
fi
printf 'password=%s\n' "$(cat "$dir/password")"
