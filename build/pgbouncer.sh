#!/usr/bin/env bash
# A PgBouncer of our own in transaction mode, in front of one database (tests and benchmarks; Debian's pgbouncer 1.18).
#   pgbouncer.sh start DIR SERVER_HOST SERVER_PORT DATABASE USER PASSWORD [POOL_SIZE [OWNER_PID]]
#       writes DIR/pgbouncer.ini, starts it on a free 127.0.0.1 port (remembered in DIR/port) with POOL_SIZE (4) server
#       connections to the database on SERVER_HOST:SERVER_PORT, and prints that port on stdout; with OWNER_PID, a
#       watcher stops it when that process is gone.
#   pgbouncer.sh stop DIR
# PgBouncer refuses to run as root: as root it runs as the postgres user.
set -euo pipefail
die() { echo "pgbouncer.sh: $*" >&2; exit 1; }

as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() {
  # Below the kernel's ephemeral range, as build/pg-cluster.sh does: a port there can be the local end of a client
  # connection, which looks free to a connect but cannot be bound.
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 20100 ] 2>/dev/null || low=32768
  for p in $(shuf -i 20000-$((low - 1)) -n 50); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free TCP port found"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pgbouncer.sh start DIR SERVER_HOST SERVER_PORT DATABASE USER PASSWORD [POOL_SIZE [OWNER_PID]] | stop DIR"
bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

case "$cmd" in
  start)
    [ $# -ge 7 ] || die "usage: pgbouncer.sh start DIR SERVER_HOST SERVER_PORT DATABASE USER PASSWORD [POOL_SIZE [OWNER_PID]]"
    [ -x "$bin" ] || die "pgbouncer is not installed (apt-get install pgbouncer)"
    server_host=$3; server_port=$4; database=$5; user=$6; password=$7; pool=${8:-4}
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    port=$(free_port)
    printf '"%s" "%s"\n' "$user" "$password" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
$database = host=$server_host port=$server_port dbname=$database pool_size=$pool
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = plain
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = $pool
min_pool_size = 0
server_reset_query =
ignore_startup_parameters = extra_float_digits,search_path
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    chmod 600 "$dir/userlist.txt" "$dir/pgbouncer.ini"
    [ "$(id -u)" = "0" ] && chown -R postgres: "$dir"
    as_pg "$bin" -d -q "$dir/pgbouncer.ini" || die "pgbouncer did not start (log: $dir/pgbouncer.log)"
    if [ -n "${9:-}" ]; then
      # OWNER_PID: stop the pooler once that process is gone, however it ended (a test host killed before its exit
      # handlers ran would otherwise leave the daemon running, holding whatever file descriptors it inherited).
      setsid bash -c 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill "$(cat "$1/pgbouncer.pid")" 2>/dev/null' "$9" "$dir" \
        </dev/null >/dev/null 2>&1 &
    fi
    for _ in $(seq 1 50); do
      (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && { echo "$port" >"$dir/port"; echo "$port"; exit 0; }
      sleep 0.1
    done
    die "pgbouncer did not listen on $port (log: $dir/pgbouncer.log)"
    ;;
  stop)
    [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    ;;
  *) die "unknown command '$cmd'" ;;
esac
