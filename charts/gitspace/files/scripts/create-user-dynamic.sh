#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# create-user-dynamic.sh USER UID GID HOME
# Makes /etc/passwd and /etc/group say USER is UID:GID with home HOME, with
# shadow-utils (useradd/usermod/groupadd/groupmod) or busybox
# (adduser/addgroup; no usermod there, so fields are edited in place).
# Runs as root. Idempotent: when everything already matches, nothing is written.
#
# devcontainers/cli's updateUID table, and what we do for each row:
#   user missing                       -> create it (group first)
#   user exists, uid/gid equal         -> nothing
#   user exists with another uid       -> change its uid
#   uid taken by ANOTHER user (>=1000) -> move that user to a free uid (and its
#                                         files under its own home), then go on
#   uid taken by another system user   -> error (we never renumber system users)
#   group USER missing, gid free       -> create group USER with GID
#   group USER exists with another gid -> change its gid (if GID is free)
#   gid taken by another group (>=1000)-> move that group to a free gid first
#   gid taken by a system group (<1000)-> use that group as primary (e.g. 100 users)
#   passwd home differs from HOME      -> set the home field (no files moved)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GITSPACE_PASSWD="${GITSPACE_PASSWD:-/etc/passwd}"
GITSPACE_GROUP="${GITSPACE_GROUP:-/etc/group}"
# First id of ordinary users/groups (login.defs default). Ids below it belong
# to the system and are never renumbered.
_ID_MIN=1000

# _pw NAME FIELD: field (1-based) of user NAME in passwd, empty if absent.
_pw() { awk -F: -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$GITSPACE_PASSWD"; }
# _pw_name_by_uid UID: the first user with UID.
_pw_name_by_uid() { awk -F: -v u="$1" '$3 == u { print $1; exit }' "$GITSPACE_PASSWD"; }
# _gr NAME FIELD: field of group NAME.
_gr() { awk -F: -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$GITSPACE_GROUP"; }
# _gr_name_by_gid GID: the first group with GID.
_gr_name_by_gid() { awk -F: -v g="$1" '$3 == g { print $1; exit }' "$GITSPACE_GROUP"; }

# _free_id FILE AVOID: smallest id >= _ID_MIN used by no entry of FILE and
# different from AVOID.
_free_id() {
  awk -F: -v min="$_ID_MIN" -v avoid="$2" '
    { used[$3] = 1 }
    END { for (i = min; ; i++) if (!(i in used) && i != avoid) { print i; exit } }' "$1"
}

# _user_tools: "shadow" or "busybox"; dies when neither is there. (No
# `cmd | grep -q` under pipefail: grep exiting early makes cmd die of SIGPIPE
# and the pipeline fail at random.)
_user_tools() {
  if command -v useradd >/dev/null 2>&1 && command -v usermod >/dev/null 2>&1; then
    echo shadow
  elif command -v adduser >/dev/null 2>&1 && [[ "$(adduser --help 2>&1 || true)" == *BusyBox* ]]; then
    echo busybox
  else
    die "no user management tools: need shadow-utils (useradd, usermod, groupadd) or busybox (adduser, addgroup)"
  fi
}

# _set_field FILE NAME FIELD VALUE: rewrite one field of the entry NAME in a
# colon file (passwd/group/shadow) in place, atomically. For busybox, which
# has no usermod/groupmod.
_set_field() {
  local file=$1 name=$2 field=$3 value=$4 tmp
  tmp=$(mktemp "$file.XXXXXX")
  awk -F: -v OFS=: -v n="$name" -v f="$field" -v v="$value" \
    '$1 == n { $f = v } { print }' "$file" >"$tmp" || {
    rm -f "$tmp"
    die "editing $file failed"
  }
  chmod --reference="$file" "$tmp" 2>/dev/null || chmod 0644 "$tmp"
  chown --reference="$file" "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$file"
}

# _group_set_gid GROUP GID
_group_set_gid() {
  if [ "$TOOLS" = shadow ]; then
    groupmod -g "$2" "$1"
  else
    _set_field "$GITSPACE_GROUP" "$1" 3 "$2"
  fi
}

# _user_set_uid USER UID: shadow's usermod also re-owns the user's files under
# its home; for busybox we do the same with find.
_user_set_uid() {
  local user=$1 uid=$2 old home
  old=$(_pw "$user" 3)
  home=$(_pw "$user" 6)
  if [ "$TOOLS" = shadow ]; then
    usermod -u "$uid" "$user"
  else
    _set_field "$GITSPACE_PASSWD" "$user" 3 "$uid"
    if [ -d "$home" ] && [ "$home" != / ]; then
      find "$home" -xdev -user "$old" -exec chown -h "$uid" {} +
    fi
  fi
}

# _move_group_away NAME WANT_GID: give group NAME (which holds the gid we
# need) the next free gid; users whose primary group it is, and their files
# under their own homes, follow it.
_move_group_away() {
  local other=$1 gid=$2 new members u h
  new=$(_free_id "$GITSPACE_GROUP" "$gid")
  log_info "gid $gid belongs to group $(q "$other"): moving $(q "$other") to gid $new"
  # Read the members first: shadow's groupmod rewrites their passwd gid itself.
  members=$(awk -F: -v g="$gid" '$4 == g { print $1 ":" $6 }' "$GITSPACE_PASSWD")
  _group_set_gid "$other" "$new"
  CHANGED+=("group $other: gid $gid -> $new")
  while IFS=: read -r u h; do
    [ -n "$u" ] || continue
    [ "$(_pw "$u" 4)" = "$new" ] || _set_field "$GITSPACE_PASSWD" "$u" 4 "$new"
    if [ -d "$h" ] && [ "$h" != / ] && [ "$h" != "$WANT_HOME" ]; then
      find "$h" -xdev -group "$gid" -exec chgrp -h "$new" {} +
    fi
  done <<<"$members"
}

# _move_user_away NAME WANT_UID: give user NAME (which holds the uid we
# need) the next free uid; its files under its own home follow.
_move_user_away() {
  local other=$1 uid=$2 new
  new=$(_free_id "$GITSPACE_PASSWD" "$uid")
  log_info "uid $uid belongs to user $(q "$other"): moving $(q "$other") to uid $new (its files under $(q "$(_pw "$other" 6)") follow)"
  _user_set_uid "$other" "$new"
  CHANGED+=("user $other: uid $uid -> $new")
}

# _ensure_group NAME GID: after this, GID exists and is NAME's gid unless
# GID is a system group that we share. Sets PRIMARY_GROUP to the group name.
_ensure_group() {
  local name=$1 gid=$2 holder cur
  holder=$(_gr_name_by_gid "$gid")
  cur=$(_gr "$name" 3)
  PRIMARY_GROUP=$name
  if [ "$cur" = "$gid" ]; then
    return 0
  fi
  if [ -n "$holder" ] && [ "$holder" != "$name" ]; then
    if ((gid < _ID_MIN)); then
      # Sharing a system group (users, staff...) is normal: no renumbering.
      log_info "gid $gid is the system group $(q "$holder"): using it as the primary group of $(q "$name")"
      PRIMARY_GROUP=$holder
      return 0
    fi
    _move_group_away "$holder" "$gid"
  fi
  if [ -n "$cur" ]; then
    log_info "group $(q "$name"): gid $cur -> $gid"
    _group_set_gid "$name" "$gid"
    CHANGED+=("group $name: gid $cur -> $gid")
  else
    log_info "creating group $(q "$name") with gid $gid"
    if [ "$TOOLS" = shadow ]; then
      groupadd -g "$gid" "$name"
    else
      addgroup -g "$gid" "$name"
    fi
    CHANGED+=("group $name: created with gid $gid")
  fi
}

# create_or_update_user USER UID GID HOME: see the table at the top. Logs
# every change; sets CHANGED (array of what changed) for callers.
create_or_update_user() {
  [ $# -eq 4 ] || die "usage: create_or_update_user USER UID GID HOME"
  local user=$1 uid=$2 gid=$3 home=$4
  validate_user_name "$user" USER
  validate_id "$uid" UID
  validate_id "$gid" GID
  validate_abs_path "$home" HOME
  [ "$(id -u)" = 0 ] || die "create_or_update_user must run as root (it edits /etc/passwd)"
  CHANGED=()
  WANT_HOME=$home
  TOOLS=$(_user_tools)

  local cur_uid holder group shell
  cur_uid=$(_pw "$user" 3)
  holder=$(_pw_name_by_uid "$uid")

  if [ "$user" = root ] && [ "$uid" != 0 ]; then
    die "USER: root must have uid 0 (got UID=$uid)"
  fi
  if [ -n "$holder" ] && [ "$holder" != "$user" ]; then
    if ((uid < _ID_MIN)); then
      die "UID: uid $uid belongs to the system user $(q "$holder"); choose another uid for $(q "$user") (system users are never renumbered)"
    fi
    _move_user_away "$holder" "$uid"
  fi

  _ensure_group "$user" "$gid"
  group=$PRIMARY_GROUP

  if [ -z "$cur_uid" ]; then
    shell=/bin/sh
    [ -x /bin/bash ] && shell=/bin/bash
    log_info "creating user $(q "$user") uid $uid gid $gid ($(q "$group")) home $(q "$home") shell $shell (with $TOOLS tools)"
    if [ "$TOOLS" = shadow ]; then
      # -M: HOME is the volume, prepared by seed-home, never made here.
      useradd -M -N -u "$uid" -g "$gid" -d "$home" -s "$shell" "$user"
    else
      adduser -D -H -u "$uid" -G "$group" -h "$home" -s "$shell" "$user"
    fi
    CHANGED+=("user $user: created $uid:$gid home $home")
  else
    if [ "$cur_uid" != "$uid" ]; then
      log_info "user $(q "$user"): uid $cur_uid -> $uid"
      _user_set_uid "$user" "$uid"
      CHANGED+=("user $user: uid $cur_uid -> $uid")
    fi
    local cur_gid cur_home
    cur_gid=$(_pw "$user" 4)
    if [ "$cur_gid" != "$gid" ]; then
      log_info "user $(q "$user"): primary gid $cur_gid -> $gid"
      if [ "$TOOLS" = shadow ]; then usermod -g "$gid" "$user"; else _set_field "$GITSPACE_PASSWD" "$user" 4 "$gid"; fi
      CHANGED+=("user $user: gid $cur_gid -> $gid")
    fi
    cur_home=$(_pw "$user" 6)
    if [ "$cur_home" != "$home" ]; then
      log_info "user $(q "$user"): home $(q "$cur_home") -> $(q "$home") (passwd only; no files moved)"
      if [ "$TOOLS" = shadow ]; then usermod -d "$home" "$user"; else _set_field "$GITSPACE_PASSWD" "$user" 6 "$home"; fi
      CHANGED+=("user $user: home $cur_home -> $home")
    fi
  fi
  if [ ${#CHANGED[@]} -eq 0 ]; then
    log_info "user $(q "$user") is already $uid:$gid with home $(q "$home"): nothing changed"
  fi
}

if ! _is_sourced; then
  [ $# -eq 4 ] || die "usage: create-user-dynamic.sh USER UID GID HOME"
  create_or_update_user "$@"
fi
