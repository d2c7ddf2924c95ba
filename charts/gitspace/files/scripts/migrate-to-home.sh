#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# migrate-to-home.sh [VOLUME_DIR]
# Makes a volume of the old /workspaces runtime a HOME (docs/migration.md).
# VOLUME_DIR defaults to $GITSPACE_VOLUME. Runs as root in the chart's
# pre-upgrade hook Job and in `gitspace-init.sh prepare` (same image, volume
# NOT at HOME, so the image's HOME is visible for seeding).
#
# Layouts (detected, never guessed; anything else is refused untouched):
#   home           .gitspace/layout says `home N`: already migrated, no change.
#   legacy-root    repos at the root (mounted at /workspaces, {repo}/ is
#                  already $HOME/{repo}): nothing moves.
#   legacy-nested  a workspaces/ folder holding repos: its entries move up.
#   empty          nothing but lost+found: prepare seeds it like Docker.
#   home-unmarked  already a HOME (shell dotfiles or the image's HOME entries
#                  at the root, e.g. a Docker Gitspace volume): a /workspaces
#                  volume never held those. Nothing moves, nothing is seeded
#                  (Docker never seeds a non-empty volume); prepare marks it.
# Steps: plan -> renames (same filesystem only, never a byte copied) ->
# rmdir the emptied workspaces/ -> seed the image's HOME entries that are
# missing (no overwrite) -> fix ownership where wrong -> .gitspace/layout LAST.
# .gitspace/migration.journal holds the plan (written before the first rename)
# and one `done` line per rename, so a run killed at any point is finished by
# the next one.
#
# GITSPACE_LAYOUT=legacy (prepare of a legacy release): check only. A volume
# whose layout is home is refused, unless this script migrated it from a
# legacy layout (.gitspace/migrated-from): that is a `helm rollback` of the
# migration, and the legacy layout still finds every repo at the root.
#
# Test hooks, honoured only with GITSPACE_TEST_HOOKS=1 (the chart never sets
# it): GITSPACE_MIGRATE_KILL_AFTER=N kills the script (SIGKILL) right after
# its Nth rename, before the journal records it; GITSPACE_MIGRATE_KILL_AT=
# planned|seeded|owned|finished kills it after that step.
set -euo pipefail
_mig_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=gitspace-init.sh
source "$_mig_dir/gitspace-init.sh"

MIGRATE_SUFFIX=from-workspaces

# _mig_kill_self: test hook: SIGKILL this script. The kernel ignores it when
# the script is PID 1 of a container (exec'd by the Job), so say so and fail
# instead of carrying on as if killed.
_mig_kill_self() {
  kill -9 $$
  sleep 1
  die "test hook: SIGKILL of pid $$ had no effect (PID 1 of a container ignores its own SIGKILL); run the script as a child process"
}

# _mig_kill_at POINT: test hook (see the header).
_mig_kill_at() {
  if [ "${GITSPACE_TEST_HOOKS:-}" = 1 ] && [ "${GITSPACE_MIGRATE_KILL_AT:-}" = "$1" ]; then
    log_warn "test hook: SIGKILL at $1"
    _mig_kill_self
  fi
}

# The per-entry helpers below set a variable (printf -v) instead of printing:
# $(...) forks a subshell, and the migration of 100 repos paid for ~10 forks a
# repo (bench/migration.sh, docs/benchmarks.md).

# _mig_enc VAR NAME: VAR = NAME with every byte outside [A-Za-z0-9._/-] as
# %HH, so a journal line stays one line whatever the name holds (spaces,
# newlines).
_mig_enc() {
  local LC_ALL=C s=$2 out='' c i h
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in
      [A-Za-z0-9._/-]) out+=$c ;;
      *)
        printf -v h '%%%02X' "'$c"
        out+=$h
        ;;
    esac
  done
  printf -v "$1" '%s' "${out:-%}"
}

# _mig_dec VAR ENC: VAR = the reverse of _mig_enc.
_mig_dec() {
  local s=$2
  if [ "$s" = % ]; then
    printf -v "$1" '%s' ''
    return 0
  fi
  s=${s//\\/\\\\}
  printf -v "$1" '%b' "${s//%/\\x}"
}

# _mig_inodes MAP DIR [PREFIX]: MAP[PREFIX+name] = dev:inode of each entry
# directly in DIR (stat -c %d:%i), from one find instead of a stat per entry.
_mig_inodes() {
  local -n _map=$1
  local dir=$2 prefix=${3:-} rec
  while IFS= read -r -d '' rec; do
    _map["$prefix${rec#* }"]=${rec%% *}
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -printf '%D:%i %f\0')
}

# _mig_exists PATH: exists, a dangling symlink included.
_mig_exists() { [ -e "$1" ] || [ -L "$1" ]; }

# _mig_is_repo DIR: a git repository (a .git dir, or a .git file: worktree).
_mig_is_repo() { [ -d "$1" ] && [ ! -L "$1" ] && _mig_exists "$1/.git"; }

# _mig_entries DIR: NUL-separated names directly in DIR.
_mig_entries() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\0'; }

# _mig_home_entry NAME: NAME at a volume's root says the volume was a HOME.
_mig_home_entry() {
  case "$1" in
    .bashrc | .bash_profile | .bash_login | .bash_logout | .profile | .zshrc | .bash_history | .ssh | .cache | .vscode-server) return 0 ;;
  esac
  [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [[ "$1" == .* ]] && _mig_exists "$HOME/$1"
}

# detect_layout VOL: prints home|home-unfinished|home-unmarked|legacy-root|
# legacy-nested|empty, or dies (unrecognised) with what was found and the fix.
detect_layout() {
  local vol=$1 state layout name has_repo=false has_other=false home_entry=
  state=$(gitspace_state_dir "$vol")
  if [ -e "$state/layout" ]; then
    layout=$(cat "$state/layout")
    if [[ "$layout" =~ ^home\ ([1-9][0-9]*)$ ]] && ((BASH_REMATCH[1] <= LAYOUT_VERSION)); then
      echo home
      return 0
    fi
    die "$(q "$state/layout") says $(q "$layout"), a layout this chart does not know (it writes 'home $LAYOUT_VERSION'): use the chart version that wrote it; nothing was changed"
  fi
  if [ -e "$state/seeding" ] || [ -e "$state/seeded" ]; then
    # prepare of a home release stopped between seeding and the marker.
    echo home-unfinished
    return 0
  fi
  while IFS= read -r -d '' name; do
    case "$name" in
      lost+found | .gitspace) ;;
      *)
        if _mig_is_repo "$vol/$name"; then has_repo=true; else has_other=true; fi
        if [ -z "$home_entry" ] && _mig_home_entry "$name"; then home_entry=$name; fi
        ;;
    esac
  done < <(_mig_entries "$vol")
  if [ -n "$home_entry" ]; then
    log_info "$(q "$vol") already holds $(q "$home_entry") at its root: a HOME, not a /workspaces volume"
    echo home-unmarked
    return 0
  fi
  if [ -d "$vol/workspaces" ] && [ ! -L "$vol/workspaces" ] && ! _mig_is_repo "$vol/workspaces"; then
    while IFS= read -r -d '' name; do
      if _mig_is_repo "$vol/workspaces/$name"; then
        echo legacy-nested
        return 0
      fi
    done < <(_mig_entries "$vol/workspaces")
  fi
  if $has_repo || [ -d "$state" ]; then
    echo legacy-root
  elif ! $has_other; then
    echo empty
  else
    die "$(q "$vol") holds files but no git repository at its root nor under workspaces/, and no .gitspace/ state: not a gitspace volume this script recognises; nothing was changed. Check persistence.existingClaim names the right claim; to use this volume as HOME as it is, write 'home $LAYOUT_VERSION' into .gitspace/layout on it (docs/migration.md)"
  fi
}

# _mig_journal_write JOURNAL LINE: append one line and flush it to disk, so a
# line the journal holds describes a rename that really happened or is planned.
# Not synced line by line: a `done` line lost with the page cache (power
# loss) is harmless, as the next run recognises a finished rename by its inode
# ("already moved"). The plan itself is synced before the first rename, and
# run_moves syncs the volume once after the last one.
_mig_journal_write() {
  printf '%s\n' "$2" >>"$1"
}

# plan_moves VOL LAYOUT JOURNAL: the journal, written whole before any rename
# (temp file + rename: a kill during planning leaves no journal).
plan_moves() {
  local vol=$1 layout=$2 journal=$3 tmp name dst n=0 k esrc edst
  local -A taken=() inode=()
  local -a names=()
  tmp=$(mktemp "$journal.XXXXXX")
  {
    echo "gitspace-migration 1"
    echo "layout $layout"
    echo "started $(_gs_ts)"
  } >"$tmp"
  if [ "$layout" = legacy-nested ]; then
    local wdev
    wdev=$(stat -c %d "$vol/workspaces")
    if [ "$wdev" != "$(stat -c %d "$vol")" ] || mountpoint -q "$vol/workspaces" 2>/dev/null; then
      rm -f "$tmp"
      die "$(q "$vol/workspaces") is another filesystem: moving would copy bytes; nothing was changed"
    fi
    # One read of workspaces/: its names (sorted: the journal's order) and
    # their inodes.
    _mig_inodes inode "$vol/workspaces"
    if ((${#inode[@]})); then mapfile -t -d '' names < <(printf '%s\0' "${!inode[@]}" | LC_ALL=C sort -z); fi
    for name in "${names[@]}"; do
      dst=$name
      if _mig_exists "$vol/$dst" || [ -n "${taken[$dst]:-}" ]; then
        dst="$name.$MIGRATE_SUFFIX"
        k=2
        while _mig_exists "$vol/$dst" || [ -n "${taken[$dst]:-}" ]; do
          dst="$name.$MIGRATE_SUFFIX.$k"
          k=$((k + 1))
        done
      fi
      taken[$dst]=1
      n=$((n + 1))
      _mig_enc esrc "workspaces/$name"
      _mig_enc edst "$dst"
      echo "move $n ${inode[$name]} $esrc $edst" >>"$tmp"
    done
  fi
  echo "planned $n" >>"$tmp"
  sync "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$journal"
}

# plan_moves_or_die VOL LAYOUT JOURNAL: plan_moves, and on failure (a full
# volume: the plan is the first thing the migration writes) no temp plan left
# behind and one line with the free space; nothing was renamed, and the next
# run plans again.
plan_moves_or_die() {
  local state rc
  state=$(dirname "$3")
  [ ! -d "$state" ] || find "$state" -maxdepth 1 -name "$(basename "$3").??????" -delete
  set +e
  (
    set -e
    mkdir -p "$state"
    plan_moves "$@"
  )
  rc=$?
  set -e
  [ "$rc" -eq 0 ] && return 0
  [ ! -d "$state" ] || find "$state" -maxdepth 1 -name "$(basename "$3").??????" -delete
  die "migration: planning failed (above): $(space_note "$1"); nothing was changed"
}

# run_moves VOL JOURNAL: every planned rename not yet done; each one checked
# (same inode after: a rename, never a copy). Checks first, all of them, so a
# mismatch stops the run before this run renames anything. Renames that keep
# the name go in one `mv -n SRC... VOL/` per 500 (a process per repo was most
# of the migration's time: docs/benchmarks.md); a kill in the middle leaves
# some renamed and no `done` line, which the next run recognises by inode.
run_moves() {
  local vol=$1 journal=$2 kind i ino src dst base line renamed=0 collisions=0 qs qd k n
  local -a lines same=() other=() moved=()
  local -A finished=() inode=() after=() plan_src=() plan_dst=() plan_ino=()
  # Read whole first: the loop appends to the journal.
  mapfile -t lines <"$journal"
  for line in "${lines[@]}"; do
    read -r kind i _ <<<"$line"
    if [ "$kind" = "done" ]; then finished[$i]=1; fi
  done
  # Inodes of what is there now, read once: the top level, and workspaces/
  # of a nested layout.
  _mig_inodes inode "$vol"
  if [ -d "$vol/workspaces" ] && [ ! -L "$vol/workspaces" ]; then _mig_inodes inode "$vol/workspaces" workspaces/; fi
  for line in "${lines[@]}"; do
    read -r kind i ino src dst <<<"$line"
    [ "$kind" = move ] || continue
    _mig_dec src "$src"
    _mig_dec dst "$dst"
    base=${src#workspaces/}
    qv qs "$src"
    qv qd "$dst"
    [ "$dst" = "$base" ] || {
      collisions=$((collisions + 1))
      log_warn "name collision: $qs is kept as $qd ($(q "$base") already exists at the top; both kept)"
    }
    [ -z "${finished[$i]:-}" ] || continue
    if _mig_exists "$vol/$src" && ! _mig_exists "$vol/$dst"; then
      [ "${inode[$src]:-}" = "$ino" ] ||
        die "journal move $i: $(q "$vol/$src") is not the entry that was planned (inode changed); nothing more was changed: compare the volume with $(q "$journal")"
      plan_src[$i]=$src
      plan_dst[$i]=$dst
      plan_ino[$i]=$ino
      if [ "$dst" = "$base" ]; then same+=("$i"); else other+=("$i"); fi
    elif ! _mig_exists "$vol/$src" && _mig_exists "$vol/$dst"; then
      # Renamed by a run killed before it could write `done`.
      [ "${inode[$dst]:-}" = "$ino" ] ||
        die "journal move $i: $(q "$vol/$src") is gone and $(q "$vol/$dst") is another entry; nothing more was changed: compare the volume with $(q "$journal")"
      log_info "already moved (previous run): $qs -> $qd"
      _mig_journal_write "$journal" "done $i"
    else
      die "journal move $i: expected exactly one of $(q "$vol/$src") and $(q "$vol/$dst"); nothing more was changed: compare the volume with $(q "$journal")"
    fi
  done
  # Same name: batches. -n never replaces (renameat2 NOREPLACE); the check
  # below finds one it skipped.
  for ((k = 0; k < ${#same[@]}; k += n)); do
    n=$(_mig_kill_batch "$renamed" 500)
    local -a paths=()
    for i in "${same[@]:k:n}"; do paths+=("$vol/${plan_src[$i]}"); done
    mv -n -- "${paths[@]}" "$vol/" || log_warn "mv reported a failure; checking each rename"
    moved+=("${same[@]:k:n}")
    renamed=$((renamed + ${#paths[@]}))
    _mig_kill_after "$renamed"
  done
  for i in "${other[@]}"; do
    mv -T -n -- "$vol/${plan_src[$i]}" "$vol/${plan_dst[$i]}" || log_warn "mv reported a failure; checking the rename"
    moved+=("$i")
    renamed=$((renamed + 1))
    _mig_kill_after "$renamed"
  done
  if ((${#moved[@]})); then
    _mig_inodes after "$vol"
    for i in "${moved[@]}"; do
      qv qs "${plan_src[$i]}"
      qv qd "${plan_dst[$i]}"
      if _mig_exists "$vol/${plan_src[$i]}" || [ "${after[${plan_dst[$i]}]:-}" != "${plan_ino[$i]}" ]; then
        die "renaming $qs to $qd did not happen (is $(q "$vol/${plan_dst[$i]}") another entry?); nothing more was changed: compare the volume with $(q "$journal")"
      fi
      log_info "moved $qs -> $qd"
      _mig_journal_write "$journal" "done $i"
    done
  fi
  sync -f "$journal" 2>/dev/null || sync
  log_info "renames: $renamed now, collisions kept under another name: $collisions"
}

# _mig_kill_batch RENAMED MAX: how many renames the next batch takes: MAX, or,
# under the test hook GITSPACE_MIGRATE_KILL_AFTER=N, only up to the Nth rename
# (so a kill leaves a batch half done, as a real crash can).
_mig_kill_batch() {
  local left=$2
  if [ "${GITSPACE_TEST_HOOKS:-}" = 1 ] && [ "${GITSPACE_MIGRATE_KILL_AFTER:-0}" -gt "$1" ]; then
    left=$((GITSPACE_MIGRATE_KILL_AFTER - $1))
    ((left <= $2)) || left=$2
  fi
  echo "$left"
}

# _mig_kill_after RENAMED: test hook: SIGKILL once RENAMED reaches N, before
# the journal records those renames.
_mig_kill_after() {
  if [ "${GITSPACE_TEST_HOOKS:-}" = 1 ] && [ "${GITSPACE_MIGRATE_KILL_AFTER:-0}" = "$1" ]; then
    log_warn "test hook: SIGKILL after rename $1"
    _mig_kill_self
  fi
}

# seed_missing SRC DST: copy every entry of the image's HOME (SRC) that DST
# lacks; existing entries (files, dirs, their owner and mode) stay as they
# are and only missing entries inside existing dirs are added. Each copy is
# staged under .gitspace/tmp and renamed in, so a kill never leaves a
# half-copied file in place. Prints the top-level names it added.
seed_missing() {
  local src=$1 dst=$2 stage=$3 rel=${4:-} name s d
  while IFS= read -r -d '' name; do
    s="$src/${rel:+$rel/}$name"
    d="$dst/${rel:+$rel/}$name"
    if ! _mig_exists "$d"; then
      rm -rf -- "${stage:?}/entry"
      # A full volume fails the copy (or the rename's new directory entry): the staged copy goes,
      # so nothing half-copied stays on the volume, and the line says which step and the free space.
      if ! cp -a -- "$s" "$stage/entry" || ! mv -T -n -- "$stage/entry" "$d"; then
        rm -rf -- "${stage:?}/entry"
        die "migration: seeding HOME: adding $(q "${rel:+$rel/}$name") from the image failed, nothing half-copied left: $(space_note "$dst")"
      fi
      printf '%s\n' "${rel:+$rel/}$name"
    elif [ -d "$s" ] && [ ! -L "$s" ] && [ -d "$d" ] && [ ! -L "$d" ]; then
      seed_missing "$src" "$dst" "$stage" "${rel:+$rel/}$name"
    fi
  done < <(_mig_entries "$src/$rel")
}

# fix_owner_all VOL UID GID: everything not UID:GID becomes UID:GID (never
# following symlinks, not leaving the filesystem, lost+found stays root's);
# setuid/setgid bits that chown clears are put back. Records .gitspace/owner
# so prepare's next start does not walk again.
# _mig_unowned VOL UID GID LIST: every entry under VOL not UID:GID, NUL-separated
# into LIST, as `find VOL -xdev -path VOL/lost+found -prune -o (! -user UID -o
# ! -group GID) -print0` lists them (VOL itself included, lost+found neither
# tested nor walked, nothing on another filesystem walked), but in two finds at
# once, each over every other top-level entry: the walk (a stat per entry) is
# the migration's cost, and it is CPU-bound once the inodes are cached, so two
# cores take ~40 % off it (bench/migration.sh). Read-only: nothing changes here.
_mig_unowned() {
  local vol=$1 uid=$2 gid=$3 list=$4 dev line i=0 rc=0 pid part0 part1
  local -a cond=(\( \! -user "$uid" -o \! -group "$gid" \)) half0=() half1=() other=()
  dev=$(stat -c %d "$vol")
  while IFS= read -r -d '' line; do
    if [ "${line%% *}" != "$dev" ]; then
      other+=("${line#* }") # a mount point: tested, not walked (-xdev)
    elif ((i++ % 2)); then
      half1+=("${line#* }")
    else
      half0+=("${line#* }")
    fi
  done < <(find "$vol" -mindepth 1 -maxdepth 1 \! -path "$vol/lost+found" -printf '%D %p\0')
  find "$vol" "${other[@]}" -maxdepth 0 "${cond[@]}" -print0 >"$list"
  part0=$(mktemp)
  part1=$(mktemp)
  if ((${#half0[@]})); then
    find "${half0[@]}" -xdev "${cond[@]}" -print0 >"$part0" &
    pid=$!
  fi
  if ((${#half1[@]})); then find "${half1[@]}" -xdev "${cond[@]}" -print0 >"$part1" || rc=$?; fi
  if [ -n "${pid:-}" ]; then wait "$pid" || rc=$?; fi
  cat "$part0" "$part1" >>"$list"
  rm -f "$part0" "$part1"
  [ "$rc" = 0 ] || die "walking $(q "$vol") for ownership failed (find: exit $rc); nothing was re-owned, the next run resumes"
}

fix_owner_all() {
  local vol=$1 uid=$2 gid=$3 n f mode list
  local -a special=()
  # One walk of the whole tree (it is the cost: 100k entries take ~0.5 s);
  # everything after it only touches the entries that walk listed.
  list=$(mktemp)
  _mig_unowned "$vol" "$uid" "$gid" "$list"
  n=$(tr -cd '\0' <"$list" | wc -c)
  if [ "$n" -gt 0 ]; then
    while IFS= read -r -d '' f; do special+=("$(stat -c %a "$f")" "$f"); done < <(
      xargs -0 -r sh -c 'find "$@" -maxdepth 0 -type f -perm /6000 -print0' sh <"$list"
    )
    log_info "re-owning $n entries to $uid:$gid (those owned by another user or group)"
    xargs -0 -r chown -h "$uid:$gid" <"$list" || { rm -f "$list"; die "chown under $(q "$vol") failed; the next run resumes"; }
    for ((f = 0; f < ${#special[@]}; f += 2)); do
      mode=${special[f]}
      chmod "$mode" "${special[f + 1]}"
    done
  else
    log_info "ownership already $uid:$gid everywhere"
  fi
  rm -f "$list"
  printf '%s:%s\n' "$uid" "$gid" | write_file_atomic "$(gitspace_state_dir "$vol")/owner" 0644
  chown "$uid:$gid" "$(gitspace_state_dir "$vol")/owner"
}

# check_legacy VOL: GITSPACE_LAYOUT=legacy (see the header).
check_legacy() {
  local vol=$1 state layout
  state=$(gitspace_state_dir "$vol")
  layout=$(cat "$state/layout" 2>/dev/null || true)
  if [ -z "$layout" ]; then
    log_info "compat.layout legacy: the volume is /workspaces; nothing to migrate"
    return 0
  fi
  if [ -f "$state/migrated-from" ]; then
    log_warn "the volume says '$layout' (migrated from $(head -n 1 "$state/migrated-from")) but compat.layout is legacy: served at /workspaces as before the migration (a rollback); every repo is still at /workspaces/{repo}; HOME's files on the volume show under /workspaces, not in HOME. 'helm upgrade --set compat.layout=home' brings HOME back (already migrated: nothing moves)"
    return 0
  fi
  die "the volume says '$layout' (.gitspace/layout): it was created as a HOME, and compat.layout legacy would mount it at /workspaces and hide the user's HOME (dotfiles, settings, SSH keys) from HOME. Going from home back to legacy is refused; set compat.layout=home again (helm upgrade RELEASE CHART --reuse-values --set compat.layout=home). Nothing was changed"
}

# migrate VOL: see the header.
migrate() {
  local vol=$1 state journal layout uid gid fsg stage added
  state=$(gitspace_state_dir "$vol")
  journal="$state/migration.journal"
  if [ "${GITSPACE_LAYOUT:-home}" = legacy ]; then
    check_legacy "$vol"
    return 0
  fi
  if [ -f "$journal" ] && [ ! -e "$state/layout" ]; then
    layout=$(sed -n 's/^layout //p' "$journal" | head -n 1)
    [[ "$layout" =~ ^legacy-(root|nested)$ ]] || die "$(q "$journal") is not a journal this script wrote; nothing was changed"
    log_warn "a previous migration ($layout) was interrupted: resuming from $(q "$journal")"
  else
    layout=$(detect_layout "$vol")
    case "$layout" in
      home)
        log_info "layout $(cat "$state/layout") (.gitspace/layout): already migrated, nothing to do"
        return 0
        ;;
      home-unfinished)
        log_info "a HOME volume whose first start did not finish (.gitspace/seeding or seeded): not a legacy volume, nothing to migrate"
        return 0
        ;;
      empty)
        log_info "empty volume: nothing to migrate"
        return 0
        ;;
      home-unmarked)
        log_info "nothing to migrate, nothing seeded (Docker does not seed a volume that is not empty)"
        return 0
        ;;
    esac
    log_info "detected layout $layout on $(q "$vol"): migrating to layout home $LAYOUT_VERSION"
    [ "$(id -u)" = 0 ] || [ "$(stat -c %u "$vol")" = "$(id -u)" ] ||
      die "migration needs root (security.mode standard) or a volume owned by uid $(id -u); nothing was changed"
    plan_moves_or_die "$vol" "$layout" "$journal"
    log_info "plan written to $(q "$journal") ($(sed -n 's/^planned //p' "$journal") renames)"
  fi
  uid=${GITSPACE_UID:-$(id -u)}
  gid=${GITSPACE_GID:-$(id -g)}
  validate_id "$uid" GITSPACE_UID
  validate_id "$gid" GITSPACE_GID
  fsg=$(fsgroup_bits "$vol")
  _mig_kill_at planned
  run_moves "$vol" "$journal"
  if [ "$layout" = legacy-nested ] && [ -d "$vol/workspaces" ] && [ ! -L "$vol/workspaces" ]; then
    # rmdir only: whatever appeared there since the plan stays.
    if rmdir -- "$vol/workspaces" 2>/dev/null; then
      log_info "removed the emptied workspaces/ (rmdir)"
    else
      log_warn "workspaces/ is not empty (written to after the plan): left in place"
    fi
  fi
  if [ "${GITSPACE_SEED_HOME:-true}" = false ]; then
    log_info "GITSPACE_SEED_HOME=false: HOME's files from the image are not added (Docker volume-nocopy)"
  elif [ -d "$HOME" ] && [ "$(realpath "$HOME")" != "$(realpath "$vol")" ]; then
    stage="$state/tmp/migrate-seed"
    rm -rf -- "$stage" # our own staging copy of image files, never user data
    mkdir -p "$stage" || die "migration: seeding HOME: creating $(q "$stage") failed: $(space_note "$vol")"
    # seed_missing's own line says why it stopped (a full volume): no ERR-trap line after it.
    added=$(seed_missing "$HOME" "$vol" "$stage") || exit 1
    rmdir -- "$stage"
    # What prepare's seed_home reads: present = HOME already seeded.
    {
      printf 'migrated from %s at %s: the image HOME entries it lacked were added, none overwritten\n' "$layout" "$(_gs_ts)"
      printf 'image: %s\n' "${GITSPACE_IMAGE:-unknown}"
      (cd "$HOME" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
    } | write_file_atomic "$state/seeded" 0644
    log_info "seeded from the image's $(q "$HOME"): $(printf '%s' "$added" | grep -c . || true) entries added, existing ones kept"
  else
    log_info "the image has no $(q "$HOME"): nothing to seed"
  fi
  _mig_kill_at seeded
  if [ "$(id -u)" = 0 ]; then
    fix_owner_all "$vol" "$uid" "$gid"
    volume_root_mode "$vol" "$fsg"
  else
    log_info "not root: ownership left as it is"
  fi
  _mig_kill_at owned
  printf '%s\n' "$layout" | write_file_atomic "$state/migrated-from" 0644
  _mig_journal_write "$journal" "finished $(_gs_ts)"
  _mig_kill_at finished
  # LAST: until this exists, a rerun resumes from the journal.
  write_layout "$vol" "$uid" "$gid"
  if [ "$(id -u)" = 0 ]; then chown "$uid:$gid" "$journal" "$state/migrated-from"; fi
  log_info "migrated ($layout -> home $LAYOUT_VERSION): repos are \$HOME/{repo}"
}

migrate_main() {
  local vol=${1:-${GITSPACE_VOLUME:-}}
  [ -n "$vol" ] || die "usage: migrate-to-home.sh [VOLUME_DIR] (or set GITSPACE_VOLUME)"
  validate_abs_path "$vol" VOLUME_DIR
  [ -d "$vol" ] || die "VOLUME_DIR: $(q "$vol") is not a directory (is the volume mounted?)"
  migrate "$vol"
}

if ! _is_sourced; then
  migrate_main "$@"
fi
