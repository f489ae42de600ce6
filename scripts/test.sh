#!/usr/bin/env bash
# Runs every test. Starts throwaway services on loopback for the tests that
# need them: a PostgreSQL cluster for the PostgreSQL half of the store and
# server tests, unless VIGIL_TEST_POSTGRES_URL already names one, and a
# redis-server for the Redis rate limiter, unless VIGIL_TEST_REDIS_URL
# already names one. A service whose server binaries are missing is not
# started and its tests are not run (and in CI that is a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

services=()
if [ -z "${VIGIL_TEST_POSTGRES_URL:-}" ] && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  services+=(postgres)
fi
if [ -z "${VIGIL_TEST_REDIS_URL:-}" ] && command -v redis-server >/dev/null; then
  services+=(redis)
fi
if [ ${#services[@]} -gt 0 ]; then
  svc=$(mktemp -d /tmp/vigil-test.XXXXXX)
  trap 'scripts/test-services.sh stop "$svc"; rm -rf "$svc"' EXIT
  eval "$(scripts/test-services.sh start "$svc" "${services[@]}")"
fi

go vet ./...
go test -count=1 "$@" ./...
