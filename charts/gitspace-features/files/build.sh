#!/usr/bin/env bash
# The in-cluster features build (charts/gitspace-features, templates/build.yaml), run by rootless buildah in
# gitspace-chart/builder as uid 1000. Every input comes from the environment, never from this
# script's text:
#   BASE    the gitspace image in a registry, the FROM of the context's Dockerfile
#   IMAGE   REGISTRY/REPOSITORY:KEY32 to build and push (image.repository:image.tag)
#   KEY     the content key (label org.gitspace-chart.features-key)
#   LABEL   the merged devcontainer.metadata label
#   PLAIN_HTTP  true: the registry speaks plain HTTP
#   CA_FILE the registry's CA certificate(s) (PEM), when featuresBuild.registryCA is set
#   CONTEXT the gzip tar of the build context (Dockerfile, features/, features.tsv)
#   STORE   an empty directory for buildah's storage
# A tag the registry already has is the same build (its name is the content key): not rebuilt.
# Only a finished build is pushed; a failing install.sh names its feature and pushes nothing.
set -euo pipefail

say() { printf 'gitspace-features: %s\n' "$*"; }
die() { printf 'gitspace-features: ERROR: %s\n' "$*" >&2; exit 1; }

: "${BASE:?}" "${IMAGE:?}" "${KEY:?}" "${LABEL:?}" "${CONTEXT:?}" "${STORE:?}"
scheme=https tls=true
if [[ "${PLAIN_HTTP:-false}" == true ]]; then scheme=http tls=false; fi
# buildah reads a folder of *.crt; curl one file.
certs=() cacert=()
if [[ -s "${CA_FILE:-}" ]]; then
  mkdir -p "$STORE/certs"
  cp "$CA_FILE" "$STORE/certs/ca.crt"
  certs=(--cert-dir "$STORE/certs") cacert=(--cacert "$STORE/certs/ca.crt")
fi

# manifest_status REF: the HTTP status of REF's manifest (200 there, 404 not there).
manifest_status() {
  local ref=$1 host rest repo tag
  host=${ref%%/*} rest=${ref#*/}
  repo=${rest%:*} tag=${rest##*:}
  curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -I "${cacert[@]}" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "$scheme://$host/v2/$repo/manifests/$tag"
}

check_registry() {
  local code
  code=$(manifest_status "$IMAGE") || die "the registry of $IMAGE does not answer ($scheme): check image.repository and featuresBuild.plainHttp"
  case "$code" in
    200) say "$IMAGE is already in the registry: features unchanged, not rebuilt"; exit 0 ;;
    404) ;;
    *) die "the registry answered HTTP $code for $IMAGE (anonymous push and pull are needed)" ;;
  esac
  code=$(manifest_status "$BASE") || die "the registry of $BASE does not answer ($scheme)"
  [[ "$code" == 200 ]] || die "featuresBuild.base $BASE: HTTP $code from its registry; push the gitspace image there first"
}

# failed_feature LOG: the feature whose install.sh step failed (its staging folder in the step).
failed_feature() {
  local dir
  dir=$(grep -o '/tmp/gitspace-features/[^/'"'"' ]*' "$1" | tail -n 1) || return 0
  dir=${dir##*/}
  awk -F '\t' -v d="$dir" '$1 == d { print $2 }' "$STORE/ctx/features.tsv"
}

build() {
  rm -rf "$STORE/ctx" "$STORE/root" "$STORE/run"
  mkdir -p "$STORE/ctx" "$STORE/root" "$STORE/run"
  tar -xzf "$CONTEXT" -C "$STORE/ctx"
  say "building $IMAGE FROM $BASE (buildah $(buildah --version | awk '{print $3}'), rootless, chroot isolation)"
  local log=$STORE/build.log feature
  set +e
  buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver "${STORAGE_DRIVER:-overlay}" \
    bud --isolation chroot --tls-verify="$tls" "${certs[@]}" --layers=false \
    --label "devcontainer.metadata=$LABEL" --label "org.gitspace-chart.features-key=$KEY" \
    -t "$IMAGE" "$STORE/ctx" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  if ((rc != 0)); then
    feature=$(failed_feature "$log")
    [[ -z "$feature" ]] || die "feature '$feature': install.sh failed in the in-cluster build; nothing was pushed"
    die "the features build FROM $BASE failed (output above); nothing was pushed"
  fi
  say "pushing $IMAGE"
  buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver "${STORAGE_DRIVER:-overlay}" \
    push --tls-verify="$tls" "${certs[@]}" "$IMAGE" "docker://$IMAGE"
  say "built and pushed $IMAGE"
}

check_registry
build
