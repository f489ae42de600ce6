#!/usr/bin/env bash
# Runs every test. Starts a throwaway PostgreSQL cluster on loopback for the
# PostgreSQL half of the store and server tests, unless
# VIGIL_TEST_POSTGRES_URL already names one. Without PostgreSQL's server
# binaries the PostgreSQL tests are not run (and in CI that is a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIGIL_TEST_POSTGRES_URL:-}" ] && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  svc=$(mktemp -d /tmp/vigil-test.XXXXXX)
  trap 'scripts/test-services.sh stop "$svc"; rm -rf "$svc"' EXIT
  eval "$(scripts/test-services.sh start "$svc")"
fi

go vet ./...
go test -count=1 "$@" ./...
