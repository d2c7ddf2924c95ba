#!/usr/bin/env bats
# gitspace-init.sh user-setup / clone-repository.sh against a real git server
# (git http-backend, basic auth) on 127.0.0.1; containers use --network host
# so the traffic stays on loopback.

load helpers/common.bash
load helpers/git-server.bash

setup_file() {
  export GS_DIR="$BATS_FILE_TMPDIR/git"
  git_server_fixtures "$GS_DIR"
  GIT_PORT=$(git_server_start "$GS_DIR" 127.0.0.1)
  SLOW_PORT=$(git_server_start "$GS_DIR" 127.0.0.1 40)
  GIT_PASSWORD=$(cat "$GS_DIR/password")
  export GIT_PORT SLOW_PORT GIT_PASSWORD
  mkdir -p "$GS_DIR/creds" "$GS_DIR/badcreds"
  echo gituser >"$GS_DIR/creds/username"
  cp "$GS_DIR/password" "$GS_DIR/creds/password"
  echo gituser >"$GS_DIR/badcreds/username"
  echo "wrong-$GIT_PASSWORD-x" >"$GS_DIR/badcreds/password"
}

teardown_file() { git_server_stop "$GS_DIR"; }
teardown() { cleanup_all; }

# user_ctr [IMAGE]: a container (host network) with user dev 1000:1000 and
# its HOME, the way prepare/docker-manage-user leave it.
user_ctr() {
  local c
  c=$(ctr_start "${1:-$IMG_DEBIAN}" --network host -v "$GS_DIR/creds:/gitspace/git-credentials:ro" -v "$GS_DIR/badcreds:/gitspace/bad-credentials:ro")
  docker exec -u 0 -e GITSPACE_USER=dev -e GITSPACE_UID=1000 -e GITSPACE_GID=1000 -e HOME=/home/dev \
    "$c" "$SCRIPTS/gitspace-init.sh" docker-manage-user >/dev/null 2>&1
  printf '%s\n' "$c"
}

# setup_as_user CTR [docker exec -e args...]: user-setup as dev.
setup_as_user() {
  local c=$1
  shift
  docker exec -u dev -e HOME=/home/dev -e GITSPACE_UID=1000 -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials \
    -e GITSPACE_IMAGE=gitspace-chart/gitspace:0.1.0 "$@" "$c" "$SCRIPTS/gitspace-init.sh" user-setup
}

url() { printf 'http://127.0.0.1:%s/%s\n' "$GIT_PORT" "$1"; }

@test "clone with credentials from files: repo in HOME/NAME, no secret anywhere, devcontainer.json like Docker" {
  local c
  c=$(user_ctr)
  run setup_as_user "$c" -e REPO_URL="$(url plain.git)" -e REPO_NAME=plain -e GIT_USER_NAME="Dev One" -e GIT_USER_EMAIL=dev@example.invalid
  [ "$status" -eq 0 ]
  refute_contains "$output" "$GIT_PASSWORD"
  assert_eq "$(docker exec -u dev "$c" cat /home/dev/plain/README)" hello
  assert_eq "$(docker exec -u dev "$c" git -C /home/dev/plain remote get-url origin)" "$(url plain.git)"
  assert_eq "$(docker exec -u dev "$c" stat -c %u:%g /home/dev/plain/README)" 1000:1000
  # the password is in no file under HOME (.git/config, .gitconfig, credentials stores...)
  run docker exec -u 0 "$c" grep -rlF -- "$GIT_PASSWORD" /home/dev
  [ "$status" -eq 1 ]
  run docker exec -u dev "$c" git config --global --get-all credential.helper
  assert_eq "$output" ""
  # identity, safe.directory
  assert_eq "$(docker exec -u dev "$c" git config --global user.name)" "Dev One"
  docker exec -u dev "$c" git config --global --get-all safe.directory | grep -qx /home/dev/plain
  # devcontainer.json naming the image, shown as untracked (as on Docker)
  assert_eq "$(docker exec -u dev "$c" cat /home/dev/plain/.devcontainer/devcontainer.json)" '{"image": "gitspace-chart/gitspace:0.1.0"}'
  assert_eq "$(docker exec -u dev "$c" git -C /home/dev/plain status --porcelain)" "?? .devcontainer/"
  # no temp leftovers
  run docker exec -u dev "$c" find /home/dev/.gitspace/tmp -mindepth 1
  assert_eq "$output" ""
}

@test "second user-setup changes nothing; an existing identity is never overwritten" {
  local c before
  c=$(user_ctr)
  docker exec -u dev -e HOME=/home/dev "$c" git config --global user.name "Mine"
  setup_as_user "$c" -e REPO_URL="$(url plain.git)" -e GIT_USER_NAME=Other
  before=$(tree_state "$c" /home/dev)
  run setup_as_user "$c" -e REPO_URL="$(url plain.git)" -e GIT_USER_NAME=Other
  [ "$status" -eq 0 ]
  assert_contains "$output" "already cloned"
  assert_eq "$(tree_state "$c" /home/dev)" "$before" "HOME after a second user-setup"
  assert_eq "$(docker exec -u dev "$c" git config --global user.name)" Mine
}

@test "reset: a new GITSPACE_RESET_GENERATION writes the identity over the user's own, once per generation; 0 never" {
  local c
  c=$(user_ctr)
  setup_as_user "$c" -e GIT_USER_NAME="From Values" -e GIT_USER_EMAIL=v@example.invalid
  docker exec -u dev -e HOME=/home/dev "$c" git config --global user.name "Mine"
  run setup_as_user "$c" -e GIT_USER_NAME="From Values" -e GITSPACE_RESET_GENERATION=1
  [ "$status" -eq 0 ]
  assert_contains "$output" "reset (generation 0 -> 1)"
  assert_eq "$(docker exec -u dev "$c" git config --global user.name)" "From Values"
  assert_eq "$(docker exec -u dev "$c" cat /home/dev/.gitspace/git-identity)" "reset generation 1"
  # the same generation again (a pod restart after the reset): the user's own change stays
  docker exec -u dev -e HOME=/home/dev "$c" git config --global user.name "Mine again"
  setup_as_user "$c" -e GIT_USER_NAME="From Values" -e GITSPACE_RESET_GENERATION=1
  assert_eq "$(docker exec -u dev "$c" git config --global user.name)" "Mine again"
  # back to 0 (no reset asked): nothing overwritten
  setup_as_user "$c" -e GIT_USER_NAME="From Values" -e GITSPACE_RESET_GENERATION=0
  assert_eq "$(docker exec -u dev "$c" git config --global user.name)" "Mine again"
}

@test "a repo with its own devcontainer.json keeps it; branch is honoured" {
  local c
  c=$(user_ctr)
  run setup_as_user "$c" -e REPO_URL="$(url withdc.git)" -e GITSPACE_EXPECT_REMOTE_USER=vscode \
    -e GITSPACE_CHECK_DEVCONTAINER_USER=true -e GITSPACE_DEVCONTAINER_REMOTE_USER=vscode -e GITSPACE_DEVCONTAINER_CONTAINER_USER=
  [ "$status" -eq 0 ]
  run docker exec -u dev "$c" git -C /home/dev/withdc status --porcelain
  assert_eq "$output" ""
  run setup_as_user "$c" -e REPO_URL="$(url plain.git)" -e REPO_NAME=p2 -e REPO_BRANCH=dev
  [ "$status" -eq 0 ]
  assert_eq "$(docker exec -u dev "$c" git -C /home/dev/p2 rev-parse --abbrev-ref HEAD)" dev
}

@test "devcontainer.json naming another user than the release was rendered for: clear error" {
  local c
  c=$(user_ctr)
  # Rendered from a devcontainer.json with remoteUser node; the repository's names vscode.
  run setup_as_user "$c" -e REPO_URL="$(url withdc.git)" -e GITSPACE_EXPECT_REMOTE_USER=node \
    -e GITSPACE_CHECK_DEVCONTAINER_USER=true -e GITSPACE_DEVCONTAINER_REMOTE_USER=node -e GITSPACE_DEVCONTAINER_CONTAINER_USER=
  [ "$status" -ne 0 ]
  assert_contains "$output" "/home/dev/withdc/.devcontainer/devcontainer.json has remoteUser vscode, containerUser not set, but this gitspace was rendered from remoteUser node, containerUser not set (remote user node)"
  assert_contains "$output" "re-render the values with 'gitspace-chart values'"
  assert_contains "$output" "helm upgrade"
}

@test "containerUser alone while the image's label names remoteUser: the generator's user is accepted" {
  local c
  c=$(user_ctr)
  # What gitspace-chart values renders for this repository and a label naming remoteUser vscode.
  run setup_as_user "$c" -e REPO_URL="$(url cuonly.git)" -e GITSPACE_EXPECT_REMOTE_USER=vscode \
    -e GITSPACE_CHECK_DEVCONTAINER_USER=true -e GITSPACE_DEVCONTAINER_REMOTE_USER= -e GITSPACE_DEVCONTAINER_CONTAINER_USER=root
  [ "$status" -eq 0 ]
  assert_contains "$output" "remoteUser not set, containerUser root, as rendered (remote user vscode)"
  docker exec -u dev "$c" test -d /home/dev/cuonly/.git
}

@test "values written by hand (chart only, no generator): devcontainer.json is not compared" {
  local c
  c=$(user_ctr)
  run setup_as_user "$c" -e REPO_URL="$(url withdc.git)" -e GITSPACE_EXPECT_REMOTE_USER=node -e GITSPACE_CHECK_DEVCONTAINER_USER=false
  [ "$status" -eq 0 ]
  assert_contains "$output" "is not compared; the gitspace runs as user.remoteUser node"
}

@test "wrong password: clear error, the password appears nowhere" {
  local c bad
  c=$(user_ctr)
  bad=$(cat "$GS_DIR/badcreds/password")
  run setup_as_user "$c" -e REPO_URL="$(url plain.git)" -e GIT_CREDENTIALS_DIR=/gitspace/bad-credentials
  [ "$status" -ne 0 ]
  assert_contains "$output" "authentication failed"
  refute_contains "$output" "$bad"
  refute_contains "$output" "$GIT_PASSWORD"
  run docker exec -u 0 "$c" grep -rlF -- "$bad" /home/dev
  [ "$status" -eq 1 ]
  run docker exec -u 0 "$c" test -e /home/dev/plain
  [ "$status" -ne 0 ]
  # no credentials at all: git must not hang on a prompt
  run timeout 60 docker exec -u dev -e HOME=/home/dev "$c" "$SCRIPTS/clone-repository.sh" "$(url plain.git)"
  [ "$status" -ne 0 ]
  assert_contains "$output" "authentication failed"
}

@test "a clone killed with SIGKILL half-way leaves no half repo; the rerun succeeds" {
  local c
  c=$(user_ctr)
  # setsid: the clone gets its own process group, killed by its id.
  docker exec -d -u dev -e HOME=/home/dev -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials "$c" \
    setsid bash -c "echo \$\$ >/tmp/clone.pgid; exec $SCRIPTS/clone-repository.sh http://127.0.0.1:$SLOW_PORT/big.git"
  for _ in $(seq 1 100); do
    docker exec "$c" sh -c 'ls -d /home/dev/.gitspace/tmp/clone-big.*/big/.git' >/dev/null 2>&1 && break
    sleep 0.1
  done
  sleep 1
  docker exec "$c" pgrep -g "$(docker exec "$c" cat /tmp/clone.pgid)" git >/dev/null # the clone is still running
  docker exec "$c" bash -c 'kill -KILL -- -"$(cat /tmp/clone.pgid)"'
  sleep 0.5
  run docker exec "$c" test -e /home/dev/big
  [ "$status" -ne 0 ]
  run docker exec -u dev -e HOME=/home/dev -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials "$c" \
    "$SCRIPTS/clone-repository.sh" "$(url big.git)"
  [ "$status" -eq 0 ]
  docker exec -u dev "$c" git -C /home/dev/big fsck --no-progress
  run docker exec -u dev "$c" find /home/dev/.gitspace/tmp -mindepth 1
  assert_eq "$output" ""
}

# shellcheck disable=SC2016 # the $(...) in single quotes are the attacks under test: never expanded
@test "unsafe URLs are refused before git runs (ext::, file://, local paths, credentials, shell characters)" {
  local c u
  c=$(user_ctr)
  for u in 'ext::sh -c touch% /tmp/pwned' 'ext::sh' 'file:///etc' '/etc' './x' 'ftp://host/r.git' \
    'https://host/r.git;touch /tmp/pwned' 'https://host/$(touch /tmp/pwned)' 'https://u:secret@host/r.git' \
    "https://host/r.git'" '--upload-pack=touch /tmp/pwned' 'git@host' 'https://host/a b' 'http://:8080/r.git' 'https:///r.git'; do
    run docker exec -u dev -e HOME=/home/dev "$c" "$SCRIPTS/clone-repository.sh" "$u"
    [ "$status" -ne 0 ] || { echo "accepted: $u"; return 1; }
    assert_contains "$output" "REPO_URL:"
  done
  run docker exec "$c" test -e /tmp/pwned
  [ "$status" -ne 0 ]
}

# shellcheck disable=SC2016 # the $(...) and backticks in single quotes are the names under test
@test "repo names with /, .., or shell characters are refused" {
  local c n
  c=$(user_ctr)
  for n in '../x' 'a/b' '..' '.' 'a;b' '$(id)' 'a b' '-rf' 'a..b' '`id`' 'a|b'; do
    run docker exec -u dev -e HOME=/home/dev "$c" "$SCRIPTS/clone-repository.sh" "$(url plain.git)" "$n"
    [ "$status" -ne 0 ] || { echo "accepted: $n"; return 1; }
    assert_contains "$output" "REPO_NAME:"
  done
  run docker exec -u dev "$c" ls -A /home/dev
  refute_contains "$output" "plain"
}

@test "WORKSPACE_DIR different from HOME: warning, HOME wins" {
  local c
  c=$(user_ctr)
  run setup_as_user "$c" -e REPO_URL="$(url plain.git)" -e WORKSPACE_DIR=/workspaces
  [ "$status" -eq 0 ]
  assert_contains "$output" "WORKSPACE_DIR=/workspaces is ignored"
  docker exec "$c" test -f /home/dev/plain/README
}

@test "clone works in the busybox-path image and in the reference image too" {
  local c img
  for img in "$IMG_BUSYBOX" "$IMG_GITSPACE"; do
    c=$(user_ctr "$img")
    run setup_as_user "$c" -e REPO_URL="$(url plain.git)"
    [ "$status" -eq 0 ] || { echo "$img: $output"; return 1; }
    docker exec "$c" test -f /home/dev/plain/README
  done
}

# start_clone CTR [docker exec -e args...]: start.sh as vscode with the clone step on (the chart's
# default, docs/start-path.md). IDE_TYPE windsurf with no authorized keys stops start.sh right after
# the clone step, before any IDE: what ran before it is what these tests look at.
start_clone() {
  local c=$1
  shift
  docker exec -u vscode -e HOME=/home/vscode -e GITSPACE_USER=vscode -e GITSPACE_UID=1000 -e IDE_TYPE=windsurf \
    -e GITSPACE_HOOKS_DIR=/nonexistent -e GITSPACE_CLONE_AT_START=true -e GITSPACE_CLONE_HOME=/home/vscode \
    -e REPO_NAME=plain -e REPO_URL="$(url plain.git)" "$@" "$c" "$SCRIPTS/start.sh"
}

@test "start.sh: the clone step runs before the IDE setup; a repeat start skips it while nothing it reads changed, and runs it (no clone) when something did" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" --user vscode --network host -v "$vol:/home/vscode" \
    -v "$GS_DIR/creds:/gitspace/git-credentials:ro" -v "$GS_DIR/badcreds:/gitspace/bad-credentials:ro")
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials
  assert_contains "$output" "cloned into /home/vscode/plain"
  assert_contains "$output" "user-setup done"
  # then the IDE setup, which stops here for want of authorized keys
  assert_contains "$output" "SSH_AUTHORIZED_KEYS_FILE"
  refute_contains "$output" "$GIT_PASSWORD"
  assert_eq "$(docker exec -u vscode "$c" cat /home/vscode/plain/README)" hello
  # A repeat start with nothing changed: the stamp says so, the step is not run.
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials
  assert_contains "$output" "clone step: the repository is cloned, and its variables, the git config and devcontainer.json are as when it last ran (.gitspace/clone-step): nothing to do"
  refute_contains "$output" "user-setup done"
  # The user's git config changed: the step runs (beside the IDE's start) and skips the clone.
  docker exec -u vscode "$c" git config --global user.name "Someone Else"
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials
  assert_contains "$output" "repository already cloned at /home/vscode/plain: skipping clone"
  assert_contains "$output" "user-setup done"
  # ~/.gitspace wiped: the stamp with it, so the step runs again.
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials
  assert_contains "$output" "nothing to do"
  docker exec -u vscode "$c" rm -rf /home/vscode/.gitspace
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials
  assert_contains "$output" "repository already cloned at /home/vscode/plain: skipping clone"
  assert_contains "$output" "user-setup done"
  # A new value (here the reset generation) runs it too.
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials -e GITSPACE_RESET_GENERATION=2
  assert_contains "$output" "user-setup done"
}

@test "start.sh: a repeat start runs the clone step beside the IDE's start; when it fails, the IDE is stopped and the start fails with its error" {
  local vol c port
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" --user vscode --network host -v "$vol:/home/vscode" \
    -v "$GS_DIR/creds:/gitspace/git-credentials:ro")
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials
  assert_contains "$output" "cloned into /home/vscode/plain"
  # The repeat start: the repository is there, so code-server starts at once and the clone step
  # fails beside it (the devcontainer.json pulled since names another user than the release's).
  docker exec -u vscode "$c" sh -c 'mkdir -p /home/vscode/plain/.devcontainer && echo "{\"remoteUser\": \"vscode\"}" >/home/vscode/plain/.devcontainer/devcontainer.json'
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # (a start that did not stop would wait on its IDE for ever)
  run timeout 120 docker exec -u vscode -e HOME=/home/vscode -e GITSPACE_USER=vscode -e GITSPACE_UID=1000 \
    -e IDE_TYPE=vs_code_web -e IDE_PORT="$port" -e GITSPACE_HOOKS_DIR=/nonexistent \
    -e GITSPACE_CLONE_AT_START=true -e GITSPACE_CLONE_HOME=/home/vscode -e REPO_NAME=plain \
    -e REPO_URL="$(url plain.git)" -e GIT_CREDENTIALS_DIR=/gitspace/git-credentials \
    -e GITSPACE_CHECK_DEVCONTAINER_USER=true -e GITSPACE_DEVCONTAINER_REMOTE_USER=someone-else \
    -e GITSPACE_EXPECT_REMOTE_USER=someone-else "$c" "$SCRIPTS/start.sh"
  [ "$status" -eq 1 ]
  assert_contains "$output" "code-server on 0.0.0.0:$port"
  assert_contains "$output" "repository already cloned at /home/vscode/plain: skipping clone"
  assert_contains "$output" "but this gitspace was rendered from"
  assert_contains "$output" "the clone step failed"
  refute_contains "$output" "is listening"
  # and no code-server is left behind
  run docker exec "$c" pgrep -f code-server
  [ "$status" -ne 0 ]
}

@test "start.sh: a failed clone stops the start with the clone's error, before any IDE" {
  local vol c
  vol=$(vol_create)
  c=$(ctr_start "$IMG_GITSPACE" --user vscode --network host -v "$vol:/home/vscode" \
    -v "$GS_DIR/badcreds:/gitspace/bad-credentials:ro")
  run start_clone "$c" -e GIT_CREDENTIALS_DIR=/gitspace/bad-credentials
  [ "$status" -ne 0 ]
  assert_contains "$output" "authentication failed"
  assert_contains "$output" "the clone step failed"
  refute_contains "$output" "SSH_AUTHORIZED_KEYS_FILE"
  run docker exec "$c" test -e /home/vscode/plain
  [ "$status" -ne 0 ]
}

@test "the repository's folder: REPO_NAME, else the URL's last segment without .git (Docker Gitspace's rule), else none" {
  local c
  c=$(ctr_start "$IMG_DEBIAN")
  # n ENV...: repo_name_v's answer under ENV, bracketed so an empty one shows.
  n() { docker exec "$@" "$c" bash -c 'source "$1/lib.sh" && repo_name_v v && printf "[%s]" "$v"' _ "$SCRIPTS"; }
  assert_eq "$(n -e REPO_NAME=mine -e REPO_URL=https://h/x/repo.git)" "[mine]"
  assert_eq "$(n -e REPO_URL=https://h/x/repo.git)" "[repo]"
  assert_eq "$(n -e REPO_URL=https://h/x/repo/)" "[repo]"
  assert_eq "$(n -e REPO_URL=git@h:team/api.git)" "[api]"
  assert_eq "$(n -e REPO_URL=git@h:api.git)" "[api]"
  assert_eq "$(n)" "[]"
}
