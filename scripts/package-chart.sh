#!/usr/bin/env bash
# package-chart.sh [--push] [OUT_DIR] [REPO_URL]: the chart as platform teams consume it.
#
#   OUT_DIR (default dist/charts) becomes a Helm chart repository: the signed package
#   gitspace-VERSION.tgz, its provenance file gitspace-VERSION.tgz.prov, and index.yaml (helm
#   repo index). Serve the directory over HTTP and `helm repo add NAME URL`. REPO_URL, if
#   given, is written into index.yaml as the charts' base URL; without it the entries are
#   relative (any server works).
#
#   --push (or GITSPACE_CHART_PUSH=1) also pushes the package and its provenance to the local
#   OCI registry (scripts/registry.sh, started if it is not running):
#   oci://HOST:PORT/charts/gitspace, plain HTTP. Without it no registry is needed.
#
# Signing: with the key named by GITSPACE_CHART_SIGN_KEY in the legacy secret keyring
# GITSPACE_CHART_SIGN_KEYRING (what `helm package --sign` reads), or by default with a test key
# generated once per machine into $GITSPACE_CACHE/gpg/ (pubring.gpg there is what
# `helm pull/install --verify --keyring` needs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

chart=$root/charts/gitspace
GPG_DIR=$GITSPACE_CACHE/gpg
TEST_KEY_NAME="gitspace-chart test signing key <chart-signing@gitspace-chart.invalid>"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

# test_signing_key: the test key's legacy keyrings in $GPG_DIR, made once per machine.
# helm reads only the old keyring format (secring.gpg/pubring.gpg), which gpg 2 no longer keeps:
# the key is made in a gpg home of its own and exported to both files. No passphrase: it is a
# test key, and helm signs with no prompt.
test_signing_key() {
  [[ -s "$GPG_DIR/secring.gpg" && -s "$GPG_DIR/pubring.gpg" ]] && return 0
  command -v gpg >/dev/null || die "gpg not found (Debian package gnupg): run 'bash scripts/setup.sh'"
  mkdir -p "$GPG_DIR"
  # Two packagers at once (the chart tests and a user's npm run package) make one key.
  exec 8>"$GPG_DIR/lock"
  flock 8
  [[ -s "$GPG_DIR/secring.gpg" && -s "$GPG_DIR/pubring.gpg" ]] && { exec 8>&-; return 0; }
  log_info "making the chart's test signing key (once per machine) in $GPG_DIR"
  local home=$GPG_DIR/gnupg
  rm -rf "$home" "$GPG_DIR"/*.tmp
  mkdir -m 700 "$home"
  GS_LOG_FILE=$GPG_DIR/keygen.log
  gpg --homedir "$home" --batch --passphrase '' --quick-gen-key "$TEST_KEY_NAME" rsa3072 sign never >"$GS_LOG_FILE" 2>&1 ||
    die "gpg could not make the test signing key (log: $GS_LOG_FILE)"
  gpg --homedir "$home" --batch --pinentry-mode loopback --passphrase '' --export-secret-keys "$TEST_KEY_NAME" >"$GPG_DIR/secring.gpg.tmp"
  gpg --homedir "$home" --batch --export "$TEST_KEY_NAME" >"$GPG_DIR/pubring.gpg.tmp"
  # gpg left an agent running for this home: it is ours, stop it.
  gpgconf --homedir "$home" --kill all
  mv "$GPG_DIR/pubring.gpg.tmp" "$GPG_DIR/pubring.gpg"
  mv "$GPG_DIR/secring.gpg.tmp" "$GPG_DIR/secring.gpg"
  unset GS_LOG_FILE
  exec 8>&-
}

# lint_chart CHART [HELM LINT FLAGS...]: helm lint --strict, or stop naming the chart.
lint_chart() {
  local lint
  if ! lint=$(helm lint --strict "$@" 2>&1); then
    printf '%s\n' "$lint" >&2
    die "helm lint --strict $1 failed (above): fix the chart before packaging"
  fi
}

main() {
  local push=${GITSPACE_CHART_PUSH:-} args=() a
  for a in "$@"; do
    case "$a" in
      --push) push=1 ;;
      -h | --help) usage; return 0 ;;
      -*) usage; die "unknown option '$a': the options are --push and --help" ;;
      *) args+=("$a") ;;
    esac
  done
  case "$push" in 1 | "" | 0) ;; *) die "GITSPACE_CHART_PUSH='$push': set it to 1 to push to the local registry, or unset it" ;; esac
  ((${#args[@]} <= 2)) || { usage; die "too many arguments (${args[*]}): give at most OUT_DIR and REPO_URL"; }
  local out=${args[0]:-$root/dist/charts} url=${args[1]:-}

  local key keyring
  if [[ -n "${GITSPACE_CHART_SIGN_KEY:-}${GITSPACE_CHART_SIGN_KEYRING:-}" ]]; then
    key=${GITSPACE_CHART_SIGN_KEY:-}
    keyring=${GITSPACE_CHART_SIGN_KEYRING:-}
    [[ -n "$key" ]] || die "GITSPACE_CHART_SIGN_KEYRING is set but GITSPACE_CHART_SIGN_KEY is not: set it to the name of the key in that keyring"
    [[ -n "$keyring" ]] || die "GITSPACE_CHART_SIGN_KEY is set but GITSPACE_CHART_SIGN_KEYRING is not: set it to the legacy secret keyring (secring.gpg) holding the key"
    [[ -r "$keyring" ]] || die "GITSPACE_CHART_SIGN_KEYRING=$keyring is not a readable file: point it at a legacy secret keyring (gpg --export-secret-keys > secring.gpg)"
  else
    test_signing_key
    key=$TEST_KEY_NAME
    keyring=$GPG_DIR/secring.gpg
  fi

  command -v helm >/dev/null || die "helm not found: run 'bash scripts/setup.sh' first"
  # A broken chart must not be published: lint them as CI does first (the features chart with a
  # build's values: its defaults have nothing to build and fail on purpose).
  lint_chart "$chart"
  lint_chart "$root/charts/gitspace-scripts"
  lint_chart "$root/charts/gitspace-features" -f "$root/charts/gitspace-features/ci/build-values.yaml"

  mkdir -p "$out"
  local version tgz
  version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
  tgz=$out/gitspace-$version.tgz
  # --sign writes gitspace-VERSION.tgz.prov next to the package: the chart's sha256 signed
  # with the key, which `--verify` checks against the user's keyring.
  # The package is the chart as scripts/slim-chart.mjs leaves it: Helm stores the whole chart in
  # every release Secret, once per gitspace and revision (docs/fleet.md); it renders the same.
  local stage
  stage=$(mktemp -d "${TMPDIR:-/tmp}/gitspace-package.XXXXXX")
  node "$root/scripts/slim-chart.mjs" "$chart" "$stage/gitspace"
  helm package "$stage/gitspace" --destination "$out" --sign --key "$key" --keyring "$keyring" >/dev/null ||
    { rm -rf "$stage"; die "helm package --sign with key '$key' from $keyring failed (helm's message above): is that the key's name (gpg --list-secret-keys)?"; }
  rm -rf "$stage"
  # The shared scripts (one ConfigMap per namespace, installed before the gitspaces) beside it.
  helm package "$root/charts/gitspace-scripts" --destination "$out" --sign --key "$key" --keyring "$keyring" >/dev/null ||
    die "helm package --sign of charts/gitspace-scripts failed"
  # The opt-in in-cluster features build, installed before a gitspace that uses it.
  helm package "$root/charts/gitspace-features" --destination "$out" --sign --key "$key" --keyring "$keyring" >/dev/null ||
    die "helm package --sign of charts/gitspace-features failed"
  [[ -s "$tgz.prov" ]] || die "helm package --sign wrote no $tgz.prov"
  if [[ -n "$url" ]]; then
    helm repo index "$out" --url "$url"
  else
    helm repo index "$out"
  fi
  log_info "chart repository in $out: gitspace-$version.tgz, gitspace-scripts-$version.tgz, gitspace-features-$version.tgz (each with .prov), index.yaml"

  if [[ "$push" == 1 ]]; then
    bash "$here/registry.sh" start
    local addr
    addr=$(bash "$here/registry.sh" url)
    # helm push sends the .prov found next to the package as a layer of the same artifact,
    # so `helm pull/install oci://... --verify` can check it.
    helm push "$tgz" "oci://$addr/charts" --plain-http
    log_info "pushed oci://$addr/charts/gitspace:$version (with provenance)"
  fi
}

main "$@"
