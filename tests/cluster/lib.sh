# shellcheck shell=bash disable=SC2034 # (the variables are for the scripts that source this)
# Shared helpers for cluster.sh and objstore.sh. Sourced, never run.
#
# Processes are only ever found through the pid files these scripts write, and a pid is
# only signalled when /proc/<pid>/cmdline still contains a marker (a path inside this
# clone's runtime directory or the venv), so a pid reused by another program after a
# reboot or a crash is left alone. Nothing here looks processes up by name.

# Root of the clone and the gitignored runtime directory (kubeconfig, logs, pid files).
WEIR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WEIR_RUN=${WEIR_CLUSTER_DIR:-$WEIR_ROOT/.cluster}
WEIR_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/weir

say() { echo "$(basename "$0"): $*" >&2; }
die() { say "error: $*"; exit 1; }

# pid_matches PID MARKER: the process is alive and its command line contains MARKER.
pid_matches() {
  local pid=$1 marker=$2 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
  [[ $cmdline == *"$marker"* ]]
}

# pidfile_alive FILE MARKER: FILE names a live process whose command line contains MARKER.
pidfile_alive() {
  local file=$1 marker=$2
  [ -f "$file" ] && pid_matches "$(tr -dc '0-9' <"$file")" "$marker"
}

# stop_pidfile FILE MARKER: TERM the process FILE names (if it is still ours), KILL it
# after 10 s, wait until it is gone, then remove FILE.
stop_pidfile() {
  local file=$1 marker=$2 pid i
  [ -f "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  if pid_matches "$pid" "$marker"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      pid_matches "$pid" "$marker" || break
      sleep 0.1
    done
    if pid_matches "$pid" "$marker"; then
      say "pid $pid ($(basename "$file" .pid)) ignored TERM for 10 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        pid_matches "$pid" "$marker" || break
        sleep 0.1
      done
    fi
    pid_matches "$pid" "$marker" && die "pid $pid from $file is still running"
  fi
  rm -f "$file"
}

# wait_for SECONDS WHAT CMD...: run CMD until it succeeds; fail after SECONDS, or at once
# when the caller defines a function `wait_guard` and it fails (a server process died).
wait_for() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if declare -F wait_guard >/dev/null && ! wait_guard; then
      say "gave up waiting for $what"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      say "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# print_logs FILE...: each log's last 80 lines, with a header, to stderr.
print_logs() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    echo "----- $f (last 80 lines) -----" >&2
    tail -n 80 "$f" >&2
  done
}
