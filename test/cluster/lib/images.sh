#!/usr/bin/env bash
# Local images: there is no registry, so every image a pod uses is built here
# with Docker and imported into the cluster's containerd (`load-image`).

# _pause_binary: a static Go "pause" (what the sandbox container runs: hold
# the pod's namespaces, exit on TERM/INT, reap zombies).
_pause_binary() {
  local dir="$CLUSTER_DIR/build/pause"
  if [[ -x "$dir/pause" ]]; then return 0; fi
  mkdir -p "$dir"
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
GO
  printf 'module gitspace.local/pause\n\ngo 1.24\n' >"$dir/go.mod"
  (cd "$dir" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o pause.tmp . && mv pause.tmp pause) ||
    die "building the pause binary failed"
}

# _docker_import_rootfs IMAGE DIR CMD_JSON: a one-layer image from a folder.
_docker_import_rootfs() {
  local image=$1 dir=$2 cmd=$3
  tar -C "$dir" --numeric-owner -c . |
    docker import --change "CMD $cmd" - "$image" >/dev/null ||
    die "docker import of $image failed"
}

# ensure_pause_image: build it in Docker once, then load it into containerd.
ensure_pause_image() {
  docker_up 9>&-
  if ! docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1; then
    _pause_binary
    local root
    root=$(mktemp -d)
    cp "$CLUSTER_DIR/build/pause/pause" "$root/pause"
    _docker_import_rootfs "$PAUSE_IMAGE" "$root" '["/pause"]'
    rm -rf "$root"
    log_info "built $PAUSE_IMAGE"
  fi
  load_image "$PAUSE_IMAGE"
}

# ensure_smoke_image: busybox-static (Debian) as a tiny image with sh, httpd,
# wget, nc: enough for the smoke test. Independent of the gitspace image.
ensure_smoke_image() {
  docker_up 9>&-
  if ! docker image inspect "$SMOKE_IMAGE" >/dev/null 2>&1; then
    [[ -x /bin/busybox ]] || die "/bin/busybox missing: apt-get install busybox-static"
    local root
    root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    local app
    for app in $("$root/bin/busybox" --list); do
      [[ -e "$root/bin/$app" ]] || ln -s busybox "$root/bin/$app"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nuser:x:1000:\n' >"$root/etc/group"
    _docker_import_rootfs "$SMOKE_IMAGE" "$root" '["/bin/sh"]'
    rm -rf "$root"
    log_info "built $SMOKE_IMAGE"
  fi
  load_image "$SMOKE_IMAGE"
}

# _image_config_digest_ctr IMAGE: the config digest containerd holds for
# IMAGE (equals Docker's image ID for an image imported from `docker save`).
_image_config_digest_ctr() {
  local ref=$1 target
  target=$(ctr_k8s images ls -q "name==$ref" 2>/dev/null | head -n 1)
  [[ -n "$target" ]] || return 1
  target=$(ctr_k8s images ls "name==$ref" | awk 'NR==2 {print $3}')
  ctr_k8s content get "$target" | jq -r '.config.digest'
}

# _normalize_ref IMAGE: the name containerd stores (docker.io/library/...).
_normalize_ref() {
  local ref=$1 first=${1%%/*}
  if [[ "$ref" != */* ]]; then
    ref="docker.io/library/$ref"
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then
    ref="docker.io/$ref"
  fi
  printf '%s\n' "$ref"
}

# load_image IMAGE:TAG: make a docker-built image usable by pods. No-op when
# containerd already holds the same image ID.
load_image() {
  local image=$1
  [[ "$image" == *:* && "${image##*:}" != "latest" && "${image##*/}" == *:* ]] ||
    die "load-image: '$image' needs an explicit tag other than 'latest' (pods use imagePullPolicy IfNotPresent and there is no registry)"
  docker image inspect "$image" >/dev/null 2>&1 ||
    die "load-image: docker has no image '$image' (build it with docker build -t $image first)"
  # Image builds may run before `up`: the runtime alone is cheap to start, and
  # `up` later finds it running (and `down` stops it).
  daemon_running containerd || containerd_up
  local id have ref
  id=$(docker image inspect --format '{{.Id}}' "$image")
  ref=$(_normalize_ref "$image")
  have=$(_image_config_digest_ctr "$ref" || true)
  if [[ "$have" == "$id" ]]; then
    log_info "load-image: $image already loaded ($id)"
    return 0
  fi
  log_info "load-image: importing $image ($id) into the cluster's containerd"
  docker save "$image" | ctr_k8s images import - >/dev/null ||
    die "load-image: ctr images import of $image failed"
  have=$(_image_config_digest_ctr "$ref" || true)
  [[ "$have" == "$id" ]] || die "load-image: after import containerd has '$have' for $ref, expected $id"
}
