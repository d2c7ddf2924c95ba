#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# vscode/init-vscode.sh web|desktop
# VS Code setup as the gitspace user.
#   web:     code-server (VS Code in the browser): ~/.config/code-server/config.yaml
#            (bind 0.0.0.0:$IDE_PORT, auth from IDE_AUTH/IDE_PASSWORD_FILE),
#            extensions from $IDE_EXTENSIONS, user data in ~/.local/share/code-server.
#   desktop: VS Code over SSH (see ssh/sshd.sh); $IDE_EXTENSIONS become
#            recommendations in $HOME/$REPO_NAME/.vscode/extensions.json, as
#            Docker Gitspace writes them; server data goes to ~/.vscode-server.
set -euo pipefail
# shellcheck source=../lib.sh
[ -n "${_GITSPACE_LIB_LOADED:-}" ] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # loaded already: no dirname fork

CODE_SERVER_BIN="${CODE_SERVER_BIN:-code-server}"

# ide_extensions: $IDE_EXTENSIONS (comma/space separated publisher.name[@version]
# or /absolute/path.vsix), validated, one per line.
ide_extensions() {
  local e exts=()
  # read -a, not an unquoted expansion: no globbing of user input.
  IFS=$', \t\n' read -r -a exts <<<"${IDE_EXTENSIONS:-}" || true
  for e in "${exts[@]}"; do
    [[ "$e" =~ ^[A-Za-z0-9][A-Za-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9._-]*(@[0-9A-Za-z.+-]+)?$ || "$e" =~ ^/[A-Za-z0-9._/-]+\.vsix$ ]] ||
      die "IDE_EXTENSIONS: $(q "$e") is not publisher.name[@version] or /path/to/file.vsix"
    printf '%s\n' "$e"
  done
}

# code_server_config_dir, code_server_data_dir: ~/.config/code-server and
# ~/.local/share/code-server, or the run dir when HOME is full
# (volume-space.sh sets CODE_SERVER_CONFIG_DIR, CODE_SERVER_DATA_DIR).
# With an argument VAR: into VAR, no subshell.
code_server_config_dir() { _gs_out "${1:-}" "${CODE_SERVER_CONFIG_DIR:-$HOME/.config/code-server}"; }
code_server_data_dir() { _gs_out "${1:-}" "${CODE_SERVER_DATA_DIR:-$HOME/.local/share/code-server}"; }
# code_server_extensions_dir [VAR]: the extensions stay in HOME (code-server's default, and what
# --install-extension uses), even when the data dir moves to the run dir.
code_server_extensions_dir() { _gs_out "${1:-}" "$HOME/.local/share/code-server/extensions"; }

# code_server_config PORT AUTH: write ~/.config/code-server/config.yaml. The
# password itself is never written there (see code_server_run). A file that
# says so already is left as it is (a restart writes nothing: no forks).
code_server_config() {
  local port=$1 auth=$2 dir text cur=''
  code_server_config_dir dir
  case "$auth" in none | password) ;; *) die "IDE_AUTH: $(q "$auth") must be none or password" ;; esac
  printf -v text '%s\n' '# Written by the gitspace at every start; edits are overwritten.' \
    "bind-addr: 0.0.0.0:$port" "auth: $auth" 'cert: false'
  if [ -f "$dir/config.yaml" ] && [ ! -L "$dir/config.yaml" ]; then
    IFS= read -r -d '' cur <"$dir/config.yaml" || true
    [ "$cur" != "$text" ] || return 0
  fi
  [ -d "$dir" ] || mkdir -p "$dir"
  printf '%s' "$text" | write_file_atomic "$dir/config.yaml" 0600
}

# code_server_extensions: install what IDE_EXTENSIONS names and is not yet
# installed (a .vsix path: every time it changed). A failure (e.g. no
# marketplace reachable) is logged, not fatal. When nothing that decides it
# changed since the last start that installed everything (the stamp
# .gitspace/code-server-extensions: code_server_extensions_state), it is not
# asked again: `code-server --list-extensions` is a Node start of its own
# (~1 s) before the IDE. A wiped ~/.gitspace, a new image, an extension
# removed by hand or a new IDE_EXTENSIONS: it runs again.
code_server_extensions() {
  local installed e id wanted stamp state done_state failed=false
  # Validate all first: a die inside <(...) would not stop us.
  wanted=$(ide_extensions)
  stamp="$(gitspace_state_dir "$HOME")/code-server-extensions"
  code_server_extensions_state state "$wanted"
  read_marker_v done_state "$stamp"
  if [ "$state" = "$done_state" ]; then
    log_info "extensions: IDE_EXTENSIONS, the image and the installed extensions are as at the last start: none to install"
    return 0
  fi
  installed=$("$CODE_SERVER_BIN" --list-extensions 2>/dev/null || true)
  while IFS= read -r e; do
    [ -n "$e" ] || continue
    id=${e%@*}
    if [[ "$e" != /* && $'\n'"${installed,,}"$'\n' == *$'\n'"${id,,}"$'\n'* ]]; then
      continue
    fi
    log_info "installing extension $e"
    "$CODE_SERVER_BIN" --install-extension "$e" >&2 || {
      failed=true
      log_warn "extension $e could not be installed (the IDE starts without it)"
    }
  done <<<"$wanted"
  if $failed; then
    rm -f "$stamp" # the next start tries again
  else
    code_server_extensions_state state "$wanted"
    # A stamp not written (a full volume): the next start lists them again.
    printf '%s\n' "$state" | write_file_atomic "$stamp" 0644 2>/dev/null || rm -f "$stamp"
  fi
}

# code_server_extensions_state VAR WANTED: into VAR, what decides whether
# code_server_extensions has work: WANTED (one per line), the image, each
# .vsix's size and time, and the extensions folder's subfolders, manifest
# (extensions.json) and pending removals (.obsolete). Builtins but one stat.
code_server_extensions_state() {
  local wanted=$2 dir e f vsix='' folders='' manifest obsolete paths=()
  code_server_extensions_dir dir
  while IFS= read -r e; do [[ "$e" != /* ]] || paths+=("$e"); done <<<"$wanted"
  if ((${#paths[@]})); then vsix=$(stat -c '%n %s %Y' -- "${paths[@]}" 2>&1 || true); fi
  for f in "$dir"/*/; do [ ! -d "$f" ] || folders+="${f%/}"$'\n'; done
  read_marker_v manifest "$dir/extensions.json"
  read_marker_v obsolete "$dir/.obsolete"
  printf -v "$1" 'image %s\nwanted %s\nvsix %s\nfolders %s\nmanifest %s\nobsolete %s' \
    "${GITSPACE_IMAGE_REF:-${GITSPACE_PREPARE_IMAGE:-${GITSPACE_IMAGE:-}}}" "$wanted" "$vsix" "$folders" "$manifest" "$obsolete"
}

# init_vscode_web: config + extensions (IDE_PORT, IDE_AUTH, IDE_PASSWORD_FILE).
init_vscode_web() {
  command -v "$CODE_SERVER_BIN" >/dev/null || die "code-server not found in the image (needed for ide.type vs_code_web)"
  local auth=${IDE_AUTH:-none}
  if [ "$auth" = password ]; then
    if [ -z "${IDE_PASSWORD_FILE:-}" ] || [ ! -s "$IDE_PASSWORD_FILE" ]; then
      die "IDE_AUTH=password needs a non-empty IDE_PASSWORD_FILE (ide.passwordSecret)"
    fi
  fi
  code_server_config "${IDE_PORT:?IDE_PORT is required}" "$auth"
  local data
  code_server_data_dir data
  [ -d "$data" ] || mkdir -p "$data"
  if [ -n "${IDE_EXTENSIONS:-}" ] && [ "${GITSPACE_VOLUME_STATE:-ok}" != ok ]; then
    log_warn "extensions: not installed now, HOME is ${GITSPACE_VOLUME_STATE}; installed ones still load"
  elif [ -n "${IDE_EXTENSIONS:-}" ]; then
    code_server_extensions
  fi
}

# code_server_run FOLDER: code-server in the foreground (exec). With password
# auth the password reaches code-server in its own environment only ($PASSWORD,
# read from the mounted Secret): never in argv, a log or a file on the volume.
code_server_run() {
  local folder=$1 pw='' qf
  if [ "${IDE_AUTH:-none}" = password ]; then pw=$(cat "$IDE_PASSWORD_FILE"); fi
  qv qf "$folder"
  log_info "code-server on 0.0.0.0:$IDE_PORT, folder $qf"
  local cfg data ext
  code_server_config_dir cfg
  code_server_data_dir data
  code_server_extensions_dir ext
  local args=(--config "$cfg/config.yaml"
    --user-data-dir "$data"
    --extensions-dir "$ext"
    --disable-telemetry --disable-update-check
    # As Docker Gitspace: the user's own repository opens with no trust prompt.
    --disable-workspace-trust "$folder")
  if [ -n "$pw" ]; then
    PASSWORD=$pw exec "$CODE_SERVER_BIN" "${args[@]}"
  else
    # This (sub)shell is replaced: unset is what `env -u` did, without its exec.
    unset PASSWORD
    exec "$CODE_SERVER_BIN" "${args[@]}"
  fi
}

# init_vscode_desktop REPO_DIR: extension recommendations for the desktop
# client (only when the repo has no .vscode/extensions.json of its own).
init_vscode_desktop() {
  local repo=$1 file list='' e wanted
  mkdir -p "$HOME/.vscode-server"
  if [ -z "${IDE_EXTENSIONS:-}" ] || [ ! -d "$repo" ]; then return 0; fi
  wanted=$(ide_extensions)
  file="$repo/.vscode/extensions.json"
  [ -e "$file" ] && return 0
  if [ "${GITSPACE_VOLUME_STATE:-ok}" != ok ]; then
    log_warn "extension recommendations: not written now, HOME is $GITSPACE_VOLUME_STATE; the next start with free space writes them"
    return 0
  fi
  while IFS= read -r e; do
    [ -n "$e" ] || continue
    [[ "$e" == /* ]] && continue
    list+="${list:+, }\"${e%@*}\""
  done <<<"$wanted"
  mkdir -p "$repo/.vscode"
  printf '{"recommendations": [%s]}\n' "$list" | write_file_atomic "$file" 0644
  log_info "wrote extension recommendations to $(q "$file")"
}

if ! _is_sourced; then
  case "${1:-}" in
    web) init_vscode_web ;;
    desktop)
      [ -n "${REPO_NAME:-}" ] || die "REPO_NAME is required for vscode/init-vscode.sh desktop"
      validate_repo_name "$REPO_NAME"
      init_vscode_desktop "$HOME/$REPO_NAME"
      ;;
    *) die "usage: vscode/init-vscode.sh web|desktop" ;;
  esac
fi
