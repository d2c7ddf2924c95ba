#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# refresh.sh run VOLUME UID GID
# The image-upgrade refresh (docs/persistence.md): at the first start with
# another image (GITSPACE_IMAGE differs from VOLUME/.gitspace/image), what
# the old image put in HOME and in each persisted path (their manifests, from
# seeding or the last refresh) is compared with the new image and with what
# is on the volume now, entry by entry over the image's files only (never a
# walk of the user's):
#   image changed it, the user did not      -> replaced by the new image's
#   image changed it, the user did too      -> kept; the image's beside it
#   the user added it                       -> never looked at
#   new in the image, the user has no such  -> copied in
#   new in the image, the user has one      -> kept; the image's beside it
#   the image dropped it, user did not edit -> moved aside
#   the image dropped it, the user edited   -> kept
# Type (file, folder, link), owner and mode count as content. "Beside" and
# "aside" are VOLUME/.gitspace/upgrades/<UTC stamp>/<tree>/<path>; the
# folder's REPORT.txt lists every decision (also .gitspace/upgrade-report).
#
# Crash-safe: the whole plan is computed first, from the volume as it was,
# and written (renamed into place) to VOLUME/.gitspace/refresh/ before
# anything changes; each step is idempotent and the last one done is
# recorded, so a kill anywhere resumes at the next start with the same plan.
# GITSPACE_REFRESH_ON_UPGRADE=false: the volume keeps the old image's files
# (Docker's behaviour); the new image is recorded, nothing else changes.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=persist-paths.sh
source "$(dirname "${BASH_SOURCE[0]}")/persist-paths.sh"

# Entries of the old manifest (O*), the new image (N*), the volume now (C*):
# type, owner, mode, hash by path (read through namerefs in _same).
# shellcheck disable=SC2034
declare -A OT OO OM OH NT NO NM NH CT CO CM CH

# _mf_load FILE T O M H: a manifest (manifest_write) into four maps by path.
_mf_load() {
  local -n _t=$2 _o=$3 _m=$4 _h=$5
  local t o m h p
  while IFS= read -r -d '' t && IFS= read -r -d '' o && IFS= read -r -d '' m &&
    IFS= read -r -d '' h && IFS= read -r -d '' p; do
    _t["$p"]=$t _o["$p"]=$o _m["$p"]=$m _h["$p"]=$h
  done <"$1"
}

# _cur_load DST PATH...: the volume's entries at these paths only (batched stat, sha256sum).
# shellcheck disable=SC2034 # C* are read through namerefs in _same
_cur_load() {
  local dst=$1 f o m n line
  shift
  CT=() CO=() CM=() CH=()
  [ $# -gt 0 ] || return 0
  while IFS= read -r -d '' f && IFS= read -r -d '' o && IFS= read -r -d '' m && IFS= read -r -d '' n; do
    case "$f" in
      regular*) CT[$n]=f ;;
      directory) CT[$n]=d ;;
      'symbolic link') CT[$n]=l ;;
      fifo) CT[$n]=p ;;
      socket) CT[$n]=s ;;
      character*) CT[$n]=c ;;
      block*) CT[$n]=b ;;
      *) CT[$n]=U ;;
    esac
    CO[$n]=$o CM[$n]=$m CH[$n]=-
    [ "${CT[$n]}" != l ] || CH[$n]=$(cd "$dst" && readlink -- "$n")
  # stat fails for the paths the volume does not have (the user removed them, or they are new):
  # those are simply absent from C*, so its status is not an error here.
  done < <(if cd "$dst"; then printf '%s\0' "$@" | { xargs -0 -r stat --printf '%F\0%u:%g\0%a\0%n\0' -- 2>/dev/null || true; }; fi)
  while IFS= read -r -d '' line; do
    CH["${line#* ?}"]=${line%% *}
  done < <(if cd "$dst"; then for n in "$@"; do [ "${CT[$n]:-}" != f ] || printf '%s\0' "$n"; done | xargs -0 -r sha256sum -z --; fi)
}

# _same A B PATH: entries A and B (prefixes O N C) at PATH are the same:
# type, mode, content, and owner (not in HOME, which prepare gives the user).
_same() {
  local -n _at=${1}T _ao=${1}O _am=${1}M _ah=${1}H _bt=${2}T _bo=${2}O _bm=${2}M _bh=${2}H
  local p=$3
  [ -n "${_at[$p]+x}" ] && [ -n "${_bt[$p]+x}" ] || return 1
  [ "${_at[$p]}" = "${_bt[$p]}" ] && [ "${_am[$p]}" = "${_bm[$p]}" ] && [ "${_ah[$p]}" = "${_bh[$p]}" ] &&
    { [ "$_HOME_TREE" = 1 ] || [ "${_ao[$p]}" = "${_bo[$p]}" ]; }
}

# _plan_tree I: the steps for tree I (a line of trees) appended to the plan, the report lines to the report.
_plan_tree() {
  local i=$1 name src dst old new home p par
  IFS=$'\t' read -r name src dst old new home <<<"$(sed -n "$((i + 1))p" "$RDIR/trees")"
  _HOME_TREE=$home
  # shellcheck disable=SC2034
  OT=() OO=() OM=() OH=() NT=() NO=() NM=() NH=()
  [ ! -f "$old" ] || _mf_load "$old" OT OO OM OH
  _mf_load "$new" NT NO NM NH
  local -a all
  # HOME's .gitspace is the gitspace's own state, never the image's.
  mapfile -d '' -t all < <({ for p in "${!OT[@]}" "${!NT[@]}"; do
    [ "$home" = 1 ] && [[ "$p" == .gitspace || "$p" == .gitspace/* ]] || printf '%s\0' "$p"
  done; } | LC_ALL=C sort -zu)
  _cur_load "$dst" "${all[@]}"
  local -A gone=() made=()
  _step() { printf '%s\0%s\0%s\0' "$1" "$i" "$2" >>"$RDIR/plan.tmp"; }
  _say() { printf '%s\t%s\t%s\n' "$1" "$name" "$2" >>"$RDIR/report.tmp"; }
  # Pass 1, children first: what the image dropped or turned into another type.
  for ((k = ${#all[@]} - 1; k >= 0; k--)); do
    p=${all[$k]}
    [ -n "${OT[$p]+x}" ] || continue
    [ -z "${NT[$p]+x}" ] || [ "${NT[$p]}" != "${OT[$p]}" ] || continue
    _parent_ok "$p" || continue
    if [ -z "${CT[$p]+x}" ]; then
      [ -n "${NT[$p]+x}" ] || _say gone "$p: you removed it, and the new image no longer has it"
      continue
    fi
    if ! _same C O "$p"; then
      [ -n "${NT[$p]+x}" ] || _say kept "$p: the new image no longer has it; yours (changed) is kept"
      continue
    fi
    if [ "${CT[$p]}" = d ]; then
      if _dir_only_gone "$dst" "$p"; then
        _step rmdir "$p"
        gone[$p]=1
      else
        _say kept "$p: the folder holds files of yours; kept"
      fi
    else
      _step aside "$p"
      gone[$p]=1
      [ -n "${NT[$p]+x}" ] || _say aside "$p: the new image no longer has it; moved to $ASIDE_REL/$name/$p"
    fi
  done
  # Pass 2, parents first: what the new image has.
  for p in "${all[@]}"; do
    [ -n "${NT[$p]+x}" ] || continue
    par=${p%/*}
    [ "$par" != "$p" ] || par=
    if [ -n "$par" ] && ! { [ -n "${made[$par]:-}" ] || { [ "${CT[$par]:-}" = d ] && [ -z "${gone[$par]:-}" ]; }; }; then
      _step beside "$p"
      _say beside "$p: where the new image has it, yours is not a folder; the image's is in $ASIDE_REL/$name/$p"
      continue
    fi
    local have=1
    { [ -n "${CT[$p]+x}" ] && [ -z "${gone[$p]:-}" ]; } || have=0
    if [ -n "${OT[$p]+x}" ]; then
      _same O N "$p" && continue # the image did not change it: yours, whatever it is
      if [ "$have" = 1 ]; then
        if _same C N "$p"; then
          continue
        elif _same C O "$p" && [ "${CT[$p]}" = d ] && [ "${NT[$p]}" = d ]; then
          _step meta "$p"
          _say updated "$p: owner/mode as in the new image"
        elif _same C O "$p" && [ "${CT[$p]}" != d ]; then
          _step copy "$p"
          _say updated "$p"
        else
          _step beside "$p"
          _say conflict "$p: you changed it and so did the new image; yours is kept, the image's is in $ASIDE_REL/$name/$p"
        fi
      elif [ -n "${gone[$p]:-}" ]; then
        _step copy "$p"
        [ "${NT[$p]}" != d ] || made[$p]=1
        if [ "${CT[$p]}" = d ]; then
          _say updated "$p (now a $(_kind "${NT[$p]}"))"
        else
          _say updated "$p (now a $(_kind "${NT[$p]}"); the old $(_kind "${CT[$p]}") is in $ASIDE_REL/$name/$p)"
        fi
      else
        _step beside "$p"
        _say conflict "$p: you removed it and the new image changed it; the image's is in $ASIDE_REL/$name/$p"
      fi
    else
      if [ "$have" = 0 ]; then
        _step copy "$p"
        [ "${NT[$p]}" != d ] || made[$p]=1
        _say added "$p"
      elif ! _same C N "$p"; then
        [ "${CT[$p]}" != d ] || [ "${NT[$p]}" != d ] || continue # both folders: yours, its files compared one by one
        _step beside "$p"
        _say conflict "$p: new in the image, but you have your own; yours is kept, the image's is in $ASIDE_REL/$name/$p"
      fi
    fi
  done
}

# _kind TYPE: find's type letter in words.
_kind() {
  case "$1" in
    f) echo file ;;
    d) echo folder ;;
    l) echo link ;;
    *) echo "special file ($1)" ;;
  esac
}

# _parent_ok PATH: every folder above PATH on the volume is a real folder (never follow a link the user made).
_parent_ok() {
  local p=$1
  while [[ "$p" == */* ]]; do
    p=${p%/*}
    [ "${CT[$p]:-}" = d ] || return 1
  done
}

# _dir_only_gone DST PATH: the folder holds nothing but entries pass 1 already moves away.
_dir_only_gone() {
  local e
  while IFS= read -r -d '' e; do
    [ -n "${gone[$2/$e]:-}" ] || return 1
  done < <(find "$1/$2" -mindepth 1 -maxdepth 1 -printf '%P\0')
}

# _own TREE_HOME SRC DST: DST takes SRC's owner (the user's in HOME), then SRC's mode.
_own() {
  if [ "$(id -u)" = 0 ]; then
    if [ "$1" = 1 ]; then chown -h "$R_UID:$R_GID" "$3"; else chown -h "$(stat -c '%u:%g' "$2")" "$3"; fi
  fi
  [ -L "$3" ] || chmod "$(stat -c '%a' "$2")" "$3"
}

# _put TREE_HOME SRC DST: SRC (a file, link or folder entry) at DST, staged and renamed.
_put() {
  local home=$1 src=$2 dst=$3 stage
  [ ! -L "$(dirname "$dst")" ] || die "refresh: $(q "$(dirname "$dst")") became a link: not writing through it"
  if [ -d "$src" ] && [ ! -L "$src" ]; then
    if [ ! -d "$dst" ] || [ -L "$dst" ]; then mkdir "$dst"; fi
    _own "$home" "$src" "$dst"
    return 0
  fi
  stage="$(dirname "$dst")/.$(basename "$dst").gitspace-new"
  rm -rf "$stage"
  # A copy that fails (a full volume) leaves no half file beside the user's, nor its blocks.
  if ! cp -a "$src" "$stage" || ! _own "$home" "$src" "$stage"; then
    rm -rf "$stage"
    die "refresh: copying $(q "$src") to $(q "$dst") failed: $(space_note "$(dirname "$dst")")"
  fi
  mv -Tf "$stage" "$dst"
}

# _run_step N ACTION I PATH: one step of the plan (idempotent).
_run_step() {
  local n=$1 action=$2 i=$3 p=$4 name src dst old new home aside
  IFS=$'\t' read -r name src dst old new home <<<"$(sed -n "$((i + 1))p" "$RDIR/trees")"
  aside="$ASIDE/$name/$p"
  case "$action" in
    copy) _put "$home" "$src/$p" "$dst/$p" ;;
    meta) _own "$home" "$src/$p" "$dst/$p" ;;
    rmdir) [ ! -d "$dst/$p" ] || rmdir "$dst/$p" ;;
    aside)
      if [ -e "$dst/$p" ] || [ -L "$dst/$p" ]; then
        mkdir -p "$(dirname "$aside")"
        mv -T "$dst/$p" "$aside"
      fi
      ;;
    beside)
      mkdir -p "$(dirname "$aside")"
      _put "$home" "$src/$p" "$aside"
      ;;
    *) die "refresh: unknown step $(q "$action") in $(q "$RDIR/plan")" ;;
  esac
  log_info "refresh: $action $(q "$name/$p")"
  printf '%s\n' "$n" | write_file_atomic "$RDIR/progress" 0644
  # Tests: a real SIGKILL of prepare, all its processes, right after step N (bats' and the
  # cluster's crash tests); honoured only with GITSPACE_TEST_HOOKS=1, which the chart never sets.
  if [ "${GITSPACE_TEST_HOOKS:-}" = 1 ] && [ "${GITSPACE_REFRESH_KILL_AFTER:-}" = "$n" ]; then kill -KILL 0; fi
}

# _execute: the plan from the step after the last one done, then the new
# manifests, the report and the image recorded; the journal removed last.
_execute() {
  local done_n=0 n=0 action i p name src dst old new home
  [ ! -f "$RDIR/progress" ] || done_n=$(cat "$RDIR/progress")
  [ "$done_n" = 0 ] || log_info "refresh: resuming after step $done_n"
  while IFS= read -r -d '' action && IFS= read -r -d '' i && IFS= read -r -d '' p; do
    n=$((n + 1))
    [ "$n" -gt "$done_n" ] || continue
    _run_step "$n" "$action" "$i" "$p"
  done <"$RDIR/plan"
  while IFS=$'\t' read -r name src dst old new home; do
    [ ! -f "$new" ] || mv -f "$new" "$old"
  done <"$RDIR/trees"
  mkdir -p "$ASIDE"
  cp "$RDIR/report" "$ASIDE/REPORT.txt"
  write_file_atomic "$VOLUME/.gitspace/upgrade-report" 0644 <"$RDIR/report"
  if [ "$(id -u)" = 0 ]; then
    find "$VOLUME/.gitspace/upgrades" -type d -exec chown "$R_UID:$R_GID" {} +
    chown "$R_UID:$R_GID" "$ASIDE/REPORT.txt" "$VOLUME/.gitspace/upgrade-report"
  fi
  printf '%s\n' "$(cat "$RDIR/image")" | write_file_atomic "$VOLUME/.gitspace/image" 0644
  rm -rf "$RDIR"
  log_info "refresh done: $(grep -vc '^#' "$ASIDE/REPORT.txt" || true) changes in $ASIDE_REL/REPORT.txt (also .gitspace/upgrade-report)"
}

# _trees_write: one line per tree that has a manifest: name, image source,
# volume copy, manifest, new manifest, 1 for HOME.
_trees_write() {
  local p key sdir="$VOLUME/.gitspace/persist.state" n=0
  : >"$RDIR/trees.tmp"
  if [ -f "$VOLUME/.gitspace/home.manifest" ] && [ -d "$HOME" ]; then
    printf 'home\t%s\t%s\t%s\t%s\t1\n' "$HOME" "$VOLUME" "$VOLUME/.gitspace/home.manifest" "$RDIR/0.manifest" >>"$RDIR/trees.tmp"
    n=1
  fi
  while IFS= read -r p; do
    [ -n "$p" ] || continue
    key=$(persist_key "$p")
    if [ ! -f "$sdir/$key.manifest" ] || [ ! -d "$p" ]; then continue; fi
    printf '%s\t%s\t%s\t%s\t%s\t0\n' "${p#/}" "$p" "$VOLUME/.gitspace/persist$p" "$sdir/$key.manifest" "$RDIR/$n.manifest" >>"$RDIR/trees.tmp"
    n=$((n + 1))
  done <<<"${GITSPACE_PERSIST_PATHS:-}"
  mv -f "$RDIR/trees.tmp" "$RDIR/trees"
}

# refresh_run VOLUME UID GID: see the header. One read of .gitspace/image when the image is the same.
refresh_run() {
  [ $# -eq 3 ] || die "usage: refresh.sh run VOLUME UID GID"
  VOLUME=$1 R_UID=$2 R_GID=$3
  validate_abs_path "$VOLUME" VOLUME
  validate_id "$R_UID" UID
  validate_id "$R_GID" GID
  RDIR="$VOLUME/.gitspace/refresh"
  local image=${GITSPACE_IMAGE:-} recorded=''
  [ ! -f "$VOLUME/.gitspace/image" ] || recorded=$(cat "$VOLUME/.gitspace/image")
  if [ -f "$RDIR/plan" ]; then
    ASIDE_REL=".gitspace/upgrades/$(cat "$RDIR/stamp")"
    ASIDE="$VOLUME/$ASIDE_REL"
    log_warn "refresh: a refresh for image $(q "$(cat "$RDIR/image")") was interrupted: finishing it"
    _execute
    recorded=$(cat "$VOLUME/.gitspace/image")
  fi
  [ -n "$image" ] || return 0
  [ "$recorded" != "$image" ] || return 0
  if [ -z "$recorded" ]; then
    mkdir -p "$VOLUME/.gitspace"
    # First start with this script: what the image put in HOME is described now (once).
    if [ ! -f "$VOLUME/.gitspace/home.manifest" ] && [ -d "$HOME" ] && head -n 1 "$VOLUME/.gitspace/seeded" 2>/dev/null | grep -q '^seeded from'; then
      manifest_write "$HOME" "$VOLUME/.gitspace/home.manifest"
    fi
    printf '%s\n' "$image" | write_file_atomic "$VOLUME/.gitspace/image" 0644
    return 0
  fi
  if [ "${GITSPACE_REFRESH_ON_UPGRADE:-true}" = false ]; then
    log_info "image $(q "$recorded") -> $(q "$image"): persistence.refreshOnUpgrade false, the volume keeps the old image's files (as Docker)"
    printf '%s\n' "$image" | write_file_atomic "$VOLUME/.gitspace/image" 0644
    return 0
  fi
  log_info "image $(q "$recorded") -> $(q "$image"): refreshing what the image put in HOME and the persisted paths"
  rm -rf "$RDIR"
  mkdir -p "$RDIR"
  local stamp i=0
  TZ=UTC0 printf -v stamp '%(%Y%m%dT%H%M%SZ)T' -1
  printf '%s\n' "$stamp" >"$RDIR/stamp"
  printf '%s\n' "$image" >"$RDIR/image"
  ASIDE_REL=".gitspace/upgrades/$stamp"
  ASIDE="$VOLUME/$ASIDE_REL"
  _trees_write
  : >"$RDIR/plan.tmp"
  {
    printf '# image upgrade %s -> %s at %s\n' "$recorded" "$image" "$stamp"
    printf '# decision\ttree\tpath: what happened\n'
  } >"$RDIR/report.tmp"
  local name src dst old new home
  while IFS=$'\t' read -r name src dst old new home; do
    manifest_write "$src" "$new"
    _plan_tree "$i"
    i=$((i + 1))
  done <"$RDIR/trees"
  mv -f "$RDIR/report.tmp" "$RDIR/report"
  # The plan renamed into place last: its presence means "complete, run it".
  mv -f "$RDIR/plan.tmp" "$RDIR/plan"
  _execute
}

if ! _is_sourced; then
  case "${1:-}" in
    run)
      shift
      refresh_run "$@"
      ;;
    *) die "usage: refresh.sh run VOLUME UID GID" ;;
  esac
fi
