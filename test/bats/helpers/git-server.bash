# shellcheck shell=bash
# A git smart-HTTP server with basic auth for the clone tests, started per
# test file on an address the file chooses (127.0.0.1 for --network host
# containers, the docker0 gateway for bridged ones). Stopped by its pid.

# git_server_fixtures DIR: bare repos in DIR/repos and the password file.
#   plain.git  branches main and dev, no devcontainer.json
#   withdc.git .devcontainer/devcontainer.json (JSONC) naming remoteUser vscode
#   cuonly.git .devcontainer/devcontainer.json with containerUser root only
#   big.git    ~3 MB of incompressible data (for the killed-clone test)
git_server_fixtures() {
  local d=$1 w
  mkdir -p "$d/repos" "$d/static"
  GIT_PASSWORD="pw-$(date +%s%N | sha256sum | cut -c1-16)"
  printf '%s\n' "$GIT_PASSWORD" >"$d/password"
  w=$(mktemp -d)
  (
    cd "$w" || exit 1
    export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
    git init -q -b main plain && cd plain && echo hello >README && git add README && git commit -qm init &&
      git checkout -qb dev && echo dev >DEV && git add DEV && git commit -qm dev && git checkout -q main && cd ..
    git clone -q --bare plain "$d/repos/plain.git"
    git init -q -b main withdc && cd withdc && mkdir .devcontainer &&
      printf '// JSONC\n{\n  "image": "x", /* c */\n  "remoteUser": "vscode",\n}\n' >.devcontainer/devcontainer.json &&
      git add -A && git commit -qm dc && cd ..
    git clone -q --bare withdc "$d/repos/withdc.git"
    git init -q -b main cuonly && cd cuonly && mkdir .devcontainer &&
      printf '{ "image": "x", "containerUser": "root" }\n' >.devcontainer/devcontainer.json &&
      git add -A && git commit -qm dc && cd ..
    git clone -q --bare cuonly "$d/repos/cuonly.git"
    git init -q -b main big && cd big && head -c 3000000 /dev/urandom >blob && git add blob && git commit -qm big && cd ..
    git clone -q --bare big "$d/repos/big.git"
  )
  rm -rf "$w"
}

# git_server_start DIR BIND [SLOW_MS]: prints the port; the pid goes to DIR/server-BIND-SLOW.pid.
git_server_start() {
  local d=$1 bind=$2 slow=${3:-0} pf="$1/port-$2-${3:-0}"
  rm -f "$pf"
  python3 "$REPO_ROOT/test/bats/helpers/git-http-server.py" --root "$d/repos" --bind "$bind" \
    --port-file "$pf" --user gituser --password-file "$d/password" --static "$d/static" \
    --slow-ms "$slow" >>"$d/server.log" 2>&1 &
  echo $! >"$d/server-$bind-$slow.pid"
  local _
  for _ in $(seq 1 50); do
    [ -s "$pf" ] && { cat "$pf"; return 0; }
    sleep 0.1
  done
  echo "git server did not start" >&2
  return 1
}

# git_server_stop DIR: stop every server started for DIR (by pid).
git_server_stop() {
  local f
  for f in "$1"/server-*.pid; do
    if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
}

# gitspace_fixtures DIR BIND: what a gitspace container of the Docker-flow
# tests mounts, made once per file (setup_file): the git fixtures and a server
# on BIND (exports GS_DIR=DIR and GIT_PORT), the repo credentials
# (DIR/creds: username, password), an SSH key DIR/id_ed25519 whose public half
# is DIR/ssh/authorized_keys, empty hook folders DIR/hooks/post{Create,Start}Command,
# and a JetBrains backend stand-in served at /static/fake-ide.tar.gz: a real
# script that behaves like remote-dev-server.sh (prints the Gateway link, runs
# until TERM; `installPlugins` appends its arguments to ~/plugins-installed).
gitspace_fixtures() {
  export GS_DIR=$1
  git_server_fixtures "$GS_DIR"
  GIT_PORT=$(git_server_start "$GS_DIR" "$2")
  export GIT_PORT
  mkdir -p "$GS_DIR/creds" "$GS_DIR/ssh" "$GS_DIR/hooks/postCreateCommand" "$GS_DIR/hooks/postStartCommand"
  echo gituser >"$GS_DIR/creds/username"
  cp "$GS_DIR/password" "$GS_DIR/creds/password"
  ssh-keygen -q -t ed25519 -N '' -C bats -f "$GS_DIR/id_ed25519"
  cp "$GS_DIR/id_ed25519.pub" "$GS_DIR/ssh/authorized_keys"
  mkdir -p "$GS_DIR/ide/fake-ide-1.0/bin"
  cat >"$GS_DIR/ide/fake-ide-1.0/bin/remote-dev-server.sh" <<'SH'
#!/bin/sh
echo "remote-dev-server args: $*"
if [ "$1" = installPlugins ]; then echo "$*" >>"$HOME/plugins-installed"; exit 0; fi
echo "Gateway link: jetbrains-gateway://connect#type=ssh&deploy=false&projectPath=$2&user=$4"
trap 'exit 0' TERM
while :; do sleep 1; done
SH
  chmod 755 "$GS_DIR/ide/fake-ide-1.0/bin/remote-dev-server.sh"
  tar -C "$GS_DIR/ide" -czf "$GS_DIR/static/fake-ide.tar.gz" fake-ide-1.0
}
