#!/usr/bin/env bash
# registry.sh start|stop|status|url: a local OCI registry (Debian's docker-registry,
# distribution 2.8) for charts now and devcontainer features later, run by us and not by the
# Debian systemd unit: our own config, storage and log under $GITSPACE_REGISTRY_DIR, plain
# HTTP on one address. Idempotent: `start` on a running registry only checks it answers.
#
#   GITSPACE_REGISTRY_HOST  address it listens on (default 127.0.0.1). Loopback is enough for
#                           helm on this host; the cluster's containerd can reach it only on an
#                           address its node sees (e.g. the docker0 bridge's), so set it here.
#   GITSPACE_REGISTRY_PORT  port (default 5050; not 5000, where Debian's own docker-registry
#                           unit listens on machines whose systemd started it)
#   GITSPACE_REGISTRY_DIR   config.yml, storage/, registry.log, registry.pid
#                           (default $GITSPACE_CACHE/registry)
#   GITSPACE_REGISTRY_TLS_CERT, GITSPACE_REGISTRY_TLS_KEY
#                           serve HTTPS with this certificate (PEM) instead of plain HTTP: Docker
#                           talks plain HTTP only to loopback registries, so one on a bridge
#                           address that `docker push` reaches needs TLS (test/cluster's registry)
#   GITSPACE_REGISTRY_CA    the CA that signed it, for this script's own check that it answers
#   GITSPACE_REGISTRY_HTPASSWD  an htpasswd file (bcrypt): every request needs basic auth
#
# `url` prints HOST:PORT of the running registry: helm push CHART oci://$(registry.sh url)/charts --plain-http
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

REGISTRY_HOST=${GITSPACE_REGISTRY_HOST:-127.0.0.1}
REGISTRY_PORT=${GITSPACE_REGISTRY_PORT:-5050}
REGISTRY_DIR=${GITSPACE_REGISTRY_DIR:-$GITSPACE_CACHE/registry}
REGISTRY_CONF=$REGISTRY_DIR/config.yml
REGISTRY_LOG=$REGISTRY_DIR/registry.log
REGISTRY_TLS_CERT=${GITSPACE_REGISTRY_TLS_CERT:-}
REGISTRY_TLS_KEY=${GITSPACE_REGISTRY_TLS_KEY:-}
REGISTRY_CA=${GITSPACE_REGISTRY_CA:-}
REGISTRY_HTPASSWD=${GITSPACE_REGISTRY_HTPASSWD:-}

# The pid bookkeeping of the cluster's daemons (pid, exe and start time in one file, so a
# stale pid from an earlier boot or a recycled pid is never taken for the registry and never
# killed): the same functions, pointed at this directory.
CLUSTER_RUN=$REGISTRY_DIR
CLUSTER_LOGS=$REGISTRY_DIR
# shellcheck source=test/cluster/lib/proc.sh
source "$root/test/cluster/lib/proc.sh"

usage() {
  cat >&2 <<'EOF'
usage: scripts/registry.sh start|stop|status|url
  start   start the registry unless it runs (config, storage and log in $GITSPACE_REGISTRY_DIR)
  stop    stop the registry this directory started (its recorded pid only)
  status  exit 0 when it runs and answers, print HOST:PORT
  url     print HOST:PORT of the running registry (fails when it is not running)
EOF
}

check_address() {
  if ! [[ "$REGISTRY_PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$REGISTRY_PORT < 1 || 10#$REGISTRY_PORT > 65535)); then
    die "GITSPACE_REGISTRY_PORT='$REGISTRY_PORT' is not a port: set it to a number from 1 to 65535"
  fi
  # A bare IPv4 address or host name: helm's oci:// reference and the registry's listen
  # address both take HOST:PORT, and an IPv6 literal would need brackets in each.
  [[ "$REGISTRY_HOST" =~ ^[A-Za-z0-9.-]+$ ]] ||
    die "GITSPACE_REGISTRY_HOST='$REGISTRY_HOST' is not an IPv4 address or host name: set it to e.g. 127.0.0.1"
}

# running_addr: HOST:PORT the running registry was started with (from its config).
running_addr() { sed -n 's/^  addr: *//p' "$REGISTRY_CONF"; }

# answers HOST:PORT: /v2/ answers as a registry does (200, or 401 when it asks for credentials),
# over HTTPS when the running config has a certificate.
answers() {
  local scheme=http ca=() code
  if grep -q '^  tls:' "$REGISTRY_CONF" 2>/dev/null || [[ -n "$REGISTRY_TLS_CERT" ]]; then
    scheme=https
    [[ -z "$REGISTRY_CA" ]] || ca=(--cacert "$REGISTRY_CA")
  fi
  code=$(curl -sS --max-time 2 "${ca[@]}" -o /dev/null -w '%{http_code}' "$scheme://$1/v2/") || return 1
  [[ "$code" == 200 || "$code" == 401 ]]
}

start() {
  check_address
  command -v docker-registry >/dev/null ||
    die "docker-registry not installed (Debian package docker-registry): run 'bash scripts/setup.sh'"
  local want="$REGISTRY_HOST:$REGISTRY_PORT"
  mkdir -p "$REGISTRY_DIR/storage"
  # One start at a time per directory (the chart tests and `npm run package --push` may race).
  # fd 9: proc.sh's daemon_start closes it for the daemon, so the registry never holds the lock.
  exec 9>"$REGISTRY_DIR/lock"
  flock 9
  if daemon_running registry; then
    local have
    have=$(running_addr)
    [[ "$have" == "$want" ]] ||
      die "a registry from $REGISTRY_DIR already runs at $have (pid $(daemon_pid registry)), not $want: stop it first (bash scripts/registry.sh stop) or use GITSPACE_REGISTRY_PORT=${have##*:}"
    answers "$want" || die "the registry (pid $(daemon_pid registry)) runs but http://$want/v2/ does not answer; log: $REGISTRY_LOG"
    log_info "registry already running at $want (pid $(daemon_pid registry))"
    return 0
  fi
  # Something else on the port would make our registry exit with a bind error, or worse,
  # answer in its place: refuse before starting.
  if answers "$want" 2>/dev/null; then
    die "something already answers at http://$want/v2/ that this directory did not start: stop it or choose another GITSPACE_REGISTRY_PORT"
  fi
  [[ -z "$REGISTRY_TLS_CERT$REGISTRY_TLS_KEY" || (-r "$REGISTRY_TLS_CERT" && -r "$REGISTRY_TLS_KEY") ]] ||
    die "GITSPACE_REGISTRY_TLS_CERT and GITSPACE_REGISTRY_TLS_KEY must both name readable PEM files (have '$REGISTRY_TLS_CERT', '$REGISTRY_TLS_KEY')"
  [[ -z "$REGISTRY_HTPASSWD" || -r "$REGISTRY_HTPASSWD" ]] ||
    die "GITSPACE_REGISTRY_HTPASSWD='$REGISTRY_HTPASSWD' is not a readable file: write one with 'htpasswd -Bbc FILE USER PASSWORD'"
  local tls="" auth=""
  if [[ -n "$REGISTRY_TLS_CERT" ]]; then
    tls=$(printf '  tls:\n    certificate: %s\n    key: %s\n' "$REGISTRY_TLS_CERT" "$REGISTRY_TLS_KEY")
  fi
  if [[ -n "$REGISTRY_HTPASSWD" ]]; then
    auth=$(printf 'auth:\n  htpasswd:\n    realm: gitspace-registry\n    path: %s\n' "$REGISTRY_HTPASSWD")
  fi
  # Without a certificate and htpasswd: no auth and plain HTTP on a local address, for this
  # machine's tools only. Storage deletes allowed so a test can replace what it pushed.
  write_conf "$REGISTRY_CONF" <<YAML
# Written by scripts/registry.sh; rewritten at each start.
version: 0.1
log:
  level: info
  fields:
    service: gitspace-registry
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/storage
  delete:
    enabled: true
http:
  addr: $want
  headers:
    X-Content-Type-Options: [nosniff]
${tls}
${auth}
YAML
  # distribution reads REGISTRY_* from the environment over the config file: a stray one
  # (e.g. REGISTRY_HTTP_ADDR) would move the registry away from what this script reports.
  local v
  for v in $(compgen -e); do [[ "$v" != REGISTRY_* ]] || unset "$v"; done
  GS_LOG_FILE=$REGISTRY_LOG
  daemon_start registry docker-registry serve "$REGISTRY_CONF"
  wait_for "registry at $want" 20 answers "$want" ||
    { tail -n 20 "$REGISTRY_LOG" >&2; die "the registry did not answer at http://$want/v2/ within 20 s (log: $REGISTRY_LOG)"; }
  log_info "registry at $want (storage $REGISTRY_DIR/storage, log $REGISTRY_LOG)"
}

stop() { daemon_stop registry; }

url() {
  daemon_running registry || die "no registry runs from $REGISTRY_DIR: start it with 'bash scripts/registry.sh start'"
  running_addr
}

status() {
  local addr
  addr=$(url)
  answers "$addr" || die "the registry (pid $(daemon_pid registry)) runs but http://$addr/v2/ does not answer; log: $REGISTRY_LOG"
  printf '%s\n' "$addr"
}

main() {
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    url) url ;;
    -h | --help) usage ;;
    *) usage; die "unknown command '${1:-}': use start, stop, status or url" ;;
  esac
}

main "$@"
