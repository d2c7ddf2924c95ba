#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# seed-home.sh SRC DST UID GID
# Docker's copy-up of a new named volume, for Kubernetes: copy the image's
# HOME (SRC) into the volume (DST) when the volume is empty, keeping owner
# and mode (cp -a), the HOME directory's own owner and mode included.
# Runs as root. Never touches a volume that holds data; a failed copy is an error.
#
# State on the volume (DST/.gitspace/):
#   seeding  written BEFORE the copy: a crash half-way leaves it, and the next
#            run copies again, overwriting, instead of taking the partly filled
#            volume for user data. Overwriting is safe then: the gitspace
#            container only starts after prepare succeeded, so nothing but the
#            interrupted copy has written there, and a file the kill cut short
#            must not be kept.
#   seeded   written LAST: what was seeded; its presence makes a re-run a no-op.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# volume_is_empty DIR: nothing but lost+found (what mkfs leaves).
volume_is_empty() {
  [ -z "$(find "$1" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit)" ]
}

# fsgroup_bits DIR: "2070" when DIR looks managed by Kubernetes fsGroup
# (setgid on the root), else "0". Kubelet's fsGroupChangePolicy OnRootMismatch
# skips its recursive walk only while the root keeps gid, setgid and group
# rwx, so we must keep those bits.
fsgroup_bits() {
  local mode
  mode=$(stat -c '%a' "$1")
  if [ "${#mode}" -eq 4 ] && (((8#$mode & 02000) != 0)); then
    echo 2070
  else
    echo 0
  fi
}

# _chown OWNER PATH...: as root only. In security.mode restricted, seeding
# runs as the user: cp keeps modes, and everything is the user's anyway.
_chown() {
  if [ "$(id -u)" = 0 ]; then chown -h "$@"; fi
}

# seed_home SRC DST UID GID: see the header. UID:GID own DST/.gitspace.
seed_home() {
  [ $# -eq 4 ] || die "usage: seed_home SRC DST UID GID"
  local src=$1 dst=$2 uid=$3 gid=$4
  # Names the step in write_file_atomic's error line (a full volume).
  local GS_STEP="seed HOME"
  validate_abs_path "$src" SRC
  validate_abs_path "$dst" DST
  validate_id "$uid" UID
  validate_id "$gid" GID
  [ -d "$dst" ] || die "DST: volume $(q "$dst") does not exist"
  local state="$dst/.gitspace"
  if [ -f "$state/seeded" ]; then
    log_info "HOME already seeded ($(head -n 1 "$state/seeded")): nothing to do"
    return 0
  fi
  if [ ! -f "$state/seeding" ] && ! volume_is_empty "$dst"; then
    # Docker copies only into an empty volume; user data always wins.
    log_info "volume $(q "$dst") is not empty: not seeding (Docker copy-up does not touch a non-empty volume)"
    mkdir -p "$state" || die "seed HOME: creating $(q "$state") failed: $(space_note "$dst")"
    printf 'skipped: volume not empty at first start\n' | write_file_atomic "$state/seeded" 0644
    _chown "$uid:$gid" "$state" "$state/seeded"
    return 0
  fi
  local fsg
  fsg=$(fsgroup_bits "$dst")
  # A volume with no room at all fails here, before anything is copied.
  mkdir -p "$state" || die "seed HOME: creating $(q "$state") failed: $(space_note "$dst")"
  local no_clobber=-n
  if [ -f "$state/seeding" ]; then
    log_warn "a previous seeding was interrupted: copying again over what it left (a file it cut short is replaced)"
    no_clobber=
  else
    printf 'from %s started %s\n' "$src" "$(_gs_ts)" | write_file_atomic "$state/seeding" 0644
  fi
  if [ -d "$src" ]; then
    log_info "seeding $(q "$dst") from the image's $(q "$src") (cp -a)"
    # -n on a first copy: the volume is empty but for lost+found. With
    # coreutils 9.1 (bookworm) and busybox, a skipped file is not an error.
    if [ "$(id -u)" = 0 ]; then
      cp -a $no_clobber "$src/." "$dst/" || die "seed HOME: copying $(q "$src") into the volume failed ($(du -sb "$src" | cut -f1) bytes to copy): $(space_note "$dst")"
    else
      # Unprivileged (security.mode restricted): the root of the volume is
      # not ours, so its times/owner cannot be copied; copy its entries.
      find "$src" -mindepth 1 -maxdepth 1 -exec cp -a $no_clobber {} "$dst/" \; ||
        die "seed HOME: copying $(q "$src") into the volume failed ($(du -sb "$src" | cut -f1) bytes to copy): $(space_note "$dst")"
    fi
    # The volume root takes HOME's own owner and mode, as Docker's copy-up
    # does, plus the fsGroup bits when Kubernetes manages the volume's group.
    local owner mode
    owner=$(stat -c '%u:%g' "$src")
    mode=$(stat -c '%a' "$src")
    _chown "$owner" "$dst"
    if [ "$(id -u)" = 0 ]; then chmod "$(printf '%o' $((8#$mode | 8#$fsg)))" "$dst"; fi
  else
    log_info "the image has no $(q "$src"): volume left empty (nothing to seed)"
    _chown "$uid:$gid" "$dst"
    if [ "$(id -u)" = 0 ]; then chmod "$(printf '%o' $((8#755 | 8#$fsg)))" "$dst"; fi
  fi
  {
    printf 'seeded from %s at %s\n' "$src" "$(_gs_ts)"
    printf 'image: %s\n' "${GITSPACE_IMAGE:-unknown}"
    [ -d "$src" ] && (cd "$src" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
  } | write_file_atomic "$state/seeded" 0644
  rm -f "$state/seeding"
  _chown "$uid:$gid" "$state" "$state/seeded"
  log_info "HOME seeded"
}

if ! _is_sourced; then
  seed_home "$@"
fi
