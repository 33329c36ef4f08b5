#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the server tests and the ingest benchmark.
#
#   scripts/pg.sh start   start it (idempotent) and print its postgres:// URL
#   scripts/pg.sh url     print the URL of the running cluster
#   scripts/pg.sh stop    stop it and delete its data
#   scripts/pg.sh restart restart it (fast shutdown: clients are disconnected), same URL
#   scripts/pg.sh halt    stop it, keeping its data and port (`start` brings it back)
#
# The cluster lives in $TAILOR_PG_DIR (default /tmp/tailor-pg), runs as the `postgres`
# user when started by root, listens on 127.0.0.1 only, on a free port, with trust
# authentication: it is for tests on this machine, never for data you want to keep.
#   export TAILOR_TEST_PG_URL=$(scripts/pg.sh start)
set -euo pipefail

DIR="${TAILOR_PG_DIR:-/tmp/tailor-pg}"
BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
RUN_AS="${TAILOR_PG_USER:-postgres}"

die() { echo "pg.sh: $*" >&2; exit 1; }
[ -x "$BIN/pg_ctl" ] || die "PostgreSQL binaries not found (set PG_BIN); apt-get install postgresql"

# Runs a PostgreSQL tool as the cluster's owner (initdb refuses to run as root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

owner() { if [ "$(id -u)" = 0 ]; then echo "$RUN_AS"; else id -un; fi; }

url() {
  [ -f "$DIR/port" ] || die "not running (scripts/pg.sh start)"
  echo "postgres://$(owner)@127.0.0.1:$(cat "$DIR/port")/postgres"
}

running() {
  [ -f "$DIR/port" ] && [ -d "$DIR/data" ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  if running; then url; return; fi
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown "$RUN_AS" "$DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    as_owner "$BIN/initdb" -D "$DIR/data" -A trust -U "$(owner)" -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  local port
  if [ -f "$DIR/port" ]; then port=$(cat "$DIR/port"); else port=$(free_port); fi
  pg_ctl_cmd "$port" start
  echo "$port" >"$DIR/port"
  url
}

# Durability is not the point of a throwaway cluster; speed is.
pg_ctl_cmd() {
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 -m fast \
    -o "-c listen_addresses=127.0.0.1 -p $1 -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    "$2" >/dev/null || { tail -n 20 "$DIR/server.log" >&2; die "$2 failed"; }
}

restart() {
  running || die "not running (scripts/pg.sh start)"
  pg_ctl_cmd "$(cat "$DIR/port")" restart
  url
}

halt() {
  running || die "not running (scripts/pg.sh start)"
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
}

stop() {
  if [ -d "$DIR/data" ]; then as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  halt) halt ;;
  url) running || die "not running (scripts/pg.sh start)"; url ;;
  *) echo "usage: scripts/pg.sh start|stop|restart|halt|url" >&2; exit 2 ;;
esac
