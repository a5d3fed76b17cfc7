#!/usr/bin/env bash
# Samples, every INTERVAL seconds while a scale.sh run lives, how many tenants its catalog holds and each client
# backend's role, application_name, start time and private memory (smaps_rollup Private_Clean + Private_Dirty, kB): the
# owner and LISTEN backends that scale.sh's own end-of-run reading does not cover (docs/adr/0069). Run it beside
# scale.sh, as root, on the run's folder:
#   build/bench/backends.sh /tmp/monolith-bench-scale.XXXXXX [INTERVAL=60] > backends.out
set -euo pipefail
work=$1
interval=${2:-60}
until [ -f "$work/pg/port" ]; do sleep 5; done
port=$(cat "$work/pg/port")
psql_db=(psql -h 127.0.0.1 -p "$port" -U postgres -d monolith_bench -XAt)
while [ -d "$work/pg" ]; do
  echo "== $(date -u +%T) tenants=$("${psql_db[@]}" -c "SELECT count(*) FROM platform.tenants" 2>/dev/null || true)"
  "${psql_db[@]}" -F' ' -c "SELECT pid, usename, coalesce(nullif(application_name, ''), '-'), to_char(backend_start, 'HH24:MI:SS'), state
                            FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY usename" 2>/dev/null |
    while read -r pid user app start state; do
      kb=$(awk '/^Private_(Clean|Dirty)/ {s += $2} END {print s + 0}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo "?")
      echo "$pid $user $app $start $state private_kB=$kb"
    done
  sleep "$interval"
done
