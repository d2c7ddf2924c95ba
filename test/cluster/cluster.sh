#!/usr/bin/env bash
# Single-node Kubernetes for the tests and the demo, from upstream sources,
# with no container registry. See docs/cluster.md.
#
#   cluster.sh up                 build once (cached), start what is not running,
#                                 print the kubeconfig path on stdout
#   cluster.sh down               stop what `up` started, remove pod containers,
#                                 unmount what it mounted (cluster state is kept)
#   cluster.sh status             exit 0 only if every daemon runs and the node is Ready
#   cluster.sh load-image IMG:TAG make a docker-built image usable by pods
#   cluster.sh pv-recycle         wipe Released pool PVs and make them Available now
#   cluster.sh small-pv NAME SIZE a PV of SIZE (16Mi..4096Mi), StorageClass local-small
#   cluster.sh small-pv-grow NAME SIZE  grow it on the node (no pod on it: offline resize2fs)
#   cluster.sh small-pv-delete NAME  remove it (PV, mount, disk image)
#   cluster.sh reset              down, then forget all cluster state (etcd, PVs);
#                                 binaries and images stay cached
#   cluster.sh kubeconfig         print the kubeconfig path
#   cluster.sh registry           print HOST:PORT of the registry the cluster pulls from
#                                 (HTTPS, CA: pki/server-ca.crt; see lib/registry.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/proc.sh
source "$HERE/lib/proc.sh"
# shellcheck source=lib/build.sh
source "$HERE/lib/build.sh"
# shellcheck source=lib/pki.sh
source "$HERE/lib/pki.sh"
# shellcheck source=lib/runtime.sh
source "$HERE/lib/runtime.sh"
# shellcheck source=lib/images.sh
source "$HERE/lib/images.sh"
# shellcheck source=lib/registry.sh
source "$HERE/lib/registry.sh"
# shellcheck source=lib/kube.sh
source "$HERE/lib/kube.sh"
# shellcheck source=lib/storage.sh
source "$HERE/lib/storage.sh"

# Start order; `down` stops in reverse (kubelet and runtime first, see cmd_down).
DAEMONS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pv-recycler)

# One `up`/`down` at a time (the test suite and the demo may both call up).
_lock() {
  exec 9>"$CLUSTER_RUN/lock"
  flock -w 900 9 || die "another cluster.sh holds $CLUSTER_RUN/lock for 15 min"
}

preflight() {
  [[ $(id -u) == 0 ]] || die "cluster.sh must run as root (kubelet, mounts, iptables)"
  local c missing=()
  for c in go containerd containerd-shim-runc-v2 ctr runc dockerd docker openssl iptables conntrack jq \
    mkfs.ext4 losetup findmnt ip curl flock setsid; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/firewall ]] || missing+=("/usr/lib/cni/{bridge,firewall}")
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (Debian: apt-get install containerd runc docker.io containernetworking-plugins conntrack iptables jq e2fsprogs openssl curl; Go at /usr/local/go)"
}

link_tools() {
  mkdir -p "$GITSPACE_BIN"
  ln -sfn "$KUBE_BIN_DIR/kubectl" "$GITSPACE_BIN/kubectl"
}

cmd_up() {
  local t0=$SECONDS
  preflight
  _lock
  build_kube
  link_tools
  step "starting the cluster (logs: $CLUSTER_LOGS)"
  host_prep
  ensure_pki
  ensure_kubeconfigs
  docker_up 9>&-
  cluster_registry_up
  containerd_up
  ensure_pause_image
  etcd_up
  apiserver_up
  controllers_up
  service_cidr_up # after the controllers: kube-controller-manager sets its Ready
  storage_mount
  kubelet_up
  kube_proxy_up
  wait_node_ready
  storage_up
  pv_recycler_up
  log_info "cluster up in $((SECONDS - t0)) s; node $NODE_NAME Ready; KUBECONFIG=$GITSPACE_KUBECONFIG"
  printf '%s\n' "$GITSPACE_KUBECONFIG"
}

# pv_recycler_up: the pv-recycler runs the code of this checkout. A daemon
# started by an older one keeps its old functions in memory (the recycler
# without the pool disks' lock raced `up` after the fix had landed), so it is
# restarted when the cluster scripts' hash differs from the one it started with.
pv_recycler_up() {
  local code stamp="$CLUSTER_RUN/pv-recycler.code"
  code=$(cat "$HERE/cluster.sh" "$HERE"/lib/*.sh | sha256sum | cut -c1-16)
  if daemon_running pv-recycler && [[ "$(cat "$stamp" 2>/dev/null)" != "$code" ]]; then
    log_info "pv-recycler: the cluster scripts changed since it started: restarting it"
    daemon_stop pv-recycler
  fi
  daemon_start pv-recycler bash "$HERE/cluster.sh" _pv-recycler
  printf '%s\n' "$code" >"$stamp"
}

# _umount_under DIR: unmount everything mounted at or below DIR, deepest
# first (kubelet also bind-mounts its root dir onto itself).
_umount_under() {
  local dir=$1 m
  findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || log_warn "could not unmount $m"
  done
}

cmd_down() {
  _lock
  daemon_stop pv-recycler
  # kubelet first, so nothing restarts the containers we remove next.
  daemon_stop kubelet
  if daemon_running containerd && [[ -x "$KUBE_BIN_DIR/cri-clean" ]]; then
    "$KUBE_BIN_DIR/cri-clean" "$CTRD_SOCK" >&2 || log_warn "some pod sandboxes could not be removed (see above)"
  fi
  daemon_stop containerd
  _umount_under "$CLUSTER_DATA/kubelet"
  _umount_under "$CTRD_STATE"
  _umount_under "$CTRD_ROOT"
  daemon_stop kube-proxy
  if [[ -x "$KUBE_BIN_DIR/kube-proxy" ]]; then
    # Remove the KUBE-* iptables chains (the next `up` recreates them).
    "$KUBE_BIN_DIR/kube-proxy" --cleanup >>"$CLUSTER_LOGS/kube-proxy.log" 2>&1 || true
  fi
  daemon_stop kube-scheduler
  daemon_stop kube-controller-manager
  daemon_stop kube-apiserver
  daemon_stop etcd
  GITSPACE_REGISTRY_DIR=$CLUSTER_REGISTRY_DIR bash "$REPO_ROOT/scripts/registry.sh" stop 9>&-
  storage_down
  if ip link show cni0 >/dev/null 2>&1; then ip link del cni0 || true; fi
  rm -rf "$CLUSTER_DATA/cni-ipam"
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then ip link del "$NODE_BRIDGE" || true; fi
  log_info "cluster down (state kept in $CLUSTER_DATA; 'cluster.sh reset' forgets it)"
}

cmd_status() {
  local d rc=0
  for d in "${DAEMONS[@]}"; do
    if daemon_running "$d"; then
      printf '%-24s running (pid %s)\n' "$d" "$(daemon_pid "$d")"
    else
      printf '%-24s NOT running\n' "$d"
      rc=1
    fi
  done
  if [[ ! -x "$KUBE_BIN_DIR/kubectl" || ! -f "$GITSPACE_KUBECONFIG" ]]; then
    echo "cluster never started on this machine: run 'bash test/cluster/cluster.sh up'"
    return 1
  fi
  kc get nodes -o wide || return 1
  if ! _node_ready; then
    echo "node $NODE_NAME is not Ready"
    rc=1
  fi
  return "$rc"
}

cmd_reset() {
  cmd_down
  _lock
  # Images (containerd root) and binaries stay: they are the slow part.
  storage_forget
  rm -rf "$CLUSTER_DATA/etcd" "$CLUSTER_DATA/kubelet"
  log_info "cluster state forgotten; next 'up' starts an empty cluster"
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    kubeconfig) printf '%s\n' "$GITSPACE_KUBECONFIG" ;;
    registry) printf '%s\n' "$CLUSTER_REGISTRY" ;;
    load-image)
      (($# >= 1)) || die "usage: cluster.sh load-image IMAGE:TAG [IMAGE:TAG...]"
      docker_up 9>&-
      local img
      for img in "$@"; do load_image "$img"; done
      ;;
    pv-recycle) pv_recycle_once ;;
    small-pv) (($# == 2)) || die "usage: cluster.sh small-pv NAME SIZE"; small_pv_create "$1" "$2" ;;
    small-pv-grow) (($# == 2)) || die "usage: cluster.sh small-pv-grow NAME SIZE"; small_pv_grow "$1" "$2" ;;
    small-pv-delete) (($# == 1)) || die "usage: cluster.sh small-pv-delete NAME"; small_pv_delete "$1" ;;
    _pv-recycler) pv_recycler_loop ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

# Run unless sourced (sourcing gives the functions, e.g. for debugging).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
