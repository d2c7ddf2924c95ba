#!/usr/bin/env bash
# test/parity/cases-dir-example/make.sh DIR: writes one --cases-dir case into DIR
# (DIR/tools-group), the example of docs/parity.md. scripts/parity.sh runs it on
# a folder under /tmp on every full run, so --cases-dir works from outside the
# repository: an image built FROM the reference image with a group-writable
# setgid tool directory outside HOME (/opt/tools, group tools).
set -euo pipefail
dir=${1:?usage: make.sh DIR}
case_dir="$dir/tools-group"
mkdir -p "$case_dir"
cat >"$case_dir/Dockerfile" <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
RUN groupadd --system tools \
 && usermod -aG tools vscode \
 && mkdir -p /opt/tools/bin \
 && chgrp -R tools /opt/tools \
 && chmod -R 2775 /opt/tools
DOCKERFILE
cat >"$case_dir/devcontainer.json" <<'JSON'
// The repository's .devcontainer/devcontainer.json.
{
  "build": { "dockerfile": "Dockerfile" },
  "remoteUser": "vscode"
}
JSON
cat >"$case_dir/expected.json" <<'JSON'
{
  "user": { "name": "vscode", "uid": 1000, "gid": 1000, "group": "vscode", "home": "/home/vscode" },
  "writablePaths": ["/opt/tools"],
  "dockerGitspaceStarts": true
}
JSON
printf '%s\n' "$case_dir"
