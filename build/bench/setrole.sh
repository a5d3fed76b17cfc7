#!/usr/bin/env bash
# What a request backend pays to become a tenant, by the number of tenant roles (issue 16): on a throwaway cluster, one
# login role (NOINHERIT, like the request role) that is a member of COUNT roles, as the request role is of every tenant's.
# For each count, in ROUNDS fresh connections: the first `SET LOCAL role` of a new backend (PostgreSQL 15 lists every role
# the login belongs to, and caches the list for the backend), the second (from that cache), the first after another
# session granted the login one more role (a provisioning: every backend's list is dropped and built again), and the
# first after another session changed the database's own pg_database row (ALTER DATABASE here; VACUUM does it too when it
# advances datfrozenxid), which drops the lists as well.
# Medians in ms. Not in CI:
#   flock -o /tmp/monolith-bench.lock nice build/bench/setrole.sh ["1000 3000 10000"] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
counts=${1:-"1000 3000 10000"}
rounds=${2:-5}
work=$(mktemp -d /tmp/monolith-bench-setrole.XXXXXX)
chmod 755 "$work"
cleanup() { bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
bash build/pg-cluster.sh start "$work/pg" 0 >/dev/null
port=$(cat "$work/pg/port")
psql_su=(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -XqAt -v ON_ERROR_STOP=1)
"${psql_su[@]}" -c "CREATE ROLE probe LOGIN NOINHERIT; GRANT CONNECT ON DATABASE postgres TO probe"
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "# build/bench/setrole.sh \"$counts\" $rounds  ($(date -u +%FT%TZ), $(nproc) cores, $("${psql_su[@]}" -c 'SHOW server_version'))"
echo "| member of | first SET ROLE of a new backend | second | first after a GRANT elsewhere | first after the database's row changed |"
echo "| --- | --- | --- | --- | --- |"
made=0
for count in $counts; do
  while ((made < count)); do  # 500 roles per transaction
    {
      echo "BEGIN;"
      for ((r = made + 1; r <= made + 500 && r <= count; r++)); do echo "CREATE ROLE sr_$r NOLOGIN; GRANT sr_$r TO probe;"; done
      echo "COMMIT;"
    } | "${psql_su[@]}" >/dev/null
    made=$((made + 500 < count ? made + 500 : count))
  done
  first=() second=() after=() database=()
  for round in $(seq "$rounds"); do
    # One backend: two SET ROLEs, then a GRANT made by another session, one more, an ALTER DATABASE by another session, one more.
    out=$(
      {
        echo '\timing on'
        echo "BEGIN; SELECT set_config('role', 'sr_$((RANDOM % count + 1))', true); COMMIT;"
        echo "BEGIN; SELECT set_config('role', 'sr_$((RANDOM % count + 1))', true); COMMIT;"
        echo "\\! psql -h 127.0.0.1 -p $port -U postgres -d postgres -XqAt -c 'CREATE ROLE sr_extra_${count}_$round NOLOGIN; GRANT sr_extra_${count}_$round TO probe'"
        echo "BEGIN; SELECT set_config('role', 'sr_$((RANDOM % count + 1))', true); COMMIT;"
        echo "\\! psql -h 127.0.0.1 -p $port -U postgres -d postgres -XqAt -c 'ALTER DATABASE postgres CONNECTION LIMIT $((1000 + round))'"
        echo "BEGIN; SELECT set_config('role', 'sr_$((RANDOM % count + 1))', true); COMMIT;"
      } | psql -h 127.0.0.1 -p "$port" -U probe -d postgres -XqAt 2>&1 | grep -A1 '^sr_' | grep -o 'Time: [0-9.]*' | awk '{print $2}'
    )
    first+=("$(sed -n 1p <<<"$out")") second+=("$(sed -n 2p <<<"$out")") after+=("$(sed -n 3p <<<"$out")") database+=("$(sed -n 4p <<<"$out")")
  done
  echo "| $count roles | $(printf '%s\n' "${first[@]}" | median) ms | $(printf '%s\n' "${second[@]}" | median) ms | $(printf '%s\n' "${after[@]}" | median) ms | $(printf '%s\n' "${database[@]}" | median) ms |"
done
