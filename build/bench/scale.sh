#!/usr/bin/env bash
# Many tenants on one PostgreSQL (issue 16, docs/adr/0064), on a throwaway cluster (durable settings) with bench hosts in
# Release (build/bench/cluster.sh, Monolith.Bench):
#   provisioning TENANTS tenants through POST /platform/tenants (3 customers and a token each; parallel 4), time in all;
#   migrating every tenant schema with one new script (Monolith.Bench migrate, parallel 4), time in all;
#   GET /customers?limit=50 spread over all tenants ÷ one tenant, after warm-up, for each variant side by side
#   (wrk -t2 -c32, alternating rounds, medians), then the private memory (smaps Private_Clean + Private_Dirty of private
#   mappings) of each request backend of that variant's host (max, median, total, count) and the host's RSS.
# Variants, each its own host process on the same database (application_name tells their backends apart):
#   off   no tenant affinity (Tenancy__RequestPools=1), no recycling (Connection Lifetime=0, Connection Idle Lifetime=300:
#         Npgsql's own defaults), no memory budget (Tenancy__BackendMemoryMegabytes=0) — the request pool before issue 16;
#   on    the shipped defaults (docs/adr/0064, 0071);
#   others in VARIANTS="NAME=SETTING,SETTING,...|NAME=..." replacing the two (e.g. "off=...|k16=Tenancy__RequestPools=16"):
#         a SETTING CS=... is appended to the request connection string, ENV=VALUE is exported for that host only.
# PROFILE=1 adds, after the rounds, one more spread-out run per variant under `perf record -a -g` (the whole machine) and
#   prints where its CPU went: per process name, then the hottest functions of the PostgreSQL backends, and what the busy
#   backends were running (pg_stat_activity sampled 5 times a second). With KEEP the perf data stays in DIR.
# WRITES=1 adds, after the GET phase, 6 × WRK_SECONDS of POST /customers over all tenants per variant, then the same memory
#   read (the write path: the audit triggers' compiled PL/pgSQL per schema).
# KEEP=DIR keeps the provisioned cluster in DIR (stopped) instead of deleting it; a later run with the same KEEP=DIR
#   starts it again, migrates its tenant schemas to the code at hand and goes to the GET phase with the hosts of that code
#   (TENANTS is then the kept count).
# Not in CI: 10,000 tenants take long (provisioning alone is most of it). Run it under the shared lock:
#   flock -o /tmp/monolith-bench.lock nice build/bench/scale.sh [TENANTS=10000] [WRK_SECONDS=10] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
tenants=${1:-10000}
seconds=${2:-10}
rounds=${3:-3}
variants=${VARIANTS:-"off=Tenancy__RequestPools=1,Tenancy__BackendMemoryMegabytes=0,CS=Connection Lifetime=0;Connection Idle Lifetime=300|on="}
lua=build/bench/lua
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ "$(id -u)" = "0" ] || echo "warning: not root: the backends' /proc/PID/smaps_rollup may be unreadable" >&2

keep=${KEEP:-}
if [ -n "$keep" ]; then mkdir -p "$keep" && work=$(cd "$keep" && pwd); else work=$(mktemp -d /tmp/monolith-bench-scale.XXXXXX); fi
chmod 755 "$work"
kept=0; [ -f "$work/env" ] && kept=1
declare -A host_pid host_url
cleanup() {
  for name in "${!host_pid[@]}"; do kill "${host_pid[$name]}" 2>/dev/null || true; wait "${host_pid[$name]}" 2>/dev/null || true; done
  if grep -qiE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' "$work"/host-*.log 2>/dev/null; then
    mkdir -p "$work-logs" && cp "$work"/host-*.log "$work-logs/" && echo "host logs with errors kept in $work-logs" >&2
  fi
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  if [ -n "$keep" ]; then rm -f "$work"/host-*.log; else rm -rf "$work"; fi
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
if [ "$kept" = "1" ]; then
  bash build/pg-cluster.sh start "$work/pg" "$(cat "$work/pg/port")" >/dev/null
  . "$work/env"  # the connection strings, keys and tenant count of the run that provisioned the cluster
  # roles.sql again (idempotent, same passwords): a cluster kept from older code gets the grants the code at hand expects.
  bench_roles "$work" monolith_bench "$(sed -E 's/.*;Password=([^;]*).*/\1/' <<<"$ConnectionStrings__MonolithOwner")" \
    "$(sed -E 's/.*;Password=([^;]*).*/\1/' <<<"$ConnectionStrings__Monolith")"
else
  bench_cluster "$work" monolith_bench  # sets server and db (superuser); exports the host's two connection strings
  key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
  signing_key=$(head -c 48 /dev/urandom | base64)
fi
request_base=$ConnectionStrings__Monolith
psql_db="postgresql://postgres@127.0.0.1:$(cat "$work/pg/port")/monolith_bench"

dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null  # also builds the host it runs
bench="dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll"

# Bench-only: rate limits out of reach, tokens valid for the whole run, and the per-tenant concurrency bound out of reach
# (wrk's 32 connections on one tenant would otherwise be refused past the bound, which differs between the variants).
export Platform__ApiKey="$key" Auth__SigningKey="$signing_key" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 \
  Auth__AccessTokenMinutes=600 Tenancy__MaxConcurrency=1000000

# start_host NAME SETTINGS: SETTINGS as in VARIANTS ("ENV=VALUE,CS=connection string options,...").
start_host() {
  local name=$1 settings=$2 port cs="" envs=() item
  port=$(shuf -i 20000-30000 -n 1)
  IFS=',' read -r -a items <<<"$settings"
  for item in "${items[@]}"; do
    [ -n "$item" ] || continue
    if [[ $item == CS=* ]]; then cs="$cs;${item#CS=}"; else envs+=("$item"); fi
  done
  env "${envs[@]}" ConnectionStrings__Monolith="$request_base;Application Name=scale-$name$cs" Jobs__ServerEnabled=false \
    dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll host --urls "http://127.0.0.1:$port" >>"$work/host-$name.log" 2>&1 &
  host_pid[$name]=$!
  host_url[$name]="http://127.0.0.1:$port"
  # Up to 5 minutes: a start-up's reconciliation over every tenant must not end a run that took hours to provision.
  for _ in $(seq 1 1500); do curl -sf "${host_url[$name]}/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host $name did not start" >&2; cat "$work/host-$name.log" >&2; exit 1
}
# wrk_rps NAME ARGS...: runs wrk, prints requests/s; a non-2xx answer fails the bench (a 401/503 must not pass as speed).
wrk_rps() {
  local name=$1 out; shift
  out=$(wrk -t2 -c32 -d"${seconds}s" "$@")
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk $name: $(echo "$out" | grep Non-2xx)" >&2; echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
# memory NAME: private memory of each request backend of host NAME, and the host's RSS.
memory() {
  local name=$1 pids
  pids=$(psql "$psql_db" -XAtc "SELECT pid FROM pg_stat_activity WHERE application_name = 'scale-$name' AND backend_type = 'client backend'")
  python3 - "$name" "${host_pid[$name]}" $pids <<'PY'
import sys, statistics
name, host, pids = sys.argv[1], sys.argv[2], sys.argv[3:]
def private_mb(pid):
    # Private_Clean + Private_Dirty of the backend's own (private) mappings. smaps also counts a page of a *shared*
    # mapping as private while no other process maps it: shared buffers only this backend has touched so far. Those are
    # reported apart (the figure of runs before 2026-11-30 included them): they belong to shared_buffers, not the backend.
    own = shared = 0
    mapping_shared = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if len(head) >= 5 and "-" in head[0] and len(head[1]) == 4:
                mapping_shared = head[1][3] == "s"
            elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                if mapping_shared:
                    shared += int(head[1])
                else:
                    own += int(head[1])
    return own / 1024, shared / 1024
sizes, shared = [], []
for pid in pids:
    try:
        mine, theirs = private_mb(pid)
        sizes.append(mine)
        shared.append(theirs)
    except OSError:
        pass
rss = next(int(l.split()[1]) for l in open(f"/proc/{host}/status") if l.startswith("VmRSS")) / 1024
if sizes:
    print(f"  {name}: {len(sizes)} request backends, private memory max {max(sizes):.1f} MB, median {statistics.median(sizes):.1f} MB, "
          f"total {sum(sizes):.0f} MB (and shared buffers only one backend had touched: max {max(shared):.1f} MB); host RSS {rss:.0f} MB")
else:
    print(f"  {name}: no request backend open; host RSS {rss:.0f} MB")
PY
}

names=()
IFS='|' read -r -a specs <<<"$variants"
echo "# build/bench/scale.sh $tenants $seconds $rounds  ($(date -u +%FT%TZ), $(nproc) cores, wrk -t2 -c32 -d${seconds}s, $rounds alternating rounds)"
echo "# variants: $variants"
for spec in "${specs[@]}"; do
  name=${spec%%=*}
  names+=("$name")
  start_host "$name" "${spec#*=}"
done
first=${names[0]}

if [ "$kept" = "1" ]; then
  echo "## Kept cluster $work: $tenants tenants, provisioned by an earlier run; their schemas brought to the code at hand"
  $bench migrate "$ConnectionStrings__MonolithOwner" 4  # the tenant scripts added since, and one bench script
else
echo "## Provisioning $tenants tenants through $first (POST /platform/tenants, 3 customers and a login each, parallel 4)"
$bench tenants "${host_url[$first]}" "$key" t "$tenants" 3 4 "$work/tokens.txt" || echo "  (some tenants failed: the rest of the run uses those that did not)"
head -n 1 "$work/tokens.txt" >"$work/one.txt"
psql "$psql_db" -XAtc "SELECT 'schemas: ' || count(*) || ', relations in them: ' || (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN (SELECT schema_name FROM platform.tenants)) FROM platform.tenants" | sed 's/^/  /'

echo "## Where one backend's memory goes: one superuser session reads a page of customers in every tenant schema"
psql "$psql_db" -XAtq -v ON_ERROR_STOP=1 <<'SQL' | sed 's/^/  /'
CREATE TEMP TABLE before AS SELECT name, sum(total_bytes) AS bytes FROM pg_backend_memory_contexts GROUP BY name;
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT schema_name FROM platform.tenants LOOP
    EXECUTE format('SELECT count(*) FROM (SELECT id, name, email FROM %I.customers ORDER BY name, id LIMIT 50) c', s);
    COMMIT;  -- one transaction would hold a lock per table read: past ~3,800 schemas that exhausts max_locks_per_transaction
  END LOOP;
END $$;
SELECT 'backend total ' || round(sum(total_bytes) / 1048576.0, 1) || ' MB after ' || (SELECT count(*) FROM platform.tenants) || ' schemas'
  FROM pg_backend_memory_contexts;
SELECT name || ' x' || count(*) || ': ' || round(sum(total_bytes) / 1048576.0, 1) || ' MB (+'
       || round((sum(total_bytes) - coalesce((SELECT bytes FROM before b WHERE b.name = m.name), 0)) / 1048576.0, 1) || ')'
  FROM pg_backend_memory_contexts m GROUP BY name ORDER BY sum(total_bytes) DESC LIMIT 6;
SQL

echo "## Migrating every tenant schema with one new script (Monolith.Bench migrate, parallel 4)"
$bench migrate "$ConnectionStrings__MonolithOwner" 4

if [ -n "$keep" ]; then
  printf 'export ConnectionStrings__Monolith=%q ConnectionStrings__MonolithOwner=%q\nkey=%q signing_key=%q tenants=%q\n' \
    "$ConnectionStrings__Monolith" "$ConnectionStrings__MonolithOwner" "$key" "$signing_key" "$tenants" >"$work/env"
fi
fi

echo "## GET /customers?limit=50: all $tenants tenants ÷ 1 tenant, per variant (fresh host processes; tenant + token random per request)"
for name in "${names[@]}"; do  # restart: each variant starts with the backends of this phase only
  kill "${host_pid[$name]}"; wait "${host_pid[$name]}" 2>/dev/null || true
done
for spec in "${specs[@]}"; do start_host "${spec%%=*}" "${spec#*=}"; done
for name in "${names[@]}"; do  # warm-up: every tenant at least once on each variant
  wrk -t2 -c32 -d"${seconds}s" -s "$lua/tenants.lua" "${host_url[$name]}" -- "$work/one.txt" >/dev/null
  wrk -t2 -c32 -d"$((seconds * 2))s" -s "$lua/tenants.lua" "${host_url[$name]}" -- "$work/tokens.txt" >/dev/null
done
declare -A many one
for _ in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    many[$name]="${many[$name]:-} $(wrk_rps "$name-many" -s "$lua/tenants.lua" "${host_url[$name]}" -- "$work/tokens.txt")"
    one[$name]="${one[$name]:-} $(wrk_rps "$name-one" -s "$lua/tenants.lua" "${host_url[$name]}" -- "$work/one.txt")"
  done
done
for name in "${names[@]}"; do
  python3 - "$name" "$tenants" "${many[$name]}" "${one[$name]}" <<'PY'
import sys, statistics
name, n = sys.argv[1], sys.argv[2]
a = [float(x) for x in sys.argv[3].split()]
b = [float(x) for x in sys.argv[4].split()]
print(f"  {name}: {n} tenants {' / '.join(f'{x:,.0f}' for x in a)} req/s (median {statistics.median(a):,.0f}), "
      f"1 tenant {' / '.join(f'{x:,.0f}' for x in b)} (median {statistics.median(b):,.0f}): ratio {statistics.median(a) / statistics.median(b):.2f}")
PY
done

if [ "${PROFILE:-0}" = "1" ]; then
  echo "## Where the CPU goes, spread over all tenants (perf record -a -g, ${seconds} s per variant)"
  for name in "${names[@]}"; do
    # Beside it, one session samples what PostgreSQL's busy backends are running, 5 times a second.
    psql "$psql_db" -XAtq -v ON_ERROR_STOP=1 >"$work/activity-$name.txt" <<SQL &
CREATE TEMP TABLE samples AS SELECT usename, application_name, query FROM pg_stat_activity WHERE false;
DO \$\$
BEGIN
  FOR i IN 1..$((seconds * 5)) LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO samples SELECT usename, application_name, left(regexp_replace(regexp_replace(query, '\s+', ' ', 'g'), '"[^"]*"', '"…"', 'g'), 45) FROM pg_stat_activity
      WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid();
    PERFORM pg_sleep(0.2);
  END LOOP;
END \$\$;
SELECT count(*) || ' ' || usename || ' ' || coalesce(nullif(application_name, ''), '-') || ': ' || query FROM samples
  GROUP BY usename, application_name, query ORDER BY count(*) DESC LIMIT 8;
SQL
    sampler=$!
    perf record -q -a -g -F 499 -o "$work/perf-$name.data" -- \
      wrk -t2 -c32 -d"${seconds}s" -s "$lua/tenants.lua" "${host_url[$name]}" -- "$work/tokens.txt" 2>/dev/null |
      awk '/Requests\/sec/ {print "  '"$name"': " $2 " req/s"}'
    wait "$sampler"
    echo "    busy backends, samples per statement ($((seconds * 5)) samples):"
    sed 's/^/      /' "$work/activity-$name.txt"
    perf report -i "$work/perf-$name.data" --stdio --no-children --sort comm --percent-limit 2 2>/dev/null |
      awk '/^ +[0-9.]+%/ {printf "    %s %s\n", $1, $2}'
    echo "    hottest in postgres:"
    perf report -i "$work/perf-$name.data" --stdio --no-children --comms postgres --sort sym --percent-limit 1.5 -g none 2>/dev/null |
      awk '/^ +[0-9.]+%/ {printf "      %s\n", $0}' | head -n 25
  done
fi

# Long enough that a backend of an unbounded pool serves far more requests than there are tenants (so it has met most of
# them), measured as soon as the run ends (before idle connections are pruned).
echo "## PostgreSQL private memory per request backend and host RSS, right after $((seconds * 6)) s over all tenants"
for name in "${names[@]}"; do
  wrk -t2 -c32 -d"$((seconds * 6))s" -s "$lua/tenants.lua" "${host_url[$name]}" -- "$work/tokens.txt" | awk '/Requests\/sec/ {printf "  %s: %s req/s;", "'"$name"'", $2}'
  memory "$name"
done
if [ "${WRITES:-0}" = "1" ]; then
  # The write path: each new schema a backend meets also compiles the audit triggers' PL/pgSQL (about 280 kB a schema,
  # docs/adr/0068), the case the memory budget is sized for (docs/adr/0071).
  echo "## PostgreSQL private memory per request backend and host RSS, right after $((seconds * 6)) s of POST /customers over all tenants"
  for name in "${names[@]}"; do
    wrk -t2 -c32 -d"$((seconds * 6))s" -s "$lua/post-tenants.lua" "${host_url[$name]}" -- "$work/tokens.txt" "$name-$(date +%s)" |
      awk '/Requests\/sec/ {printf "  %s: %s req/s;", "'"$name"'", $2} /Non-2xx/ {printf " non-2xx: %s;", $NF}'
    memory "$name"
  done
fi
errors=$(grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' "$work"/host-*.log || true)
echo "  host logs: error lines per file: $(echo "$errors" | tr '\n' ' ')"
