#!/usr/bin/env bash
# Starts a throw-away PostgreSQL on 127.0.0.1 (Debian's packages) and prints the URL for the tests.
# Usage: source .ci/pg.sh start  → exports BRANDPULSE_TEST_DATABASE_URL;  .ci/pg.sh stop
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGDATA=${BRANDPULSE_PGDATA:-/tmp/brandpulse-ci-pg}
PGPORT=${BRANDPULSE_PGPORT:-55432}
RUNAS=""
if [ "$(id -u)" = "0" ]; then RUNAS="runuser -u postgres --"; fi

case "${1:-start}" in
  start)
    [ -n "$PGBIN" ] || { echo "PostgreSQL binaries not found (apt-get install postgresql)"; exit 1; }
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      mkdir -p "$PGDATA"; [ -n "$RUNAS" ] && chown postgres "$PGDATA"
      $RUNAS "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust >/dev/null
    fi
    if ! $RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      $RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k /tmp" -l "$PGDATA/log" -w start >/dev/null
    fi
    "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='brandpulse_test'" | grep -q 1 \
      || "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres brandpulse_test
    export BRANDPULSE_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/brandpulse_test"
    echo "PostgreSQL on 127.0.0.1:$PGPORT"
    ;;
  stop)
    $RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null || true
    ;;
esac
