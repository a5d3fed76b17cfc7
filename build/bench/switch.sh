#!/usr/bin/env bash
# What limits GET /customers spread over many tenants, at the SQL level (issue 16): pgbench, without the host, on a
# throwaway cluster (durable settings) with SCHEMAS tenant-like schemas, each the real customers table and its indexes
# (migrations/scripts/tenant/customers/0004_customers.sql), 3 rows, and a role of its own that the login is a member of.
# Each transaction is what the request path sends: role and search_path set transaction-locally, then the list query
# of ListCustomersQuery (ORDER BY name, id LIMIT 50).
#   one    always schema 1;
#   many   a schema picked at random per transaction.
# Each in prepared mode (-M prepared: the plan is kept unless search_path changes, when PostgreSQL analyses and plans
# the statement again) and in simple mode (-M simple: planned every time). pgbench -c4 -j2, CLIENTS connections that
# live for the whole run, SECONDS per run, progress every SECONDS/3: the first third shows the cold caches of "many"
# (each backend meets its schemas for the first time), the last third the warm ones. ROUNDS alternating rounds, medians.
# Not in CI. Run it under the shared lock:
#   flock -o /tmp/monolith-bench.lock nice build/bench/switch.sh [SCHEMAS=2000] [SECONDS=30] [ROUNDS=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
schemas=${1:-2000}
seconds=${2:-30}
rounds=${3:-2}
clients=4
work=$(mktemp -d /tmp/monolith-bench-switch.XXXXXX)
chmod 755 "$work"
cleanup() { bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
bash build/pg-cluster.sh start "$work/pg" 0 >/dev/null
port=$(cat "$work/pg/port")
pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench | tail -n 1)
psql_su=(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -XqAt -v ON_ERROR_STOP=1)

# The customers table as a tenant has it: the CREATE TABLE and its indexes, up to the next table.
table=$(awk '/^CREATE TABLE customers/ {on=1} /^CREATE TABLE projects/ {on=0} on' migrations/scripts/tenant/customers/0004_customers.sql)
"${psql_su[@]}" -c "CREATE ROLE switch_app LOGIN"
for ((i = 1; i <= schemas; i += 250)); do  # in batches: one transaction per 250 schemas keeps the lock table small
  {
    echo "BEGIN;"
    for ((s = i; s < i + 250 && s <= schemas; s++)); do
      echo "CREATE ROLE sw_$s NOLOGIN; GRANT sw_$s TO switch_app; CREATE SCHEMA sw_$s AUTHORIZATION sw_$s; SET search_path = sw_$s;"
      echo "$table"
      echo "ALTER TABLE customers OWNER TO sw_$s;"
      echo "INSERT INTO customers (id, name, email) SELECT gen_random_uuid(), 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 3) g;"
    done
    echo "COMMIT;"
  } | "${psql_su[@]}" >/dev/null
done
"${psql_su[@]}" -c "VACUUM ANALYZE" >/dev/null

cat >"$work/one.sql" <<'SQL'
BEGIN;
SELECT set_config('role', 'sw_1', true), set_config('search_path', 'sw_1', true);
SELECT *, xmin FROM customers ORDER BY name, id LIMIT 50;
COMMIT;
SQL
cat >"$work/many.sql" <<'SQL'
\set s random(1, :schemas)
BEGIN;
SELECT set_config('role', 'sw_' || :s, true), set_config('search_path', 'sw_' || :s, true);
SELECT *, xmin FROM customers ORDER BY name, id LIMIT 50;
COMMIT;
SQL

# run MODE SET: prints "first-third-tps last-third-tps whole-run-tps"
run() {
  local out
  out=$("$pgbench" -h 127.0.0.1 -p "$port" -U switch_app -d postgres -n -M "$1" -c "$clients" -j 2 -T "$seconds" \
    -P "$((seconds / 3))" -D schemas="$schemas" -f "$work/$2.sql" 2>&1)
  echo "$out" | awk '/^progress:/ {tps[++n] = $4} /^tps = / {all = $3} END {printf "%s %s %s\n", tps[1], tps[n], all}'
}

echo "# build/bench/switch.sh $schemas $seconds $rounds  ($(date -u +%FT%TZ), $(nproc) cores, pgbench -c$clients -j2 -T$seconds, $rounds alternating rounds)"
declare -A first last
for _ in $(seq "$rounds"); do
  for mode in prepared simple; do
    for set in one many; do
      read -r a b _ <<<"$(run "$mode" "$set")"
      first[$mode-$set]="${first[$mode-$set]:-} $a"
      last[$mode-$set]="${last[$mode-$set]:-} $b"
    done
  done
done
python3 - "$schemas" "${first[prepared-one]}" "${last[prepared-one]}" "${first[prepared-many]}" "${last[prepared-many]}" \
  "${first[simple-one]}" "${last[simple-one]}" "${first[simple-many]}" "${last[simple-many]}" <<'PY'
import sys, statistics
n = sys.argv[1]
m = lambda s: statistics.median(float(x) for x in s.split())
p1, p1w, pmc, pmw, s1, s1w, smc, smw = (m(a) for a in sys.argv[2:10])
print(f"  transactions/s, medians (last third; first third for 'many' cold):")
print(f"    prepared: 1 schema {p1w:,.0f}; {n} schemas cold {pmc:,.0f}, warm {pmw:,.0f}")
print(f"    simple:   1 schema {s1w:,.0f}; {n} schemas cold {smc:,.0f}, warm {smw:,.0f}")
print(f"  many warm ÷ one, prepared: {pmw / p1w:.2f}   (what a backend that has met every schema can reach)")
print(f"  many cold ÷ one, prepared: {pmc / p1w:.2f}   (every transaction on a schema the backend has not met, mostly)")
print(f"  one simple ÷ one prepared: {s1w / p1w:.2f}   (planning every time)")
print(f"  many warm prepared ÷ many warm simple: {pmw / smw:.2f}   (near 1: a search_path change plans the statement again)")
PY
