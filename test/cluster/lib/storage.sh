#!/usr/bin/env bash
# Storage: StorageClass `local-path` (default, WaitForFirstConsumer) backed by a
# pool of `local` PersistentVolumes. Each PV is a sparse ext4 image, loop-
# mounted: root:root 0755 with lost+found, like a fresh cloud disk, and kubelet
# applies fsGroup to `local` volumes (it never does for hostPath).
# Released PVs are wiped (fresh mkfs) and made Available again by the
# pv-recycler daemon that `up` starts, or by hand with `cluster.sh pv-recycle`.

PV_COUNT="${GITSPACE_PV_COUNT:-24}"
PV_SIZE="${GITSPACE_PV_SIZE:-20Gi}"
PV_DIR="$CLUSTER_DATA/pv"

_pv_name() { printf 'gitspace-pv-%02d\n' "$1"; }
_pv_img() { printf '%s/images/%s.img\n' "$PV_DIR" "$1"; }
_pv_mnt() { printf '%s/mnt/%s\n' "$PV_DIR" "$1"; }

# _pv_format NAME: a brand-new, sparse ext4 image (old blocks are freed).
_pv_format() {
  local img
  img=$(_pv_img "$1")
  # A loop device still attached to the image (a mount alive somewhere) would
  # write its old filesystem's metadata over the new one.
  if [[ -n "$(losetup -j "$img" 2>/dev/null)" ]]; then
    log_warn "$1: its image is still attached ($(losetup -j "$img" | cut -d: -f1)): not formatting it now"
    return 1
  fi
  mkdir -p "$(dirname "$img")"
  truncate -s 0 "$img"
  truncate -s "${PV_SIZE%i}" "$img"
  # Lazy init + noinit_itable at mount: no background zeroing of a 20G disk.
  mkfs.ext4 -q -F -L "${1#gitspace-}" -E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$img" ||
    die "mkfs.ext4 $img failed"
}

# _pv_lock NAME / _pv_unlock: one process at a time mounts, wipes or formats
# a pool disk. Without it `cluster.sh up` (each test stage runs it) and the
# pv-recycler raced on a disk being recycled: up found it unmounted and
# half-formatted, formatted it too, and two mkfs wrote one image (CI saw
# "Structure needs cleaning", then a pod whose volume failed its checksums).
_pv_lock() {
  mkdir -p "$PV_DIR/locks"
  exec {_PV_LOCK_FD}>>"$PV_DIR/locks/$1.lock"
  flock -w 300 "$_PV_LOCK_FD" || die "$1: waited 300 s for its lock ($PV_DIR/locks/$1.lock); who holds it: fuser -v $PV_DIR/locks/$1.lock"
}
_pv_unlock() { exec {_PV_LOCK_FD}>&-; }

_pv_mount() {
  mountpoint -q "$(_pv_mnt "$1")" && return 0
  _pv_lock "$1"
  _pv_mount_locked "$1"
  _pv_unlock
}

_pv_mount_locked() {
  local name=$1 img mnt
  img=$(_pv_img "$name")
  mnt=$(_pv_mnt "$name")
  mountpoint -q "$mnt" && return 0
  # The directory under the mount must stay empty and immutable: a pod that
  # bind-mounted it while the disk was not mounted would otherwise write to the
  # root disk unnoticed. Anything found there is such a stray: drop it.
  mkdir -p "$mnt"
  chattr -i "$mnt" 2>/dev/null || true
  if [[ -n "$(ls -A "$mnt")" ]]; then
    log_warn "removing stray files under unmounted $mnt"
    find "$mnt" -mindepth 1 -delete
  fi
  chown root:root "$mnt" && chmod 0755 "$mnt"
  chattr +i "$mnt" 2>/dev/null || true
  [[ -s "$img" ]] || _pv_format "$name"
  mount -o loop,noinit_itable "$img" "$mnt" && return 0
  # A disk that no longer mounts (seen once: "Structure needs cleaning" right
  # after a recycle) holds no one's data unless its PV is Bound: make it anew.
  local phase
  phase=$(kc get pv "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)
  [[ "$phase" != Bound ]] ||
    die "mount -o loop $img $mnt failed and PV $name is Bound (its data is a test's): see dmesg; 'cluster.sh reset' starts over"
  log_warn "$name: the disk image does not mount (PV ${phase:-absent}, no one's data): formatting it anew"
  if ! _pv_format "$name" || ! mount -o loop,noinit_itable "$img" "$mnt"; then
    die "mount -o loop $img $mnt failed (loop devices available? see 'losetup -f')"
  fi
}

_pv_umount() {
  local mnt
  mnt=$(_pv_mnt "$1")
  if mountpoint -q "$mnt"; then umount "$mnt" || die "umount $mnt failed (still used? see 'fuser -m $mnt')"; fi
}

_pv_manifest() {
  local name=$1
  cat <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels: {gitspace.local/pool: "true"}
spec:
  capacity: {storage: $PV_SIZE}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local-path
  volumeMode: Filesystem
  local:
    path: $(_pv_mnt "$name")
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}
---
YAML
}

# storage_mount: mount every pool disk. Must run before kubelet starts, or a
# pod restarted by kubelet would bind-mount the empty directory underneath.
storage_mount() {
  local i
  for ((i = 1; i <= PV_COUNT; i++)); do _pv_mount "$(_pv_name "$i")"; done
}

storage_up() {
  step "storage: StorageClass local-path + $PV_COUNT local PVs of $PV_SIZE"
  local i manifest=""
  for ((i = 1; i <= PV_COUNT; i++)); do
    manifest+=$(_pv_manifest "$(_pv_name "$i")")$'\n'
  done
  {
    cat <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
---
YAML
    printf '%s' "$manifest"
  } | kc apply --server-side --force-conflicts --field-manager gitspace-cluster -f - >/dev/null ||
    die "applying the StorageClass and PVs failed" # server-side: 1 s, not 16 s
}

# _pv_in_use MNT: the disk mounted at MNT is mounted anywhere else: a kubelet
# bind mount in this mount namespace, or any mount in another one (a container
# of a pod force-deleted from the API can still run with it). Reformatting it
# then corrupts what those processes still write.
_pv_in_use() {
  local mnt=$1 dev self f pid ns
  mountpoint -q "$mnt" || return 1
  (($(findmnt -n -o TARGET -S "$(findmnt -n -o SOURCE --mountpoint "$mnt")" | wc -l) > 1)) && return 0
  dev=$(mountpoint -d "$mnt")
  self=$(readlink /proc/self/ns/mnt)
  for f in /proc/[0-9]*/mountinfo; do
    pid=${f#/proc/}
    pid=${pid%/mountinfo}
    ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || continue
    [[ "$ns" != "$self" ]] || continue
    if awk -v d="$dev" '$3 == d { f = 1 } END { exit !f }' "$f" 2>/dev/null; then
      log_info "pv-recycle: $(basename "$mnt") still mounted by pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)); later"
      return 0
    fi
  done
  return 1
}

# pv_recycle_once: wipe every Released pool PV whose disk nobody uses, and
# make it Available again. Prints what it recycled.
pv_recycle_once() {
  local name
  for name in $(kc get pv -l gitspace.local/pool=true -o json |
    jq -r '.items[] | select(.status.phase == "Released") | .metadata.name'); do
    _pv_lock "$name"
    _pv_recycle_locked "$name"
    _pv_unlock
  done
}

_pv_recycle_locked() {
  local name=$1 mnt
  mnt=$(_pv_mnt "$name")
  # kubelet's bind mounts and the containers' mounts of this disk are gone
  # once the pod is; if one is left (pod still terminating), next round.
  if _pv_in_use "$mnt"; then return 0; fi
  _pv_umount "$name"
  _pv_format "$name" || return 0
  _pv_mount_locked "$name"
  kc patch pv "$name" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null &&
    log_info "pv-recycle: $name wiped and Available"
  return 0
}

# pv_recycler_loop: the pv-recycler daemon body.
pv_recycler_loop() {
  while true; do
    # A subshell: a `die` in one round must not end the daemon.
    (pv_recycle_once) || log_warn "pv-recycle round failed; retrying"
    sleep 3
  done
}

# storage_down: unmount every pool disk (whatever PV_COUNT was at `up`).
storage_down() {
  local mnt
  for mnt in "$PV_DIR"/mnt/gitspace-pv-*; do
    [[ -d "$mnt" ]] && _pv_umount "$(basename "$mnt")"
  done
  return 0
}

# storage_forget: delete the pool (disk images and mountpoints); after down.
storage_forget() {
  storage_down
  chattr -i "$PV_DIR"/mnt/* 2>/dev/null || true
  rm -rf "$PV_DIR"
}

# Small volumes for the full-volume test (test/chart/full-volume.sh): one PV of
# a few MiB on its own loop-mounted ext4 image, StorageClass `local-small` (no
# provisioner, no volume expansion, like `local-path`). Outside the pool: the
# pv-recycler never touches them; `small-pv-delete` removes one whole.
SMALL_PV_DIR="$CLUSTER_DATA/pv-small"

_small_pv_check() {
  [[ "$1" =~ ^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$ ]] || die "NAME: '$1' is not a PV name (lowercase letters, digits, '-', at most 42)"
}

# small_pv_create NAME SIZE: a new ext4 disk of SIZE (NMi, 16..4096) mounted
# and offered as PV NAME of StorageClass local-small. Refuses an existing NAME.
small_pv_create() {
  local name=$1 size=$2 img mnt
  _small_pv_check "$name"
  if ! [[ "$size" =~ ^[1-9][0-9]{1,3}Mi$ ]] || ((${size%Mi} < 16 || ${size%Mi} > 4096)); then
    die "SIZE: '$size' must be 16Mi..4096Mi (e.g. 128Mi)"
  fi
  kc get pv "$name" >/dev/null 2>&1 && die "PV $name exists: 'cluster.sh small-pv-delete $name' first"
  img="$SMALL_PV_DIR/images/$name.img"
  mnt="$SMALL_PV_DIR/mnt/$name"
  mkdir -p "$(dirname "$img")" "$mnt"
  mountpoint -q "$mnt" && die "$mnt is still mounted: 'cluster.sh small-pv-delete $name' first"
  truncate -s 0 "$img"
  truncate -s "${size%i}" "$img"
  # -m 0: no blocks reserved for root, so the root steps of a start (seeding,
  # the ownership marker) meet a full disk as the user's steps do.
  mkfs.ext4 -q -F -m 0 -L "${name:0:16}" "$img" || die "mkfs.ext4 $img failed"
  # As _pv_mount: the directory under the mount stays empty and immutable.
  chattr -i "$mnt" 2>/dev/null || true
  chown root:root "$mnt" && chmod 0755 "$mnt"
  chattr +i "$mnt" 2>/dev/null || true
  mount -o loop "$img" "$mnt" || die "mount -o loop $img $mnt failed (loop devices available? see 'losetup -f')"
  kc apply --server-side --force-conflicts --field-manager gitspace-cluster -f - >/dev/null <<YAML || die "applying StorageClass local-small and PV $name failed"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-small
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels: {gitspace.local/small: "true"}
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local-small
  volumeMode: Filesystem
  local:
    path: $mnt
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}
YAML
  log_info "PV $name: $size ext4 at $mnt, StorageClass local-small"
}

# small_pv_grow NAME SIZE: what an admin does to grow a local disk on its
# node: with no pod using it (the gitspace stopped), unmount, make the disk
# image bigger, e2fsck + resize2fs, mount again, raise the PV's capacity.
# Offline: an online resize (what a CSI driver's NodeExpandVolume runs) needs
# CAP_SYS_RESOURCE, which this machine's root may lack (resize2fs: "Permission
# denied to resize filesystem"; docs/chart.md, "Growing the volume").
small_pv_grow() {
  local name=$1 size=$2 img mnt
  _small_pv_check "$name"
  if ! [[ "$size" =~ ^[1-9][0-9]{1,3}Mi$ ]] || ((${size%Mi} > 4096)); then
    die "SIZE: '$size' must be 16Mi..4096Mi (e.g. 128Mi)"
  fi
  img="$SMALL_PV_DIR/images/$name.img"
  mnt="$SMALL_PV_DIR/mnt/$name"
  mountpoint -q "$mnt" || die "PV $name: $mnt is not mounted ('cluster.sh small-pv $name SIZE' makes it)"
  (($(stat -c %s "$img") < ${size%Mi} * 1048576)) || die "PV $name is $(($(stat -c %s "$img") / 1048576))Mi already: SIZE must be bigger"
  ! _pv_in_use "$mnt" || die "PV $name is used by a pod: stop the gitspace first (gitspace-chart stop RELEASE)"
  umount "$mnt" || die "umount $mnt failed"
  truncate -s "${size%i}" "$img"
  # e2fsck's status 1: errors corrected (resize2fs wants a checked disk).
  e2fsck -f -p "$img" >/dev/null 2>&1 || (($? == 1)) || die "e2fsck -f $img failed"
  resize2fs "$img" >/dev/null 2>&1 || die "resize2fs $img failed"
  mount -o loop "$img" "$mnt" || die "mount -o loop $img $mnt failed"
  kc patch pv "$name" --type merge -p "{\"spec\":{\"capacity\":{\"storage\":\"$size\"}}}" >/dev/null ||
    die "patching PV $name's capacity failed"
  log_info "PV $name grown to $size (offline: e2fsck, resize2fs)"
}

# small_pv_delete NAME: the PV, its mount and its disk image (after the pod
# and the claim are gone). Safe to repeat.
small_pv_delete() {
  local name=$1 mnt
  _small_pv_check "$name"
  mnt="$SMALL_PV_DIR/mnt/$name"
  kc delete pv "$name" --ignore-not-found --wait=true --timeout=60s >/dev/null || die "deleting PV $name failed (still bound? delete its claim first)"
  if mountpoint -q "$mnt"; then
    _pv_in_use "$mnt" && die "$mnt is still used by a pod: delete the pod first"
    umount "$mnt" || die "umount $mnt failed"
  fi
  chattr -i "$mnt" 2>/dev/null || true
  rm -rf "$mnt" "$SMALL_PV_DIR/images/$name.img"
  log_info "PV $name deleted"
}
