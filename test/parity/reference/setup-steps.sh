#!/usr/bin/env bash
# The parity suite's reference of Docker Gitspace (docs/parity.md, "The
# reference runtime"): the setup steps Docker Gitspace runs in a new container,
# written here in our own words from the behaviour described in
# shared/reference/docker-gitspace.md. NOT the chart's scripts: these reproduce
# upstream's behaviour, its defects included (the raw user string, the unquoted
# /etc/profile lines), so the report shows where the chart differs.
#
# test/parity/docker.ts runs one step per `docker exec`, as the user upstream
# runs that step as, with `bash -c "<this file>" ref STEP ARGS...` (nothing of
# the suite is left in the container); secrets and keys come on stdin.
#
#   os-check                              root
#   manage-user USER HOME ACCESS          root; ACCESS ssh_key reads the public key on stdin
#   set-env K=V...                        root
#   install-git                           root
#   git-credentials                       remote user; "url=<clone URL with credentials>" on stdin
#   clone URL BRANCH REPO IMAGE NAME EMAIL  remote user
#   vscode-web-setup EXTENSION...         remote user
#   vscode-web-run PORT                   remote user
#   ssh-setup USER                        root
#   ssh-run PORT                          root
set -euo pipefail

say() { printf '%s\n' "$*"; }
die() {
  printf '%s\n' "$*" >&2
  exit 1
}

# distribution: the family upstream's OS script reports (an ID_LIKE word it
# knows, else ID).
distribution() {
  [[ -r /etc/os-release ]] || die "no /etc/os-release"
  local id like word
  # shellcheck source=/dev/null # the container's, not ours
  id=$(. /etc/os-release && printf '%s' "${ID:-}")
  # shellcheck source=/dev/null
  like=$(. /etc/os-release && printf '%s' "${ID_LIKE:-}")
  for word in $like; do
    case $word in debian | fedora | opensuse | arch)
      printf '%s\n' "$word"
      return 0
      ;;
    esac
  done
  printf '%s\n' "$id"
}

step_os_check() {
  local d
  d=$(distribution)
  case $d in
    debian | fedora | opensuse) say "distribution $d: supported" ;;
    *) die "unsupported distribution: $d" ;;
  esac
}

# install_package NAME: the distribution's package manager (upstream installs
# what is missing the same way; the test images have everything).
install_package() {
  case $(distribution) in
    debian) DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" ;;
    fedora) dnf install -y "$1" ;;
    opensuse) zypper install -y "$1" ;;
    *) die "cannot install $1 on $(distribution)" ;;
  esac
}

# manage-user: HOME made and handed to the user by NAME. No useradd: a user the
# image lacks makes chown fail, and the step (so the start) fails with it.
step_manage_user() {
  local user=$1 home=$2 access=$3
  mkdir -p -- "$home"
  if [[ "$(stat -c %U -- "$home")" != "$user" ]]; then
    say "ownership of $home to $user"
    chown -R -- "$user:$user" "$home"
  fi
  chmod 755 -- "$home"
  if [[ $access == ssh_key ]]; then
    local key
    key=$(cat)
    mkdir -p -- "$home/.ssh"
    chmod 700 -- "$home/.ssh"
    printf '%s\n' "$key" >"$home/.ssh/authorized_keys"
    chmod 600 -- "$home/.ssh/authorized_keys"
    chown -R -- "$user:$user" "$home/.ssh"
    # An empty password field (not a locked one): with UsePAM no, sshd refuses
    # every login to a locked account, keys included.
    printf '%s:\n' "$user" | chpasswd -e
  fi
}

# expand_refs TEXT: $NAME and ${NAME} replaced by this step's environment, as
# upstream's template puts the value inside a double-quoted shell string
# (command substitution, which upstream would also run, is not reproduced).
expand_refs() {
  # shellcheck disable=SC2016 # a regular expression: the $ are literal
  local text=$1 out='' re='^([^$]*)\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(.*)$' name
  while [[ $text =~ $re ]]; do
    name=${BASH_REMATCH[3]:-${BASH_REMATCH[4]}}
    out+=${BASH_REMATCH[1]}${!name:-}
    text=${BASH_REMATCH[5]}
  done
  printf '%s' "$out$text"
}

# set-env: each K=V appended to /etc/profile as an UNQUOTED export line, unless
# an export of K is there already (upstream's defect: a quote or a space in a
# value breaks the login shells that read /etc/profile).
step_set_env() {
  local kv name
  for kv in "$@"; do
    name=${kv%%=*}
    if grep -q "^export $name=" /etc/profile; then
      say "$name is in /etc/profile already"
    else
      printf 'export %s=%s\n' "$name" "$(expand_refs "${kv#*=}")" >>/etc/profile
      say "export $name added to /etc/profile"
    fi
  done
}

step_install_git() {
  command -v git >/dev/null 2>&1 || install_package git
  command -v git >/dev/null 2>&1 || die "git is not installed"
  say "git: $(git --version)"
}

# git-credentials: git's in-memory cache for 30 days, primed with the clone
# URL's credentials (stdin), so fetch and push in the gitspace need no prompt
# until the container stops; run again at every start.
step_git_credentials() {
  local input
  input=$(cat)
  if [[ -z $input ]]; then
    say "no credentials"
    return 0
  fi
  git config --global credential.helper 'cache --timeout=2592000'
  printf '%s\n\n' "$input" | git credential approve
  say "credentials cached"
}

# clone: into $HOME/REPO unless it has .git already; safe.directory added (at
# every run); a devcontainer.json naming the image when the repository has
# none; the identity from the user's account set EVERY time (a reset
# overwrites the user's own edit).
step_clone() {
  local url=$1 branch=$2 repo=$3 image=$4 name=$5 email=$6
  local dir=$HOME/$repo
  if [[ -d $dir/.git ]]; then
    say "$dir has a clone already"
  else
    git clone "$url" --branch "$branch" "$dir"
  fi
  git config --global --add safe.directory "$dir"
  if [[ ! -f $dir/.devcontainer/devcontainer.json ]]; then
    mkdir -p -- "$dir/.devcontainer"
    printf '{\n  "image": "%s"\n}\n' "$image" >"$dir/.devcontainer/devcontainer.json"
    say "wrote $dir/.devcontainer/devcontainer.json"
  fi
  [[ -z $name ]] || git config --global user.name "$name"
  [[ -z $email ]] || git config --global user.email "$email"
}

# vscode-web-setup: code-server must be in the image (upstream downloads it
# when missing; the reference downloads nothing), then each extension; a
# failing extension is logged and setup goes on.
step_vscode_web_setup() {
  command -v code-server >/dev/null 2>&1 || die "code-server is not in the image (the reference runtime downloads nothing)"
  local ext
  for ext in "$@"; do
    if code-server --install-extension "$ext"; then
      say "installed extension $ext"
    else
      say "error installing extension $ext" >&2
    fi
  done
}

# vscode-web-run: config (all interfaces, no auth, no TLS), code-server in the
# background with workspace trust off, its log in HOME; ready when its IPC
# socket appears under ~/.local.
step_vscode_web_run() {
  local port=$1 dir=$HOME/.config/code-server pid
  mkdir -p -- "$dir"
  printf 'bind-addr: 0.0.0.0:%s\nauth: none\ncert: false\n' "$port" >"$dir/config.yaml"
  nohup code-server --disable-workspace-trust </dev/null >"$HOME/code-server.log" 2>&1 &
  pid=$!
  local waited=0
  until [[ -n "$(find "$HOME/.local/" -type s -name code-server-ipc.sock 2>/dev/null)" ]]; do
    kill -0 "$pid" 2>/dev/null || die "code-server stopped: $(tail -n 5 "$HOME/code-server.log")"
    # Upstream waits without end; a test must not.
    ((waited++ < 180)) || die "no code-server IPC socket under $HOME/.local after 180 s"
    sleep 1
  done
  say "code-server running (pid $pid)"
}

# sshd_option KEY VALUE: the first uncommented KEY line set to VALUE, or one
# appended (sshd takes the first value it reads).
sshd_option() {
  local file=/etc/ssh/sshd_config line out='' set=false
  while IFS= read -r line || [[ -n $line ]]; do
    if ! $set && [[ $line =~ ^$1[[:space:]] ]]; then
      line="$1 $2"
      set=true
    fi
    out+=$line$'\n'
  done <"$file"
  $set || out+="$1 $2"$'\n'
  printf '%s' "$out" >"$file"
}

# ssh-setup: openssh-server, only this user may log in, key authentication
# (the reference does not reproduce upstream's fixed-password variant).
step_ssh_setup() {
  [[ -x /usr/sbin/sshd ]] || install_package openssh-server
  sshd_option AllowUsers "$1"
  sshd_option PasswordAuthentication no
  sshd_option UsePAM no
  sshd_option PubkeyAuthentication yes
  sshd_option AuthorizedKeysFile .ssh/authorized_keys
  mkdir -p /run/sshd
}

# ssh-run: host keys made in /etc/ssh when missing (new per container), the
# IDE port, sshd started as root (it daemonizes).
step_ssh_run() {
  ssh-keygen -A
  sshd_option Port "$1"
  /usr/sbin/sshd
  say "sshd running on port $1"
}

main() {
  local step=${1:-}
  [[ -n $step ]] || die "usage: setup-steps.sh STEP [ARGS...]"
  shift
  case $step in
    os-check) step_os_check "$@" ;;
    manage-user) step_manage_user "$@" ;;
    set-env) step_set_env "$@" ;;
    install-git) step_install_git "$@" ;;
    git-credentials) step_git_credentials "$@" ;;
    clone) step_clone "$@" ;;
    vscode-web-setup) step_vscode_web_setup "$@" ;;
    vscode-web-run) step_vscode_web_run "$@" ;;
    ssh-setup) step_ssh_setup "$@" ;;
    ssh-run) step_ssh_run "$@" ;;
    *) die "unknown step $step" ;;
  esac
}

main "$@"
