#!/usr/bin/env bash
# Shared settings of the cluster harness. Sourced by cluster.sh and smoke.sh.

# Settings are used by the other lib files.
# shellcheck disable=SC2034
CLUSTER_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CLUSTER_LIB_DIR/../../.." && pwd)
# shellcheck source=../../../scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

# Pinned versions: bump here; the binary cache re-keys itself.
KUBE_VERSION="v1.34.4"
KUBE_STAGING_VERSION="v0.${KUBE_VERSION#v1.}" # k8s.io/api etc. are v0.34.N

CLUSTER_DIR="$GITSPACE_CACHE/cluster"
CLUSTER_LOGS="$CLUSTER_DIR/logs"
CLUSTER_RUN="$CLUSTER_DIR/run"       # pid files
CLUSTER_PKI="$CLUSTER_DIR/pki"
CLUSTER_CONF="$CLUSTER_DIR/conf"
CLUSTER_DATA="$CLUSTER_DIR/data"     # etcd, kubelet, containerd roots
KUBE_BIN_DIR="$CLUSTER_DIR/bin-$KUBE_VERSION"

NODE_NAME="gitspace-node"
SERVICE_CIDR="10.0.0.0/24"
API_SERVICE_IP="10.0.0.1"
# More ClusterIPs beside the /24 above (every gitspace keeps a Service; the
# fleet bench installs 300): a ServiceCIDR object (networking.k8s.io/v1, GA
# in 1.33) that `up` applies, since the apiserver's own range flag cannot
# change on an existing cluster. Overlaps none of the ranges here nor
# Docker's 172.17.0.0/16.
EXTRA_SERVICE_CIDR_NAME="gitspace-extra"
EXTRA_SERVICE_CIDR="10.0.16.0/20"
POD_CIDR="10.88.0.0/16"
API_PORT=6443
# Our own bridge (no ports) carries the node/API address: stable, local to
# this machine, independent of eth0 or a default route. The kernel here has
# no dummy-interface module, so a bridge is used.
NODE_BRIDGE="gitspace0"
NODE_IP="10.87.0.1"

# A second containerd, separate from the one dockerd runs at /run/containerd.
CTRD_ROOT="$CLUSTER_DATA/containerd"
CTRD_STATE="/run/gitspace-containerd"
CTRD_SOCK="$CTRD_STATE/containerd.sock"
CTRD_NS="k8s.io"

# The registry the cluster pulls from (lib/registry.sh): on the node address, which the
# node's containerd, the pods and this host's `docker push` all reach; HTTPS with a
# certificate from the cluster's server CA (Docker talks plain HTTP to loopback only).
CLUSTER_REGISTRY_PORT="${GITSPACE_CLUSTER_REGISTRY_PORT:-5051}"
CLUSTER_REGISTRY="$NODE_IP:$CLUSTER_REGISTRY_PORT"
CLUSTER_REGISTRY_DIR="$GITSPACE_CACHE/registry-cluster"
# containerd's registry host configs (config_path): one HOST:PORT/hosts.toml per registry.
CTRD_HOSTS_DIR="$CLUSTER_CONF/registry-hosts"

PAUSE_IMAGE="gitspace.local/pause:3.10"
SMOKE_IMAGE="gitspace.local/smoke-busybox:1"

mkdir -p "$CLUSTER_LOGS" "$CLUSTER_RUN"
