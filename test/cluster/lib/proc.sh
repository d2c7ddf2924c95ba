#!/usr/bin/env bash
# Daemon bookkeeping: one pid file per daemon, "PID EXE STARTTIME", so a stale
# file from a previous boot or a recycled pid is never mistaken for a live
# daemon (the pv-recycler's exe is plain bash, hence the start time too).

_pidfile() { printf '%s/%s.pid\n' "$CLUSTER_RUN" "$1"; }

# _starttime PID: process start time in clock ticks since boot (stat field 22;
# field 2, the command name, may contain spaces, so cut after its ')').
_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  awk '{print $20}' <<<"${stat##*) }"
}

# daemon_pid NAME: prints the pid if NAME is running (as the recorded process).
daemon_pid() {
  local f pid exe start
  f=$(_pidfile "$1")
  [[ -f "$f" ]] || return 1
  read -r pid exe start <"$f" || return 1
  [[ -n "${pid:-}" && -d "/proc/$pid" ]] || return 1
  [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]] || return 1
  # (pid files written before the start time was recorded have none)
  [[ -z "${start:-}" || "$(_starttime "$pid")" == "$start" ]] || return 1
  printf '%s\n' "$pid"
}

daemon_running() { daemon_pid "$1" >/dev/null; }

# daemon_start NAME BINARY ARGS...: start NAME in its own session unless it
# already runs; stdout+stderr go to $CLUSTER_LOGS/NAME.log.
daemon_start() {
  local name=$1 bin=$2
  shift 2
  if daemon_running "$name"; then
    log_info "$name already running (pid $(daemon_pid "$name"))"
    return 0
  fi
  local exe log
  exe=$(readlink -f "$(command -v "$bin")") || die "$name: binary $bin not found"
  log="$CLUSTER_LOGS/$name.log"
  printf '\n=== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
  # setsid: the daemon outlives this shell, like a service; not a process
  # group leader here, so setsid execs in place and $! is the daemon's pid.
  # 9>&-: never hand cluster.sh's lock fd to a daemon (it would hold the lock).
  setsid "$exe" "$@" >>"$log" 2>&1 </dev/null 9>&- &
  local pid=$!
  printf '%s %s %s\n' "$pid" "$exe" "$(_starttime "$pid")" >"$(_pidfile "$name")"
  sleep 0.3
  kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "$name exited at once (log: $log)"; }
  log_info "started $name (pid $pid, log: $log)"
}

# daemon_stop NAME: TERM, wait up to 20 s, then KILL. Only the recorded pid.
daemon_stop() {
  local name=$1 pid i
  if pid=$(daemon_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
      [[ -d "/proc/$pid" ]] || break
      sleep 0.5
    done
    if [[ -d "/proc/$pid" ]]; then
      log_warn "$name (pid $pid) ignored TERM for 20 s: killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log_info "stopped $name (pid $pid)"
  fi
  rm -f "$(_pidfile "$name")"
}

# wait_for DESC TIMEOUT_S CMD...: poll CMD every second until it succeeds.
wait_for() {
  local desc=$1 timeout=$2 i
  shift 2
  for ((i = 0; i < timeout; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ((i > 0 && i % 15 == 0)); then log_info "  waiting for $desc ($i s)"; fi
    sleep 1
  done
  return 1
}

# write_conf FILE < CONTENT: replace FILE only if the content differs. A
# rewrite with equal content still fires inotify, and kube-proxy exits when
# its config file changes ("content of the proxy server's configuration file
# was updated").
write_conf() {
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; fi
}
