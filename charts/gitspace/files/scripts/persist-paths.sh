#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# persist-paths.sh seed VOLUME UID GID [PATH...]
# The directories outside HOME the user can write (persistence.paths: Go's
# /go, npm's global prefix, ...) survive a new pod as they survive a Docker
# stop/start: each lives on the gitspace volume, in the gitspace's own area
# (VOLUME/.gitspace/persist/<path without the leading />, mounted by the chart
# with a subPath), seeded from the image at first start like HOME (Docker
# copy-up: owner, group, mode and setgid kept).
#
# Per path, state in VOLUME/.gitspace/persist.state/<sha256 of the path>:
#   .state     "copying" before the copy (a kill leaves it: the next run copies
#              again over the staging folder and renames), "seeded" or
#              "skipped" after: a restart reads this one file, never walks.
#   .manifest  what the image put there (manifest_write), for the refresh of
#              an image upgrade (refresh.sh).
# The copy goes to a staging folder beside the target, renamed into place
# when complete: a full volume or a kill never leaves a half tree at the path.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Paths never persisted: the system's and the kernel's, and the gitspace's own.
PERSIST_SYSTEM_PATHS=(/ /bin /boot /dev /etc /lib /lib32 /lib64 /libx32 /proc /run /sbin /sys /tmp /usr /var /var/tmp /gitspace /usr/local/gitspace)

# persist_validate_path PATH HOME: one clear error per wrong entry.
persist_validate_path() {
  local p=$1 home=$2 s
  validate_abs_path "$p" "persistence.paths"
  [[ "$p" != */ ]] || die "persistence.paths: $(q "$p") ends with '/': write it without"
  [[ "$p" != *//* && "/$p/" != *"/./"* ]] || die "persistence.paths: $(q "$p") is not a normal path (no '//' or '.')"
  for s in "${PERSIST_SYSTEM_PATHS[@]}"; do
    [ "$p" != "$s" ] || die "persistence.paths: $(q "$p") is a system path, never persisted: remove it"
  done
  case "$p" in
    /proc/* | /sys/* | /dev/* | /run/* | /tmp/* | /gitspace/*) die "persistence.paths: $(q "$p") is under a system path, never persisted: remove it" ;;
  esac
  case "$p/" in
    "$home"/*) die "persistence.paths: $(q "$p") is in HOME ($(q "$home")), which the volume already holds: remove it" ;;
  esac
  case "$home/" in
    "$p"/*) die "persistence.paths: $(q "$p") holds HOME ($(q "$home")): remove it" ;;
  esac
}

# persist_key PATH: the state file name of PATH (any character is safe in it).
persist_key() { printf '%s' "$1" | sha256sum | cut -c1-16; }

# _p_chown OWNER PATH...: as root only (restricted mode: the user copies).
_p_chown() { if [ "$(id -u)" = 0 ]; then chown -h "$@"; fi; }

# manifest_write SRC OUT: what SRC holds, for the refresh of an image upgrade
# (refresh.sh): per entry five fields, each ended by a NUL (a name may hold
# any other byte): type (f d l ...), uid:gid, octal mode, sha256 of a file's
# content or a link's target ("-" for others), path relative to SRC.
# `tr '\0' '\t' <OUT` reads it. Staged and renamed.
manifest_write() {
  local src=$1 out=$2
  (
    cd "$src"
    local type owner mode link rel hash line
    declare -A sums=()
    # One sha256sum per batch of files, not per file (-z: names as they are).
    while IFS= read -r -d '' line; do
      sums["${line#* ?}"]=${line%% *}
    done < <(find . -mindepth 1 -type f -print0 | xargs -0 -r sha256sum -z)
    while IFS= read -r -d '' type && IFS= read -r -d '' owner && IFS= read -r -d '' mode &&
      IFS= read -r -d '' link && IFS= read -r -d '' rel; do
      case "$type" in
        f) hash=${sums["./$rel"]:--} ;;
        l) hash=$link ;;
        *) hash=- ;;
      esac
      printf '%s\0%s\0%s\0%s\0%s\0' "$type" "$owner" "$mode" "$hash" "$rel"
    done < <(find . -mindepth 1 -printf '%y\0%U:%G\0%m\0%l\0%P\0')
  ) >"$out.tmp"
  mv -f "$out.tmp" "$out"
}

# persist_copy SRC STAGE UID GID: SRC's tree into STAGE (overwriting what a
# killed run left), STAGE taking SRC's own owner and mode. No SRC in the
# image: an empty folder of the user's.
persist_copy() {
  local src=$1 stage=$2 uid=$3 gid=$4 owner mode
  mkdir -p "$stage"
  if [ -d "$src" ]; then
    cp -a "$src/." "$stage/"
    owner=$(stat -c '%u:%g' "$src")
    mode=$(stat -c '%a' "$src")
  else
    owner=$uid:$gid
    mode=755
  fi
  # chown before chmod: chown clears setgid, which the image's mode may have.
  _p_chown "$owner" "$stage"
  chmod "$mode" "$stage" 2>/dev/null || [ "$(id -u)" != 0 ]
}

# persist_seed_path VOLUME PATH UID GID: see the header.
persist_seed_path() {
  local vol=$1 p=$2 uid=$3 gid=$4
  local area="$vol/.gitspace/persist" sdir="$vol/.gitspace/persist.state" key final stage st=''
  # A write that fails names the path (write_file_atomic).
  local GS_STEP
  GS_STEP="persisted path $(q "$p")"
  key=$(persist_key "$p")
  final="$area${p}"
  stage="$(dirname "$final")/.$(basename "$final").gitspace-seeding"
  [ ! -f "$sdir/$key.state" ] || st=$(head -n 1 "$sdir/$key.state")
  case "$st" in
    seeded* | skipped*)
      return 0
      ;;
    copying*) ;;
    *)
      if [ -d "$final" ] && [ -n "$(find "$final" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
        # Data there that no seeding of ours wrote: user data always wins.
        log_warn "persisted path $(q "$p"): $(q "${final#"$vol"/}") already holds data: not seeded from the image"
        printf 'skipped: not empty at first seed\n%s\n' "$p" | write_file_atomic "$sdir/$key.state" 0644
        return 0
      fi
      mkdir -p "$sdir"
      printf 'copying\n%s\nimage %s\n' "$p" "${GITSPACE_IMAGE:-unknown}" | write_file_atomic "$sdir/$key.state" 0644
      ;;
  esac
  if [ "$st" = copying ] && [ ! -e "$stage" ] && [ -d "$final" ] &&
    [ -n "$(find "$final" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
    log_info "persisted path $(q "$p"): the copy was complete before a stop: marking it seeded"
  else
    [ "$st" != copying ] || log_warn "persisted path $(q "$p"): a previous seeding was interrupted: copying again over what it left"
    log_info "seeding persisted path $(q "$p") from the image into $(q "${final#"$vol"/}") (cp -a)"
    mkdir -p "$(dirname "$final")"
    # A failed copy (a full volume) is removed: its blocks are the user's; the state stays
    # "copying", so the next start copies again.
    if ! persist_copy "$p" "$stage" "$uid" "$gid"; then
      rm -rf "$stage"
      die "persisted path $(q "$p"): copying it into the volume failed: $(space_note "$vol")"
    fi
    # The manifest before the rename: once the path is in place, it is described.
    if [ -d "$p" ]; then manifest_write "$p" "$sdir/$key.manifest"; fi
    # An empty folder there (kubelet makes a missing subPath) gives way.
    [ ! -d "$final" ] || rmdir "$final" 2>/dev/null || die "persisted path $(q "$p"): $(q "$final") appeared with data during the seed; remove $(q "$stage") or the data, then restart"
    mv -T "$stage" "$final"
  fi
  printf 'seeded\n%s\nimage %s\nat %s\n' "$p" "${GITSPACE_IMAGE:-unknown}" "$(_gs_ts)" | write_file_atomic "$sdir/$key.state" 0644
  log_info "persisted path $(q "$p") seeded"
}

# persist_seed VOLUME UID GID PATH...: every path; one stat per seeded path.
persist_seed() {
  [ $# -ge 3 ] || die "usage: persist-paths.sh seed VOLUME UID GID [PATH...]"
  local vol=$1 uid=$2 gid=$3 p
  shift 3
  validate_abs_path "$vol" VOLUME
  validate_id "$uid" UID
  validate_id "$gid" GID
  [ $# -gt 0 ] || return 0
  for p in "$@"; do persist_validate_path "$p" "${HOME:-/nonexistent}"; done
  mkdir -p "$vol/.gitspace/persist" "$vol/.gitspace/persist.state"
  for p in "$@"; do persist_seed_path "$vol" "$p" "$uid" "$gid"; done
}

# The reserve: a file of the gitspace's own (VOLUME/.gitspace/reserve) that
# stands in for the few blocks the mount point of a persisted path needs. The
# kubelet makes a missing subPath folder itself, and on a volume with no
# block free that mkdir fails: the gitspace container is never created
# (CreateContainerConfigError), the user is locked out. So prepare makes the
# mount points itself, and on a full volume frees the reserve to do it.
PERSIST_RESERVE_BYTES=262144

# persist_reserve VOLUME UID GID: the reserve written when the volume has room
# (16 MiB free or more, low_space_bytes), staged and renamed; never an error.
# The user's, like everything in their HOME (prepare runs as root).
persist_reserve() {
  local r="$1/.gitspace/reserve" free
  [ ! -f "$r" ] || return 0
  free=$(free_bytes "$1" 2>/dev/null) || return 0
  ((free >= $(low_space_bytes))) || return 0
  if head -c "$PERSIST_RESERVE_BYTES" /dev/zero >"$r.tmp" 2>/dev/null && _p_chown "$2:$3" "$r.tmp" && mv -f "$r.tmp" "$r"; then
    log_info "kept $PERSIST_RESERVE_BYTES bytes in $(q ".gitspace/reserve") for the mount points of persisted paths on a full volume"
  else
    rm -f "$r.tmp"
  fi
}

# persist_mount_points VOLUME PATH...: the folder each persisted path is
# mounted from exists (empty while its seeding waits: the next start with free
# space seeds it). On a full volume the reserve is freed to make them; without
# one, the error names the path, the free space and the way out.
persist_mount_points() {
  local vol=$1 p d r="$1/.gitspace/reserve"
  shift
  for p in "$@"; do
    d="$vol/.gitspace/persist$p"
    [ ! -d "$d" ] || continue
    mkdir -p "$d" 2>/dev/null && continue
    if [ -f "$r" ]; then
      local free
      free=$(free_bytes "$vol") || free='?'
      rm -f "$r"
      log_warn "persisted path $(q "$p"): no room for its mount point ($free bytes free): freed the gitspace's reserve ($PERSIST_RESERVE_BYTES bytes, .gitspace/reserve) for it; it is empty until a start with free space seeds it"
    fi
    mkdir -p "$d" || die "persisted path $(q "$p"): making its mount point $(q "${d#"$vol"/}") failed: $(space_note "$vol"); until then the gitspace cannot start: free space with gitspace-chart rescue"
  done
}

# persist_mount_points_env VOLUME: persist_mount_points for GITSPACE_PERSIST_PATHS.
persist_mount_points_env() {
  local paths=()
  [ -z "${GITSPACE_PERSIST_PATHS:-}" ] || mapfile -t paths < <(printf '%s\n' "$GITSPACE_PERSIST_PATHS" | sed '/^$/d')
  [ ${#paths[@]} -eq 0 ] || persist_mount_points "$1" "${paths[@]}"
}

# persist_seed_env VOLUME UID GID: the paths from GITSPACE_PERSIST_PATHS (one
# per line; the chart's persistence.paths).
persist_seed_env() {
  local paths=()
  [ -z "${GITSPACE_PERSIST_PATHS:-}" ] || mapfile -t paths < <(printf '%s\n' "$GITSPACE_PERSIST_PATHS" | sed '/^$/d')
  persist_seed "$@" "${paths[@]}"
}

if ! _is_sourced; then
  case "${1:-}" in
    seed)
      shift
      persist_seed "$@"
      ;;
    manifest)
      [ $# -eq 3 ] || die "usage: persist-paths.sh manifest SRC OUT"
      manifest_write "$2" "$3"
      ;;
    *) die "usage: persist-paths.sh seed VOLUME UID GID [PATH...] | manifest SRC OUT" ;;
  esac
fi
