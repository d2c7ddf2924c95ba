#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# git credential helper (`credential.helper=/…/git-credential-gitspace.sh`):
# answers `get` from the files $GIT_CREDENTIALS_DIR/username and /password
# (the mounted Secret), so the password is never in argv, in an environment
# variable, in .git/config or in any file on the volume. `store` and `erase`
# are ignored: nothing is ever written.
set -eu
[ "${1:-}" = get ] || exit 0
# Read git's request to the blank line (protocol), though we answer for one
# URL only: the clone this helper was given to.
while IFS= read -r line && [ -n "$line" ]; do :; done
dir=${GIT_CREDENTIALS_DIR:-}
[ -n "$dir" ] && [ -r "$dir/password" ] || exit 0
if [ -r "$dir/username" ]; then
  printf 'username=%s\n' "$(cat "$dir/username")"
fi
printf 'password=%s\n' "$(cat "$dir/password")"
