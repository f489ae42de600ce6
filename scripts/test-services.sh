#!/usr/bin/env bash
# Starts throwaway test services on loopback and prints the environment the
# tests need, as shell `export` lines:
#   eval "$(scripts/test-services.sh start DIR)"
#   scripts/test-services.sh stop DIR
# PostgreSQL: a fresh cluster in DIR/pg on a free port, trust auth on
# 127.0.0.1 only. Runs as root (CI) by switching to the postgres user.
set -euo pipefail

cmd=${1:?usage: test-services.sh start|stop DIR}
dir=${2:?usage: test-services.sh start|stop DIR}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] || { echo "test-services: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo 55432
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case "$cmd" in
start)
  mkdir -p "$dir"
  pgdir="$dir/pg"
  rm -rf "$pgdir"
  mkdir -p "$pgdir"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
  as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$pgdir/server.log" >&2; exit 1; }
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE DATABASE vigil_test" >/dev/null
  echo "export VIGIL_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/vigil_test?sslmode=disable'"
  ;;
stop)
  if [ -d "$dir/pg/data" ]; then
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  ;;
*)
  echo "usage: test-services.sh start|stop DIR" >&2; exit 2 ;;
esac
