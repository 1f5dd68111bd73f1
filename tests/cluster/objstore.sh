#!/usr/bin/env bash
# Object-store servers for tests, on 127.0.0.1 only:
#   S3  — moto[server]           (path-style, any credentials, region us-east-1)
#   GCS — gcp-storage-emulator   (JSON API, in memory)
#
#   objstore.sh up       start both (a no-op for a server that is already up) and write
#                        .cluster/objstore.env (WEIR_S3_ENDPOINT=…, WEIR_GCS_ENDPOINT=…)
#   objstore.sh down     stop both; leaves no process behind
#   objstore.sh status   exit 0 when both answer
#   objstore.sh logs     print both logs
#
# Versions are pinned in objstore-requirements.txt; the venv is built once into
# ~/.cache/weir/venv-<hash>, in a temporary directory renamed into place when complete.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

req=$WEIR_ROOT/tests/cluster/objstore-requirements.txt
dir=$WEIR_RUN/objstore
env_file=$WEIR_RUN/objstore.env

venv_dir() {
  local key
  key=$({ python3 -VV; cat "$req"; } | sha256sum | cut -c1-16)
  echo "$WEIR_CACHE/venv-$key"
}

# ensure_venv: print the venv path, building it first if needed. The venv is built under a
# temporary name and renamed; console scripts would carry the temporary path in their
# shebang, so servers are started with `python -m`, which does not care.
ensure_venv() {
  local venv tmp
  venv=$(venv_dir)
  if [ ! -f "$venv/.complete" ]; then
    mkdir -p "$WEIR_CACHE"
    tmp=$(mktemp -d "$WEIR_CACHE/.venv-build.XXXXXX")
    say "building $venv (once per requirements change)"
    python3 -m venv "$tmp" >&2
    "$tmp/bin/python" -m pip install --quiet --no-input -r "$req" >&2 || {
      rm -rf "$tmp"
      die "pip install -r $req failed"
    }
    touch "$tmp/.complete"
    # Another run may have finished first; its venv is as good as ours.
    if [ -f "$venv/.complete" ]; then rm -rf "$tmp"; else rm -rf "$venv" && mv "$tmp" "$venv"; fi
  fi
  echo "$venv"
}

s3_ready() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; }
gcs_ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/storage/v1/b?project=test"; }

# server_up NAME READY_FN VENV ARGS...: start one server unless it already answers.
server_up() {
  local name=$1 ready=$2 venv=$3 port pid
  shift 3
  local pidfile=$dir/$name.pid portfile=$dir/$name.port log=$dir/$name.log
  if pidfile_alive "$pidfile" "$venv" && [ -f "$portfile" ] && "$ready" "$(cat "$portfile")"; then
    say "$name already up on 127.0.0.1:$(cat "$portfile")"
    return 0
  fi
  stop_pidfile "$pidfile" "$WEIR_CACHE/venv-" # stale from a killed run, or another venv
  port=$(free_port)
  # The command line holds PORT placeholders; replace them with the chosen port.
  local args=("${@//PORT/$port}")
  # setsid: the server outlives this shell and gets no terminal signals from make.
  setsid "$venv/bin/python" "${args[@]}" >"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"
  echo "$port" >"$portfile"
  if ! wait_for 60 "$name on 127.0.0.1:$port" "$ready" "$port" || ! pid_matches "$pid" "$venv"; then
    print_logs "$log"
    stop_pidfile "$pidfile" "$venv"
    die "$name did not become ready"
  fi
  say "$name up on 127.0.0.1:$port (pid $pid)"
}

up() {
  local venv
  mkdir -p "$dir"
  venv=$(ensure_venv)
  server_up s3 s3_ready "$venv" -m moto.server -H 127.0.0.1 -p PORT
  server_up gcs gcs_ready "$venv" -m gcp_storage_emulator start --host 127.0.0.1 --port PORT --in-memory
  local tmp
  tmp=$(mktemp "$WEIR_RUN/.objstore.env.XXXXXX")
  cat >"$tmp" <<EOF
# Written by tests/cluster/objstore.sh; loopback test servers, any credentials work.
WEIR_S3_ENDPOINT=http://127.0.0.1:$(cat "$dir/s3.port")
WEIR_S3_REGION=us-east-1
WEIR_S3_ACCESS_KEY_ID=test
WEIR_S3_SECRET_ACCESS_KEY=test
WEIR_GCS_ENDPOINT=http://127.0.0.1:$(cat "$dir/gcs.port")
EOF
  mv "$tmp" "$env_file"
  say "endpoints in $env_file"
}

down() {
  stop_pidfile "$dir/s3.pid" "$WEIR_CACHE/venv-"
  stop_pidfile "$dir/gcs.pid" "$WEIR_CACHE/venv-"
  rm -f "$dir/s3.port" "$dir/gcs.port" "$env_file"
  say "object stores stopped"
}

status() {
  local ok=0 venv name
  venv=$(venv_dir)
  for name in s3 gcs; do
    if pidfile_alive "$dir/$name.pid" "$venv" && "${name}_ready" "$(cat "$dir/$name.port" 2>/dev/null || echo 0)"; then
      echo "$name: up on 127.0.0.1:$(cat "$dir/$name.port")"
    else
      echo "$name: down"
      ok=1
    fi
  done
  return $ok
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) print_logs "$dir/s3.log" "$dir/gcs.log" ;;
  *) echo "usage: $0 up|down|status|logs" >&2; exit 2 ;;
esac
