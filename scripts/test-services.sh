#!/usr/bin/env bash
# Starts throwaway test services on loopback and prints the environment the
# tests need, as shell `export` lines:
#   eval "$(scripts/test-services.sh start DIR [SERVICE...])"
#   scripts/test-services.sh stop DIR
# SERVICE is postgres or redis. Without a list, start starts every service
# whose server binaries are installed (and fails if there is none); a service
# named in the list must be installed.
# PostgreSQL: a fresh cluster in DIR/pg on a free port, trust auth on
# 127.0.0.1 only. Runs as root (CI) by switching to the postgres user.
# Redis: a redis-server daemon in DIR/redis on a free port on 127.0.0.1, with
# no persistence (and no password: loopback only, and the data is throwaway).
# stop stops whatever start left running in DIR.
set -euo pipefail

cmd=${1:?usage: test-services.sh start|stop DIR [postgres|redis...]}
dir=${2:?usage: test-services.sh start|stop DIR [postgres|redis...]}
shift 2

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
redisbin=$(command -v redis-server || true)

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# free_port FALLBACK prints a port nothing listens on, or FALLBACK without
# python3.
free_port() {
  python3 - <<'PY' 2>/dev/null || echo "$1"
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start_postgres() {
  [ -n "$pgbin" ] || { echo "test-services: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  pgdir="$dir/pg"
  rm -rf "$pgdir"
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; chown -R postgres:postgres "$pgdir"; fi
  as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 >"$pgdir/initdb.log" 2>&1 \
    || { cat "$pgdir/initdb.log" >&2; exit 1; }
  port=$(free_port 55432)
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$pgdir/server.log" >&2; exit 1; }
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE DATABASE vigil_test" >/dev/null
  echo "export VIGIL_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/vigil_test?sslmode=disable'"
}

start_redis() {
  [ -n "$redisbin" ] || { echo "test-services: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
  rdir="$dir/redis"
  rm -rf "$rdir"
  mkdir -p "$rdir"
  port=$(free_port 56379)
  "$redisbin" --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --daemonize yes --pidfile "$rdir/redis.pid" --logfile "$rdir/server.log" --dir "$rdir" >/dev/null \
    || { cat "$rdir/server.log" >&2 2>/dev/null; exit 1; }
  # Wait until it answers PING (redis-cli is not always installed).
  python3 - "$port" <<'PY' || { echo "test-services: redis-server did not answer PING on port $port" >&2; cat "$rdir/server.log" >&2; exit 1; }
import socket, sys, time
port = int(sys.argv[1])
deadline = time.monotonic() + 30
while True:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(64).startswith(b"+PONG"):
                sys.exit(0)
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.05)
PY
  echo "export VIGIL_TEST_REDIS_URL='redis://127.0.0.1:$port/0'"
}

stop_redis() {
  pidfile="$dir/redis/redis.pid"
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  services=("$@")
  if [ ${#services[@]} -eq 0 ]; then
    [ -n "$pgbin" ] && services+=(postgres)
    [ -n "$redisbin" ] && services+=(redis)
    [ ${#services[@]} -gt 0 ] || {
      echo "test-services: neither PostgreSQL server binaries nor redis-server found (apt-get install postgresql redis-server)" >&2; exit 1; }
  fi
  for s in "${services[@]}"; do
    case "$s" in
    postgres) start_postgres ;;
    redis) start_redis ;;
    *) echo "test-services: unknown service $s (postgres or redis)" >&2; exit 2 ;;
    esac
  done
  ;;
stop)
  if [ -d "$dir/pg/data" ] && [ -n "$pgbin" ]; then
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  stop_redis
  ;;
*)
  echo "usage: test-services.sh start|stop DIR [postgres|redis...]" >&2; exit 2 ;;
esac
