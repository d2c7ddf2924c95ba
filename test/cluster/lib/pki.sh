#!/usr/bin/env bash
# Certificates and kubeconfigs, laid out as hack/local-up-cluster.sh does: a
# server CA for serving certs, a client CA for client certs, one client cert
# per component (identity = CN, groups = O), a service-account key pair.

PKI_STAMP="pki-v1-$NODE_NAME-$NODE_IP"

_ca() {
  local name=$1
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$CLUSTER_PKI/$name.key" -out "$CLUSTER_PKI/$name.crt" -subj "/CN=gitspace-$name" 2>/dev/null
}

# _cert NAME CA SUBJECT EXT: key + cert for NAME signed by CA.
_cert() {
  local name=$1 ca=$2 subj=$3 ext=$4
  local d=$CLUSTER_PKI
  printf '%s\n' "$ext" >"$d/$name.ext"
  openssl req -new -nodes -newkey rsa:2048 -keyout "$d/$name.key" -out "$d/$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -sha256 -days 3650 -in "$d/$name.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" \
    -CAcreateserial -out "$d/$name.crt" -extfile "$d/$name.ext" 2>/dev/null
  rm -f "$d/$name.csr" "$d/$name.ext"
}

_client_cert() {
  _cert "$1" client-ca "$2" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
}

# ensure_pki: (re)create everything unless a complete set for this node exists.
ensure_pki() {
  if [[ "$(cat "$CLUSTER_PKI/.stamp" 2>/dev/null)" == "$PKI_STAMP" ]]; then return 0; fi
  step "creating certificates in $CLUSTER_PKI"
  rm -rf "$CLUSTER_PKI" && mkdir -p "$CLUSTER_PKI" && chmod 700 "$CLUSTER_PKI"
  _ca server-ca
  _ca client-ca
  _cert apiserver server-ca "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$NODE_IP"
  _client_cert admin "/O=system:masters/CN=gitspace-admin"
  _client_cert controller-manager "/CN=system:kube-controller-manager"
  _client_cert scheduler "/CN=system:kube-scheduler"
  _client_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  _client_cert kube-proxy "/CN=system:kube-proxy"
  _client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  openssl genrsa -out "$CLUSTER_PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$CLUSTER_PKI/sa.key" -pubout -out "$CLUSTER_PKI/sa.pub" 2>/dev/null
  printf '%s\n' "$PKI_STAMP" >"$CLUSTER_PKI/.stamp"
  # New CAs invalidate the kubelet's self-signed serving cert and kubeconfigs.
  rm -rf "$CLUSTER_DATA/kubelet/pki"
}

# _kubeconfig FILE CERTNAME: embedded-data kubeconfig (portable, one file).
_kubeconfig() {
  local file=$1 user=$2
  # write_conf: unchanged files are left alone (mktemp makes them 0600).
  write_conf "$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: gitspace
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$CLUSTER_PKI/server-ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$CLUSTER_PKI/$user.crt")
    client-key-data: $(base64 -w0 <"$CLUSTER_PKI/$user.key")
contexts:
- name: gitspace
  context:
    cluster: gitspace
    user: $user
current-context: gitspace
YAML
}

ensure_kubeconfigs() {
  mkdir -p "$CLUSTER_CONF" "$(dirname "$GITSPACE_KUBECONFIG")"
  local c
  for c in controller-manager scheduler kubelet kube-proxy; do
    _kubeconfig "$CLUSTER_CONF/$c.kubeconfig" "$c"
  done
  _kubeconfig "$GITSPACE_KUBECONFIG" admin
}
