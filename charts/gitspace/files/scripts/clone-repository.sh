#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# clone-repository.sh URL [NAME] [BRANCH]
# Clones URL into $HOME/NAME as the current user, as Docker Gitspace does
# (skipped when $HOME/NAME/.git exists). NAME defaults to the last URL path
# segment without .git. Credentials come from $GIT_CREDENTIALS_DIR/{username,
# password} through a credential helper that reads the files.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Never prompt (an init container has no terminal: a prompt would hang it);
# only network transports (no file://, ext::, fd::).
export GIT_TERMINAL_PROMPT=0
export GIT_ALLOW_PROTOCOL=http:https:ssh

# workspace_root: where repositories go. HOME always wins: Docker Gitspace
# clones into $HOME/{repo}; a different WORKSPACE_DIR (the seed's older
# variant) is reported and ignored.
workspace_root() {
  if [ -n "${WORKSPACE_DIR:-}" ] && [ "${WORKSPACE_DIR%/}" != "${HOME%/}" ]; then
    log_warn "WORKSPACE_DIR=$(q "$WORKSPACE_DIR") is ignored: repositories go to HOME=$(q "$HOME") as in Docker Gitspace"
  fi
  printf '%s\n' "$HOME"
}

# validate_branch BRANCH: a valid branch name that cannot pass for an option.
validate_branch() {
  if [[ "$1" == -* ]] || ! git check-ref-format --branch "$1" >/dev/null 2>&1; then
    die "REPO_BRANCH: invalid branch name $(q "$1")"
  fi
}

# clone_repository URL [NAME] [BRANCH]: see the header. The clone goes to a
# temp dir on the same filesystem and is renamed into place, so a clone killed
# half-way never leaves a half repository; the next run starts over.
clone_repository() {
  local url=$1 name=${2:-} branch=${3:-}
  validate_repo_url "$url"
  [ -n "$name" ] || name=$(repo_name_from_url "$url")
  validate_repo_name "$name"
  [ -z "$branch" ] || validate_branch "$branch"
  local root dest tmpdir
  root=$(workspace_root)
  dest="$root/$name"
  if [ -e "$dest/.git" ]; then
    log_info "repository already cloned at $(q "$dest"): skipping clone"
    return 0
  fi
  if [ -e "$dest" ] && [ -n "$(find "$dest" -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then
    die "$(q "$dest") exists and is not a git repository; move it away to let the gitspace clone $(q "$url") there"
  fi
  local tmproot
  tmproot="$(gitspace_state_dir "$root")/tmp"
  mkdir -p "$tmproot"
  # Leftovers of a clone killed earlier (ours alone: never user data).
  find "$tmproot" -mindepth 1 -maxdepth 1 -name "clone-$name.*" -exec rm -rf {} +
  tmpdir=$(mktemp -d "$tmproot/clone-$name.XXXXXX")
  local args=(-c credential.helper=)
  if [ -n "${GIT_CREDENTIALS_DIR:-}" ] && [ -r "$GIT_CREDENTIALS_DIR/password" ]; then
    args+=(-c "credential.helper=$GITSPACE_SCRIPTS_DIR/git/git-credential-gitspace.sh")
    log_info "using credentials from $(q "$GIT_CREDENTIALS_DIR")"
  fi
  local clone_args=(clone --no-recurse-submodules)
  [ -z "$branch" ] || clone_args+=("--branch=$branch")
  log_info "cloning $(q "$url")${branch:+ (branch $(q "$branch"))} into $(q "$dest")"
  local out rc=0
  out=$(GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new}" \
    git "${args[@]}" "${clone_args[@]}" -- "$url" "$tmpdir/$name" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    rm -rf "$tmpdir"
    [ -z "$out" ] || printf '%s\n' "$out" >&2
    local lower=${out,,}
    if [[ "$lower" =~ authentication\ failed|could\ not\ read\ (username|password)|terminal\ prompts\ disabled|\ 40[13] ]]; then
      die "clone of $(q "$url") failed: authentication failed; check the username and password files in GIT_CREDENTIALS_DIR=$(q "${GIT_CREDENTIALS_DIR:-}") (the repo Secret)"
    fi
    if [[ "$lower" == *"no space left"* || "$lower" == *"quota exceeded"* || "$lower" == *"read-only file system"* ]]; then
      die "clone of $(q "$url") failed (git exit code $rc): $(space_note "$root")"
    fi
    die "clone of $(q "$url") failed (git exit code $rc, output above)"
  fi
  [ -z "$out" ] || printf '%s\n' "$out" >&2
  rmdir "$dest" 2>/dev/null || true # an empty folder in the way (checked above)
  mv -T "$tmpdir/$name" "$dest" || die "moving the clone into $(q "$dest") failed"
  rm -rf "$tmpdir"
  log_info "cloned into $(q "$dest")"
}

# ensure_safe_directory DIR: git refuses repos owned by another uid (e.g.
# after a uid change); trust the gitspace's own repo once, idempotently.
ensure_safe_directory() {
  local have
  have=$(git config --global --get-all safe.directory 2>/dev/null || true)
  if [[ $'\n'"$have"$'\n' != *$'\n'"$1"$'\n'* ]]; then
    git config --global --add safe.directory "$1"
    log_info "git safe.directory += $(q "$1")"
  fi
}

# set_git_identity NAME EMAIL [force]: user.name/user.email only when the user
# has none; with force (a reset), over the user's own, as Docker's clone step does.
set_git_identity() {
  local name=${1:-} email=${2:-} force=${3:-}
  if [ -n "$name" ] && { [ "$force" = force ] || [ -z "$(git config --global user.name 2>/dev/null || true)" ]; }; then
    git config --global user.name "$name"
    log_info "git user.name set"
  fi
  if [ -n "$email" ] && { [ "$force" = force ] || [ -z "$(git config --global user.email 2>/dev/null || true)" ]; }; then
    git config --global user.email "$email"
    log_info "git user.email set"
  fi
}

# ensure_devcontainer_json REPO_DIR IMAGE: when the repo has no
# .devcontainer/devcontainer.json, write {"image": IMAGE}, as Docker Gitspace
# does (it shows up as an untracked file in git status, exactly as on Docker).
ensure_devcontainer_json() {
  local repo=$1 image=$2 file="$1/.devcontainer/devcontainer.json"
  [ -e "$file" ] && return 0
  [ -n "$image" ] || return 0
  [[ "$image" =~ ^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$ ]] ||
    die "GITSPACE_IMAGE: $(q "$image") is not an image reference"
  mkdir -p "$repo/.devcontainer"
  printf '{"image": "%s"}\n' "$image" | write_file_atomic "$file" 0644
  log_info "wrote $(q "$file") naming $image (the repo had none; like Docker Gitspace)"
}

if ! _is_sourced; then
  if [ $# -lt 1 ] || [ $# -gt 3 ]; then die "usage: clone-repository.sh URL [NAME] [BRANCH]"; fi
  clone_repository "$@"
fi
