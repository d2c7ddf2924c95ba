#!/usr/bin/env bash
# Builds the pinned Kubernetes binaries (and etcd) once per machine from the
# Go module proxy into $GITSPACE_CACHE/cluster/bin-<version>. Sourced by
# cluster.sh; expects lib/common.sh to be sourced first.

# Six kube commands plus etcd in ONE `go build`: they share ~90% of their
# packages, so one invocation compiles each shared package once.
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# _kube_replaces: one `replace k8s.io/X => k8s.io/X vMINOR` line per staging
# module, read from the published go.mod (it pins them all to v0.0.0 and
# replaces them with ./staging paths that do not exist in the module zip).
_kube_replaces() {
  local gomod
  # From / : outside any module, whatever the caller's directory holds.
  gomod=$(cd / && GOWORK=off GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | jq -r .GoMod) || gomod=""
  [[ -f "$gomod" ]] || die "go mod download k8s.io/kubernetes@$KUBE_VERSION gave no go.mod (is the Go module proxy reachable?)"
  sed -n 's|^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*|\1|p' "$gomod" |
    while read -r mod; do printf 'replace %s => %s %s\n' "$mod" "$mod" "$KUBE_STAGING_VERSION"; done
}

# _kube_wrapper_module DIR: a throwaway module that requires k8s.io/kubernetes
# and lists the commands as `tool`s so `go mod tidy` resolves all their deps.
_kube_wrapper_module() {
  local dir=$1
  mkdir -p "$dir/etcd"
  {
    printf 'module gitspace.local/kubebuild\n\ngo 1.24.0\n\n'
    printf 'require k8s.io/kubernetes %s\n\n' "$KUBE_VERSION"
    _kube_replaces
    printf '\n'
    local c
    for c in "${KUBE_CMDS[@]}"; do printf 'tool k8s.io/kubernetes/cmd/%s\n' "$c"; done
  } >"$dir/go.mod"
  # etcd's own main package is in the root module go.etcd.io/etcd/v3, whose
  # go.mod has replace directives (so `go install` refuses it). etcdmain is
  # the whole server; calling it from our module also builds etcd against the
  # exact etcd version k8s.io/kubernetes was tested with.
  cat >"$dir/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  # cri-clean: stop and remove every pod sandbox through the CRI (so CNI DEL
  # runs and mounts go) on `down`; crictl would be a separate module build.
  mkdir -p "$dir/cri-clean"
  cat >"$dir/cri-clean/main.go" <<'GO'
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cri-clean /path/to/cri.sock")
		os.Exit(2)
	}
	conn, err := grpc.NewClient("unix://"+os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cri-clean:", err)
		os.Exit(1)
	}
	defer conn.Close()
	rt := runtime.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	list, err := rt.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cri-clean: list sandboxes:", err)
		os.Exit(1)
	}
	failed := false
	for _, sb := range list.Items {
		name := sb.Metadata.Namespace + "/" + sb.Metadata.Name
		if _, err := rt.StopPodSandbox(ctx, &runtime.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			fmt.Fprintln(os.Stderr, "cri-clean: stop", name, err)
			failed = true
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtime.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			fmt.Fprintln(os.Stderr, "cri-clean: remove", name, err)
			failed = true
			continue
		}
		fmt.Println("removed pod sandbox", name)
	}
	if failed {
		os.Exit(1)
	}
}
GO
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go mod tidy) ||
    die "go mod tidy failed in $dir (see above): the pinned versions may not be served by the module proxy"
}

# Bump when the set of binaries or flags changes: the cache then rebuilds
# (cheaply, the Go build cache still has every package).
BUILD_RECIPE="kube-$KUBE_VERSION-r2"

# build_kube: build everything into $KUBE_BIN_DIR unless already there.
build_kube() {
  local marker="$KUBE_BIN_DIR/.complete"
  if [[ "$(cat "$marker" 2>/dev/null)" == "$BUILD_RECIPE" ]]; then return 0; fi
  # Replacing binaries under running daemons would make them look dead.
  local d
  for d in kube-apiserver kubelet etcd; do
    daemon_running "$d" && die "the binaries must be rebuilt ($BUILD_RECIPE) but $d still runs: 'bash test/cluster/cluster.sh down' first"
  done
  local work="$GITSPACE_CACHE/cluster/build/kube-$KUBE_VERSION"
  local out="$KUBE_BIN_DIR.tmp"
  step "building Kubernetes $KUBE_VERSION + etcd from the Go module proxy (cold: ~20 min on 2 cores; cached afterwards)"
  rm -rf "$work" "$out"
  mkdir -p "$work" "$out"
  _kube_wrapper_module "$work"
  local pkgs=() c
  for c in "${KUBE_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  pkgs+=("./etcd" "./cri-clean")
  local v=${KUBE_VERSION#v}
  local ldflags="-s -w"
  local key val
  for key in gitVersion gitMajor gitMinor gitTreeState buildDate; do
    case $key in
      gitVersion) val=$KUBE_VERSION ;;
      gitMajor) val=${v%%.*} ;;
      gitMinor) val=$(cut -d. -f2 <<<"$v") ;;
      gitTreeState) val=clean ;;
      buildDate) val=1970-01-01T00:00:00Z ;; # reproducible
    esac
    ldflags+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
  done
  local log="$CLUSTER_LOGS/build-kube-$KUBE_VERSION.log"
  log_info "go build log: $log (progress: one line per package compiled)"
  # -v prints each package as it is compiled: that is the progress shown.
  (
    cd "$work" || exit 1
    GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod go build -v -trimpath \
      -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"
  ) >"$log" 2>&1 &
  local pid=$! n last=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    n=$(wc -l <"$log")
    if ((n != last)); then log_info "  build: $n packages compiled so far (of ~2650)"; last=$n; fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$log" >&2
    die "go build of Kubernetes $KUBE_VERSION failed (log: $log)"
  fi
  printf '%s\n' "$BUILD_RECIPE" >"$out/.complete"
  rm -rf "$KUBE_BIN_DIR" && mv "$out" "$KUBE_BIN_DIR"
  log_info "built into $KUBE_BIN_DIR: ${KUBE_CMDS[*]} etcd cri-clean"
}
