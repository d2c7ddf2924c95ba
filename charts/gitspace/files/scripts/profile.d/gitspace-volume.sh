# shellcheck shell=sh
# /etc/profile.d/gitspace-volume.sh (mounted by the chart; POSIX sh): tells a
# login shell (and the IDE terminal, through PROMPT_COMMAND) why HOME is not
# used as usual. start.sh writes the flag file only when it found HOME full or
# read-only (volume-space.sh); with no flag file this is one `test`.
if [ -r "${GITSPACE_RUN_DIR:-/gitspace/run}/volume-banner" ]; then
  read -r _gs_state _gs_free <"${GITSPACE_RUN_DIR:-/gitspace/run}/volume-banner"
  # The free space now (the user may have deleted files since the start).
  _gs_now=$(stat -f -c '%a %S' "${HOME:-/}" 2>/dev/null | awk '{ printf "%.0f", $1 * $2 }')
  case "$_gs_state" in
    full) echo "HOME is full: ${_gs_now:-$_gs_free} bytes free; delete files or ask for a bigger volume" >&2 ;;
    *) echo "HOME is read-only: the gitspace cannot write to it; ask for the volume to be mounted read-write" >&2 ;;
  esac
  echo "  (this start keeps the IDE's settings, sshd config and logs in ${GITSPACE_RUN_DIR:-/gitspace/run}, lost at the next start; restart the gitspace once HOME has room)" >&2
  unset _gs_state _gs_free _gs_now
fi
