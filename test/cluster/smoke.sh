#!/usr/bin/env bash
# Smoke test of the local cluster (docs/cluster.md): a pod as uid 1000 with
# fsGroup 1000 on a local-path PVC, persistence across pods, exec, logs, a
# ClusterIP Service from another pod, one from the extra Service range
# (ServiceCIDR) from a pod and the host, port-forward, PV recycling, and an
# image pushed by docker to the cluster's registry, pulled by the node and
# reached by a pod.
# Needs a running cluster: bash test/cluster/cluster.sh up
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/proc.sh
source "$HERE/lib/proc.sh"
# shellcheck source=lib/runtime.sh
source "$HERE/lib/runtime.sh"
# shellcheck source=lib/images.sh
source "$HERE/lib/images.sh"
# shellcheck source=lib/kube.sh
source "$HERE/lib/kube.sh"

NS="smoke-$$"
PASS=0
FAIL=0
FAILED=()
PF_PID=""

ok() { PASS=$((PASS + 1)); printf '  ok   %s\n' "$1" >&2; }
nok() { FAIL=$((FAIL + 1)); FAILED+=("$1"); printf '  FAIL %s: %s\n' "$1" "$2" >&2; }
k() { kc -n "$NS" "$@"; }

cleanup() {
  if [[ -n "$PF_PID" ]]; then kill "$PF_PID" 2>/dev/null || true; fi
  kc delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

# pod NAME COMMAND [PVC [IMAGE PULL_POLICY]]: a busybox pod as uid/gid 1000, fsGroup 1000.
pod() {
  local name=$1 cmd=$2 pvc=${3:-} image=${4:-$SMOKE_IMAGE} policy=${5:-IfNotPresent}
  {
    cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $name
  labels: {app: $name}
spec:
  terminationGracePeriodSeconds: 2
  securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}
  containers:
  - name: main
    image: $image
    imagePullPolicy: $policy
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; $cmd; sleep 3600 & wait"]
YAML
    if [[ -n "$pvc" ]]; then
      cat <<YAML
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: $pvc}
YAML
    fi
  } | k apply -f - >/dev/null
  k wait --for=condition=Ready "pod/$name" --timeout=120s >/dev/null ||
    { k describe pod "$name" >&2; return 1; }
}

main() {
  step "cluster smoke test (namespace $NS)"
  bash "$HERE/cluster.sh" status >/dev/null ||
    die "the cluster is not up and Ready: run 'bash test/cluster/cluster.sh up' first"
  ensure_smoke_image
  kc create namespace "$NS" >/dev/null
  wait_for "default service account" 60 k get serviceaccount default ||
    die "no default service account in $NS"

  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML

  # 1. fsGroup on a local-path (local PV) volume, like a cloud disk.
  if pod writer "echo smoke-ready-\$(id -u)" data; then
    local st
    st=$(k exec writer -- stat -c '%u %g %a' /data)
    if [[ "$st" == "0 1000 2775" ]]; then ok "fsGroup: /data is root:1000 2775 (was root:root 0755)"; else nok fsGroup "stat /data = '$st', want '0 1000 2775'"; fi
    if k exec writer -- ls -a /data | grep -qx 'lost+found'; then ok "PV is a fresh ext4 disk (lost+found)"; else nok "fresh disk" "no lost+found in /data"; fi
    # 2. exec: write as uid 1000.
    if k exec writer -- sh -c 'echo persisted > /data/file && id -u && stat -c %g /data/file' | tr '\n' ' ' | grep -qx '1000 1000 '; then
      ok "kubectl exec: wrote /data/file as uid 1000, group 1000"
    else nok exec "writing /data/file as 1000 failed"; fi
    # 3. logs.
    if wait_for logs 20 sh -c "kubectl --kubeconfig '$GITSPACE_KUBECONFIG' -n '$NS' logs writer | grep -qx smoke-ready-1000"; then
      ok "kubectl logs shows the container's output"
    else nok logs "no 'smoke-ready-1000' in kubectl logs writer"; fi
    # 4. persistence across pods.
    local pv
    pv=$(k get pvc data -o jsonpath='{.spec.volumeName}')
    k delete pod writer --wait=true --timeout=60s >/dev/null
    if pod reader "true" data && [[ "$(k exec reader -- cat /data/file)" == "persisted" ]]; then
      ok "file on the PVC survives pod deletion ($pv)"
    else nok persistence "/data/file not found after re-creating the pod"; fi
  else
    nok "pod on PVC" "pod writer did not become Ready"
  fi

  # 5. ClusterIP Service, answered to another pod.
  if pod web "mkdir -p /tmp/www && echo hello-from-web > /tmp/www/index.html && httpd -p 8080 -h /tmp/www"; then
    k expose pod web --name web --port 80 --target-port 8080 >/dev/null
    local ip
    ip=$(k get service web -o jsonpath='{.spec.clusterIP}')
    # nc, not wget: Debian's static busybox wget segfaults (exit 139) when
    # exec'd directly in a pod here; nc does the same job.
    if wait_for "service web" 30 sh -c "kubectl --kubeconfig '$GITSPACE_KUBECONFIG' -n '$NS' exec reader -- \
        sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 $ip 80' | grep -qx hello-from-web"; then
      ok "ClusterIP Service $ip:80 answers from another pod"
    else nok service "HTTP GET $ip:80 from pod reader failed"; fi

    # 5b. The extra Service range (common.sh EXTRA_SERVICE_CIDR, a ServiceCIDR
    # object): Ready, and kube-proxy routes a ClusterIP from it, to a pod and
    # to the host. The IP is asked for explicitly (the allocator picks from
    # either range); one per smoke run ($$), so parallel runs do not collide.
    local xip
    xip="${EXTRA_SERVICE_CIDR%.*/*}"
    xip="${xip%.*}.$((${xip##*.} + 15)).$((2 + $$ % 250))" # in the /20's last /24
    if [[ "$(kc get servicecidr "$EXTRA_SERVICE_CIDR_NAME" -o jsonpath='{.spec.cidrs[0]} {.status.conditions[?(@.type=="Ready")].status}')" == "$EXTRA_SERVICE_CIDR True" ]]; then
      ok "ServiceCIDR $EXTRA_SERVICE_CIDR_NAME ($EXTRA_SERVICE_CIDR) is Ready beside $SERVICE_CIDR"
    else nok service-cidr "ServiceCIDR $EXTRA_SERVICE_CIDR_NAME missing or not Ready: run cluster.sh up"; fi
    if k expose pod web --name web-extra --port 80 --target-port 8080 --cluster-ip "$xip" >/dev/null &&
      wait_for "service web-extra" 30 sh -c "kubectl --kubeconfig '$GITSPACE_KUBECONFIG' -n '$NS' exec reader -- \
        sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 $xip 80' | grep -qx hello-from-web" &&
      [[ "$(curl -fsS --noproxy "*" --max-time 5 "http://$xip/")" == "hello-from-web" ]]; then
      ok "ClusterIP $xip:80 from the extra range answers from another pod and from the host"
    else nok service-extra-range "HTTP GET $xip:80 (extra Service range) from pod reader or the host failed"; fi

    # 6. port-forward, as the demo prints for the IDE.
    local pflog
    pflog=$(mktemp)
    # kubectl itself in the background, not through kc: $! of a backgrounded function is the
    # subshell running it, and killing that left kubectl forwarding after the test had ended.
    "$KUBE_BIN_DIR/kubectl" --kubeconfig "$GITSPACE_KUBECONFIG" -n "$NS" port-forward --address 127.0.0.1 pod/web 0:8080 >"$pflog" 2>&1 &
    PF_PID=$!
    local port=""
    wait_for port-forward 20 grep -q 'Forwarding from' "$pflog" &&
      port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$pflog" | head -n 1)
    if [[ -n "$port" ]] && [[ "$(curl -fsS --max-time 5 "http://127.0.0.1:$port/")" == "hello-from-web" ]]; then
      ok "kubectl port-forward to the pod works (127.0.0.1:$port)"
    else nok port-forward "$(cat "$pflog")"; fi
    kill "$PF_PID" 2>/dev/null || true
    wait "$PF_PID" 2>/dev/null || true
    local left
    if left=$(pgrep -af "kubectl .*-n $NS port-forward"); then nok port-forward-stops "still forwarding after kill: $left"
    else ok "no kubectl port-forward of namespace $NS is left once the test stops it"; fi
    PF_PID=""
    rm -f "$pflog"
  else
    nok "web pod" "pod web did not become Ready"
  fi

  # 7. The cluster's registry: docker pushes (TLS, its CA in /etc/docker/certs.d), the node's
  # containerd pulls it through hosts.toml (imagePullPolicy Always: resolved at the registry
  # on every start, never the imported copy), and a pod reaches the registry's address.
  local reg_image="$CLUSTER_REGISTRY/smoke/busybox:1"
  if docker tag "$SMOKE_IMAGE" "$reg_image" && docker push -q "$reg_image" >/dev/null &&
    pod from-registry "nc -w 3 ${CLUSTER_REGISTRY%:*} ${CLUSTER_REGISTRY#*:} </dev/null && echo registry-reached" "" "$reg_image" Always; then
    if k get events --field-selector involvedObject.name=from-registry,reason=Pulled -o jsonpath='{.items[*].message}' |
      grep -q "Successfully pulled image \"$reg_image\""; then
      ok "pod image $reg_image pushed by docker and pulled by the node from the registry"
    else nok registry-pull "no 'Successfully pulled image' event for $reg_image: $(k get events --field-selector involvedObject.name=from-registry -o jsonpath='{.items[*].message}')"; fi
    if wait_for "registry from a pod" 20 sh -c "kubectl --kubeconfig '$GITSPACE_KUBECONFIG' -n '$NS' logs from-registry | grep -qx registry-reached"; then
      ok "a pod reaches the registry at $CLUSTER_REGISTRY"
    else nok registry-from-pod "pod from-registry could not connect to $CLUSTER_REGISTRY"; fi
  else
    nok registry-pull "pushing $reg_image or starting a pod from it failed: $(k describe pod from-registry 2>&1 | tail -n 5)"
  fi

  # 8. PV recycling: deleting the claim wipes the disk and frees the PV.
  if [[ -n "${pv:-}" ]]; then
    kc delete namespace "$NS" --wait=true --timeout=120s >/dev/null
    if wait_for "PV $pv Available" 60 sh -c "[ \"\$(kubectl --kubeconfig '$GITSPACE_KUBECONFIG' get pv '$pv' -o jsonpath='{.status.phase}')\" = Available ]" &&
      [[ "$(kc get pv "$pv" -o jsonpath='{.spec.local.path}' | xargs ls -A)" == "lost+found" ]]; then
      ok "released PV $pv was wiped and is Available again"
    else nok pv-recycle "PV $pv: phase $(kc get pv "$pv" -o jsonpath='{.status.phase}'), log: $CLUSTER_LOGS/pv-recycler.log"; fi
  fi

  printf '\nsmoke: %d passed, %d failed%s\n' "$PASS" "$FAIL" "${FAILED[*]:+ (${FAILED[*]})}" >&2
  ((FAIL == 0))
}

main "$@"
