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
#   REGISTRY_AUTH_FILE  the docker config.json of featuresBuild.registrySecret, when set (skopeo
#           and buildah read it themselves)
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
# buildah and skopeo read a folder of *.crt.
certs=()
if [[ -s "${CA_FILE:-}" ]]; then
  mkdir -p "$STORE/certs"
  cp "$CA_FILE" "$STORE/certs/ca.crt"
  certs=(--cert-dir "$STORE/certs")
fi

# refused WHAT REF: the registry said no to our credentials (or to none): what to set.
refused() {
  if [[ -n "${REGISTRY_AUTH_FILE:-}" ]]; then
    die "$1 $2: the registry refused the credentials of featuresBuild.registrySecret: give a docker-registry Secret whose user may pull and push there (kubectl create secret docker-registry NAME --docker-server=${2%%/*} --docker-username=USER --docker-password=...)"
  fi
  die "$1 $2: the registry refused anonymous access: set featuresBuild.registrySecret to a docker-registry Secret in this namespace (kubectl create secret docker-registry NAME --docker-server=${2%%/*} --docker-username=USER --docker-password=...)"
}

# is_refusal TEXT: the registry's own refusal codes (distribution's UNAUTHORIZED and DENIED, as
# skopeo and buildah print them), not a local "permission denied".
is_refusal() {
  case "$1" in
    *"unauthorized: "* | *"authentication required"* | *"denied: "* | *"status 401"* | *"status 403"*) return 0 ;;
    *) return 1 ;;
  esac
}

# manifest_present WHAT REF: true when REF's manifest is in its registry, false when the registry
# says it is not; anything else ends the build naming WHAT. skopeo, like buildah, reads the
# credentials from REGISTRY_AUTH_FILE.
manifest_present() {
  local what=$1 ref=$2 out
  if out=$(skopeo inspect --raw --tls-verify="$tls" "${certs[@]}" "docker://$ref" 2>&1 >/dev/null); then return 0; fi
  # Not there: distribution's MANIFEST_UNKNOWN / NAME_UNKNOWN; Harbor's "unknown: artifact R:T not found".
  case "$out" in
    *"manifest unknown"* | *MANIFEST_UNKNOWN* | *"name unknown"* | *NAME_UNKNOWN* | *"unknown: artifact "*" not found"*) return 1 ;;
  esac
  is_refusal "$out" && refused "$what" "$ref"
  out=${out##*$'\n'}
  die "$what $ref: its registry does not answer as one ($scheme; skopeo: ${out#*msg=}): check image.repository, featuresBuild.plainHttp and featuresBuild.registryCA"
}

check_registry() {
  if manifest_present image "$IMAGE"; then
    say "$IMAGE is already in the registry: features unchanged, not rebuilt"
    exit 0
  fi
  manifest_present featuresBuild.base "$BASE" || die "featuresBuild.base $BASE: not in its registry; push the gitspace image there first"
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
  # A registry may let anyone pull and only some push: a refusal here names the Secret to set.
  local out
  if ! out=$(buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver "${STORAGE_DRIVER:-overlay}" \
    push --tls-verify="$tls" "${certs[@]}" "$IMAGE" "docker://$IMAGE" 2>&1); then
    printf '%s\n' "$out" >&2
    is_refusal "$out" && refused image "$IMAGE"
    die "pushing $IMAGE failed (buildah's output above); the tag was not pushed"
  fi
  say "built and pushed $IMAGE"
}

check_registry
build
