#!/usr/bin/env bash
# A PostgreSQL cluster of our own, from the machine's PostgreSQL binaries (no Docker needed).
#   pg-cluster.sh start DIR [PORT] [PASSWORD_FILE] [--throwaway]
#       initdb DIR if it is empty, start it on 127.0.0.1:PORT (0 or none: a free port, remembered in DIR/port),
#       and print its connection string on stdout. With PASSWORD_FILE the superuser "postgres" gets that
#       password (scram); without, local trust. --throwaway turns durability off (tests).
#   pg-cluster.sh stop DIR      stop it (fast shutdown).
#   pg-cluster.sh crash-restart DIR   stop it the way a crash does (immediate shutdown) and start it again (tests).
# As root, PostgreSQL runs as the "postgres" user (it refuses root); DIR is handed to that user.
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 1; }

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return; }
  die "no PostgreSQL server binaries found (install the postgresql package, or set PG_BINDIR)"
}

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  # Below the kernel's ephemeral range: a port there can be the local end of some client connection, which nothing
  # answers on (so it looks free) but which PostgreSQL then cannot bind ("Address already in use").
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 20100 ] 2>/dev/null || low=32768
  for p in $(shuf -i 20000-$((low - 1)) -n 50); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free TCP port found"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pg-cluster.sh start|stop|crash-restart DIR [PORT] [PASSWORD_FILE] [--throwaway]"
bindir=$(find_bindir)

case "$cmd" in
  start)
    port=${3:-0}; pwfile=${4:-}; throwaway=""
    for a in "$@"; do [ "$a" = "--throwaway" ] && throwaway=1; done
    [ "$pwfile" = "--throwaway" ] && pwfile=""
    [ "$port" = "--throwaway" ] && port=0
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = "0" ]; then
      id postgres >/dev/null 2>&1 || die "the postgres user does not exist (install the postgresql package)"
      chown postgres: "$dir"
      # the postgres user must be able to reach DIR
      as_pg test -x "$dir" || die "the postgres user cannot reach $dir; put the repository outside root's home"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg mkdir -p "$dir/data"
      if [ -n "$pwfile" ]; then
        cp "$pwfile" "$dir/.pw" && chmod 600 "$dir/.pw"
        [ "$(id -u)" = "0" ] && chown postgres: "$dir/.pw"
        as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/.pw" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
          || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        rm -f "$dir/.pw"
      else
        as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
          || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
      fi
      {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = ''"
        echo "max_connections = 300"
        echo "shared_buffers = 256MB"
        if [ -n "$throwaway" ]; then
          echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
        fi
      } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
    fi
    chosen=""
    if [ "$port" = "0" ]; then
      if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); chosen=1; fi
    fi
    if ! as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      for attempt in 1 2 3; do
        echo "$port" | as_pg tee "$dir/port" >/dev/null
        as_pg "$bindir/pg_ctl" -D "$dir/data" -o "-p $port" -l "$dir/server.log" -w -t 60 start >/dev/null && break
        # A port we chose can be taken between the check and the bind: choose again.
        if [ -n "$chosen" ] && [ "$attempt" -lt 3 ] && tail -n 20 "$dir/server.log" | grep -q "Address already in use"; then
          port=$(free_port)
          continue
        fi
        tail -n 20 "$dir/server.log" >&2; die "the server did not start (log: $dir/server.log)"
      done
    else
      echo "$port" | as_pg tee "$dir/port" >/dev/null
    fi
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    ;;
  stop)
    [ -f "$dir/data/PG_VERSION" ] || exit 0
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  crash-restart)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 restart >/dev/null \
      || { tail -n 20 "$dir/server.log" >&2; die "the server did not restart (log: $dir/server.log)"; }
    ;;
  *) die "unknown command '$cmd'" ;;
esac
