#!/usr/bin/env bash
# bench/migration.sh FILES BYTES_PER_FILE [OWNER]: benchmark of migrate-to-home.sh on a
# legacy-nested volume (repos under workspaces/, so every repo is renamed up)
# holding FILES files of BYTES_PER_FILE bytes each, owned by OWNER (default
# 1000: what the old runtime's user wrote; 0: every entry must be re-owned). The volume is a fresh ext4
# filesystem on a loop device, so the disk's own counter of sectors written
# (/sys/block/loopN/stat, field 7) tells how many bytes the migration wrote:
# renames write metadata only, a copy would write the data again.
# Prints one JSON object: {"files","bytes","seconds","bytesWritten","log"}.
# Run as root with the Docker engine up and the gitspace image built.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

FILES=${1:?usage: bench/migration.sh FILES BYTES_PER_FILE}
SIZE=${2:?usage: bench/migration.sh FILES BYTES_PER_FILE}
OWNER=${3:-1000}
IMAGE=${GITSPACE_BENCH_IMAGE:-gitspace-chart/gitspace:0.1.0}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitspace-bench-mig.XXXXXX")
chmod 755 "$WORK" # the fill runs as OWNER
MNT="$WORK/mnt"
LOOP=""

cleanup() {
  if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || umount -l "$MNT" || true; fi
  [[ -z "$LOOP" ]] || losetup -d "$LOOP" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# sectors_written: sectors written to the loop device so far, after a sync.
sectors_written() {
  sync -f "$MNT"
  awk '{print $7}' "/sys/block/$(basename "$LOOP")/stat"
}

# fill: FILES files spread over 100 repos of 100 folders, one data block
# written again and again (fast, and ext4 stores every copy).
fill() {
  python3 - "$MNT/workspaces" "$FILES" "$SIZE" "$OWNER" <<'EOF'
import os, sys
top, files, size, owner = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.setegid(owner)
os.seteuid(owner)
block = os.urandom(size)
for r in range(min(files, 100)):
    os.makedirs(os.path.join(top, f"repo{r:02d}", ".git"), exist_ok=True)
    with open(os.path.join(top, f"repo{r:02d}", ".git", "HEAD"), "w") as f:
        f.write("ref: refs/heads/main\n")
for i in range(files):
    d = os.path.join(top, f"repo{i % 100:02d}", f"d{(i // 100) % 100:02d}")
    if i < 10000:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(block)
EOF
}

main() {
  local disk_mb=$((FILES * (SIZE + 4096) * 13 / 10 / 1048576 + 512))
  log_info "migration bench: $FILES files of $SIZE bytes on a ${disk_mb} MB ext4 loop disk" >&2
  truncate -s "${disk_mb}M" "$WORK/disk.img"
  # No lazy init: ext4lazyinit would zero inode tables in the background while we count writes.
  mkfs.ext4 -q -F -N $((FILES + 100000)) -E lazy_itable_init=0,lazy_journal_init=0 "$WORK/disk.img"
  LOOP=$(losetup --find --show "$WORK/disk.img") || die "no free loop device for $WORK/disk.img (modprobe loop; in a container it must be privileged)"
  mkdir -p "$MNT"
  mount "$LOOP" "$MNT"
  install -d -o "$OWNER" -g "$OWNER" "$MNT/workspaces"
  local t0=$SECONDS
  fill
  log_info "filled in $((SECONDS - t0)) s; running migrate-to-home.sh in $IMAGE" >&2
  local before after start end
  before=$(sectors_written)
  start=$(date +%s%N)
  # GITSPACE_BENCH_PROFILE=1: under bash -x with $EPOCHREALTIME, to see which step takes the time.
  local cmd=(/gitspace/scripts/migrate-to-home.sh)
  # (bash does not take PS4 from the environment as root; a BASH_ENV file sets it.)
  # shellcheck disable=SC2016 # expanded by bash -x in the container
  [[ -z "${GITSPACE_BENCH_PROFILE:-}" ]] ||
    cmd=(/bin/bash -c 'echo "PS4='"'"'+ \$EPOCHREALTIME '"'"'" >/tmp/ps4 && BASH_ENV=/tmp/ps4 exec bash -x /gitspace/scripts/migrate-to-home.sh')
  docker run --rm -u 0 -v "$MNT:/gitspace/volume" \
    -v "$root/charts/gitspace/files/scripts:/gitspace/scripts:ro" \
    -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e GITSPACE_USER=vscode -e HOME=/home/vscode \
    -e GITSPACE_VOLUME=/gitspace/volume -e GITSPACE_SEED_HOME=true \
    --entrypoint "${cmd[0]}" "$IMAGE" "${cmd[@]:1}" >"$WORK/migrate.log" 2>&1 ||
    { cat "$WORK/migrate.log" >&2; die "migrate-to-home.sh failed"; }
  end=$(date +%s%N)
  after=$(sectors_written)
  if [[ -n "${GITSPACE_BENCH_PROFILE:-}" ]]; then
    echo "slowest steps (seconds, the traced line):" >&2
    awk '$2 ~ /^[0-9]+[.][0-9]+$/ { if (p) printf "%.3f %s\n", $2 - p, prev; p = $2; prev = substr($0, 1, 160) }' "$WORK/migrate.log" |
      sort -rn | head -n 12 >&2 || true # head closes the pipe early (SIGPIPE)
  fi
  # The container's own start and stop are part of what a hook Job costs; its
  # log says how long the script itself took (first to last line).
  local log
  # grep -c: status 1 only says the log is empty (0 lines).
  log=$(grep -c . "$WORK/migrate.log") || [[ $? == 1 ]]
  [[ -z "${GITSPACE_BENCH_KEEP_LOG:-}" ]] || cp "$WORK/migrate.log" "$GITSPACE_BENCH_KEEP_LOG"
  jq -n --argjson files "$FILES" --argjson size "$SIZE" --argjson owner "$OWNER" --argjson ns "$((end - start))" \
    --argjson sectors "$((after - before))" --arg lines "$log" --arg tail "$(tail -n 4 "$WORK/migrate.log" | cut -c 22-)" \
    '{files: $files, owner: $owner, bytes: ($files * $size), seconds: ($ns / 1e9), bytesWritten: ($sectors * 512), logLines: ($lines | tonumber), logTail: $tail}'
}

main "$@"
