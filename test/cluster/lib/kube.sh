#!/usr/bin/env bash
# Host preparation and the Kubernetes daemons, as host processes like
# hack/local-up-cluster.sh runs them. Each start is skipped if already running.

kc() { "$KUBE_BIN_DIR/kubectl" --kubeconfig "$GITSPACE_KUBECONFIG" "$@"; }

# host_prep: kernel settings and the node-address bridge; all idempotent.
host_prep() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge || die "cannot create bridge $NODE_BRIDGE (needs root and the bridge module)"
  fi
  ip addr replace "$NODE_IP/32" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # kube-proxy's rules must see pod-to-service traffic crossing cni0.
  [[ -d /proc/sys/net/bridge ]] || die "/proc/sys/net/bridge missing: the br_netfilter module is not loaded (modprobe br_netfilter)"
  local kv
  for kv in net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
    fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288; do
    sysctl -qw "$kv" || die "sysctl -w $kv failed"
  done
  # kubelet's OOM watcher reads /dev/kmsg; VMs/containers may lack it (kind does the same).
  [[ -e /dev/kmsg ]] || ln -s /dev/console /dev/kmsg
  local c
  for c in cpu cpuacct cpuset memory pids; do
    [[ -d "/sys/fs/cgroup/$c" || -f /sys/fs/cgroup/cgroup.controllers ]] ||
      die "cgroup controller '$c' is not mounted under /sys/fs/cgroup: kubelet needs it"
  done
}

etcd_up() {
  mkdir -p "$CLUSTER_DATA/etcd" && chmod 700 "$CLUSTER_DATA/etcd"
  daemon_start etcd "$KUBE_BIN_DIR/etcd" --name gitspace --data-dir "$CLUSTER_DATA/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster gitspace=http://127.0.0.1:2380 --log-level warn
  wait_for etcd 60 curl -fsS http://127.0.0.1:2379/health ||
    die "etcd not healthy after 60 s (log: $CLUSTER_LOGS/etcd.log)"
}

_api_ready() {
  curl -fsS --cacert "$CLUSTER_PKI/server-ca.crt" --cert "$CLUSTER_PKI/admin.crt" --key "$CLUSTER_PKI/admin.key" \
    "https://$NODE_IP:$API_PORT/readyz"
}

apiserver_up() {
  local p=$CLUSTER_PKI
  daemon_start kube-apiserver "$KUBE_BIN_DIR/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port="$API_PORT" \
    --etcd-servers=http://127.0.0.1:2379 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --client-ca-file="$p/client-ca.crt" \
    --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --profiling=false
  wait_for kube-apiserver 120 _api_ready ||
    die "kube-apiserver not ready after 120 s (log: $CLUSTER_LOGS/kube-apiserver.log)"
}

controllers_up() {
  local p=$CLUSTER_PKI
  daemon_start kube-controller-manager "$KUBE_BIN_DIR/kube-controller-manager" \
    --kubeconfig="$CLUSTER_CONF/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$CLUSTER_CONF/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$CLUSTER_CONF/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/server-ca.crt" \
    --cluster-signing-cert-file="$p/client-ca.crt" --cluster-signing-key-file="$p/client-ca.key" \
    --use-service-account-credentials=true --controllers='*' --leader-elect=false \
    --profiling=false
  write_conf "$CLUSTER_CONF/scheduler.yaml" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $CLUSTER_CONF/scheduler.kubeconfig
leaderElection:
  leaderElect: false
YAML
  daemon_start kube-scheduler "$KUBE_BIN_DIR/kube-scheduler" \
    --config="$CLUSTER_CONF/scheduler.yaml" --bind-address=127.0.0.1 \
    --authentication-kubeconfig="$CLUSTER_CONF/scheduler.kubeconfig" \
    --authorization-kubeconfig="$CLUSTER_CONF/scheduler.kubeconfig"
}

kubelet_up() {
  mkdir -p "$CLUSTER_DATA/kubelet"
  write_conf "$CLUSTER_CONF/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CLUSTER_PKI/client-ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CTRD_SOCK
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
# There is no registry: an image removed by GC could never come back.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
serializeImagePulls: false
resolvConf: /etc/resolv.conf
maxPods: 110
YAML
  daemon_start kubelet "$KUBE_BIN_DIR/kubelet" \
    --config="$CLUSTER_CONF/kubelet.yaml" --kubeconfig="$CLUSTER_CONF/kubelet.kubeconfig" \
    --root-dir="$CLUSTER_DATA/kubelet" --cert-dir="$CLUSTER_DATA/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --pod-infra-container-image="$PAUSE_IMAGE"
}

kube_proxy_up() {
  write_conf "$CLUSTER_CONF/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CLUSTER_CONF/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the node bridge, never on eth0.
nodePortAddresses: ["$NODE_IP/32"]
# Leave the VM's conntrack table settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
YAML
  daemon_start kube-proxy "$KUBE_BIN_DIR/kube-proxy" --config="$CLUSTER_CONF/kube-proxy.yaml"
}

_node_ready() {
  [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == "True" ]]
}

wait_node_ready() {
  wait_for node 120 _node_ready ||
    die "node $NODE_NAME not Ready after 120 s (logs: $CLUSTER_LOGS/kubelet.log, containerd.log)"
  # The default service account is what test pods run as; its creation is async.
  wait_for serviceaccount 60 kc -n default get serviceaccount default ||
    die "default service account missing after 60 s (log: $CLUSTER_LOGS/kube-controller-manager.log)"
}

_service_cidr_ready() {
  [[ "$(kc get servicecidr "$EXTRA_SERVICE_CIDR_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == "True" ]]
}

# service_cidr_up: the extra Service range (common.sh), on a new cluster and
# on one created before it existed. Its spec is immutable: a different range
# under the same name means the constant changed; say how to move.
service_cidr_up() {
  local have
  have=$(kc get servicecidr "$EXTRA_SERVICE_CIDR_NAME" -o jsonpath='{.spec.cidrs[0]}' 2>/dev/null) || have=""
  if [[ -z "$have" ]]; then
    kc apply -f - >/dev/null <<YAML ||
apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata: {name: $EXTRA_SERVICE_CIDR_NAME}
spec: {cidrs: ["$EXTRA_SERVICE_CIDR"]}
YAML
      die "could not create ServiceCIDR $EXTRA_SERVICE_CIDR_NAME ($EXTRA_SERVICE_CIDR)"
  elif [[ "$have" != "$EXTRA_SERVICE_CIDR" ]]; then
    die "ServiceCIDR $EXTRA_SERVICE_CIDR_NAME is $have, common.sh says $EXTRA_SERVICE_CIDR: delete it once no Service uses an IP from it (kubectl delete servicecidr $EXTRA_SERVICE_CIDR_NAME), then run up again"
  fi
  wait_for "ServiceCIDR $EXTRA_SERVICE_CIDR" 60 _service_cidr_ready ||
    die "ServiceCIDR $EXTRA_SERVICE_CIDR_NAME not Ready after 60 s: kubectl describe servicecidr $EXTRA_SERVICE_CIDR_NAME"
}
