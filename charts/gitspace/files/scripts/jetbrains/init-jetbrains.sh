#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# jetbrains/init-jetbrains.sh IDE URL
# JetBrains Gateway backend, as Docker Gitspace installs it: the IDE's
# tar.gz from URL unpacked into ~/.cache/JetBrains/RemoteDev/dist/IDE (once:
# HOME is the volume), the plugins of $JETBRAINS_PLUGINS installed into it,
# then `remote-dev-server.sh run ~/REPO --ssh-link-user USER`; the client
# reaches it over SSH (ssh/sshd.sh).
set -euo pipefail
# shellcheck source=../lib.sh
[ -n "${_GITSPACE_LIB_LOADED:-}" ] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # loaded already: no dirname fork

JETBRAINS_IDES="intellij goland pycharm webstorm clion phpstorm rubymine rider"

# jetbrains_dist_dir IDE: where the backend of IDE is unpacked.
jetbrains_dist_dir() { printf '%s/.cache/JetBrains/RemoteDev/dist/%s\n' "$HOME" "$1"; }

# _download URL FILE: curl, else wget; https/http only.
_download() {
  if command -v curl >/dev/null; then
    curl -fsSL --retry 3 --proto '=https,http' -o "$2" -- "$1"
  elif command -v wget >/dev/null; then
    wget -q -O "$2" -- "$1"
  else
    die "neither curl nor wget in the image: cannot download the JetBrains backend"
  fi
}

# install_jetbrains_backend IDE URL: download and unpack into a temp dir next
# to the final one, check it has bin/remote-dev-server.sh, rename into place.
# A second run finds it and does nothing; a killed run leaves only a temp dir
# that the next run removes.
install_jetbrains_backend() {
  local ide=$1 url=$2 dist tmp top
  [[ " $JETBRAINS_IDES " == *" $ide "* ]] || die "IDE_TYPE: $(q "$ide") is not a JetBrains IDE ($JETBRAINS_IDES)"
  dist=$(jetbrains_dist_dir "$ide")
  if [ -x "$dist/bin/remote-dev-server.sh" ]; then
    log_info "JetBrains $ide backend already in $(q "$dist")"
    return 0
  fi
  [ -n "$url" ] || die "JETBRAINS_DOWNLOAD_URL is empty and no backend is in $(q "$dist") (set ide.jetbrains.downloadUrl)"
  [[ "$url" =~ ^https?://[^[:space:][:cntrl:]\'\"\`\$\;\|\&\<\>\\]+$ ]] ||
    die "JETBRAINS_DOWNLOAD_URL: $(q "$url") must be an http(s) URL without spaces or shell characters"
  mkdir -p "$(dirname "$dist")"
  find "$(dirname "$dist")" -mindepth 1 -maxdepth 1 -name ".$ide.*" -exec rm -rf {} +
  tmp=$(mktemp -d "$(dirname "$dist")/.$ide.XXXXXX")
  log_info "downloading the JetBrains $ide backend from $(q "$url")"
  _download "$url" "$tmp/backend.tar.gz" || die "download of $(q "$url") failed"
  mkdir "$tmp/x"
  tar -xzf "$tmp/backend.tar.gz" -C "$tmp/x" --no-same-owner || die "unpacking $(q "$url") failed (not a tar.gz?)"
  top="$tmp/x"
  # Release tarballs have one top folder (idea-IU-243.x/): strip it.
  if [ ! -d "$top/bin" ] && [ "$(find "$top" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1 ]; then
    top=$(find "$top" -mindepth 1 -maxdepth 1 -type d)
  fi
  [ -f "$top/bin/remote-dev-server.sh" ] || die "$(q "$url") has no bin/remote-dev-server.sh: not a JetBrains IDE backend"
  chmod +x "$top/bin/remote-dev-server.sh"
  mv -T "$top" "$dist"
  rm -rf "$tmp"
  log_info "JetBrains $ide backend unpacked into $(q "$dist")"
}

# jetbrains_plugins: $JETBRAINS_PLUGINS (comma/space separated plugin ids,
# customizations.jetbrains.plugins), validated, one per line.
jetbrains_plugins() {
  local p list=()
  # read -a, not an unquoted expansion: no globbing of user input.
  IFS=$', \t\n' read -r -a list <<<"${JETBRAINS_PLUGINS:-}" || true
  for p in "${list[@]}"; do
    [[ "$p" =~ ^[A-Za-z0-9][A-Za-z0-9._:-]*$ ]] || die "JETBRAINS_PLUGINS: $(q "$p") is not a JetBrains plugin id (e.g. org.jetbrains.plugins.go)"
    printf '%s\n' "$p"
  done
}

# install_jetbrains_plugins IDE REPO_DIR: customizations.jetbrains.plugins
# into the backend, as Docker Gitspace does before it runs the IDE:
# `remote-dev-server.sh installPlugins REPO_DIR ID...`. Done again only when
# the list changes (the list that was installed is kept in ~/.gitspace); a
# failure (no plugin repository reachable) is logged and the IDE starts anyway.
install_jetbrains_plugins() {
  local ide=$1 repo=$2 dist wanted marker ids=()
  wanted=$(jetbrains_plugins)
  [ -n "$wanted" ] || return 0
  dist=$(jetbrains_dist_dir "$ide")
  marker="$(gitspace_state_dir "$HOME")/jetbrains-plugins-$ide"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ]; then
    log_info "JetBrains plugins already installed: $(printf '%s' "$wanted" | tr '\n' ' ')"
    return 0
  fi
  mapfile -t ids <<<"$wanted"
  log_info "installing JetBrains plugins: ${ids[*]}"
  if "$dist/bin/remote-dev-server.sh" installPlugins "$repo" "${ids[@]}" >&2; then
    mkdir -p "$(dirname "$marker")"
    printf '%s\n' "$wanted" | write_file_atomic "$marker" 0644
  else
    log_warn "JetBrains plugins could not be installed (exit code $?); the IDE starts without them"
  fi
}

# jetbrains_run IDE REPO_DIR USER: the backend in the foreground (exec).
jetbrains_run() {
  local dist
  dist=$(jetbrains_dist_dir "$1")
  log_info "starting the JetBrains $1 backend for $(q "$2") (the Gateway link appears in this log)"
  exec "$dist/bin/remote-dev-server.sh" run "$2" --ssh-link-user "$3"
}

if ! _is_sourced; then
  [ $# -eq 2 ] || die "usage: jetbrains/init-jetbrains.sh IDE URL"
  install_jetbrains_backend "$1" "$2"
fi
