#!/usr/bin/env bash
# Benchmarks of the audit trail (issue 11), side by side in one run, on a throwaway but durable PostgreSQL cluster
# (fsync on) and the host in Release:
#   ratios    POST /customers with the trail on vs off, one tenant and spread over TENANTS (100) tenants
#             (wrk, alternating on/off runs, medians; "off" = the tenants' audit triggers disabled by the superuser)
#   variants  the ways to build the chain against each other (build/bench/audit/variants.sql): today's lock to commit,
#             sealing at commit (dynamic and static SQL), asynchronous sealing, statement-level triggers; plus a bulk
#             UPDATE of 5,000 rows per variant
#   cpu       the backend's CPU per POST /customers transaction, trail on vs off, by how the pooled connection is reset
#             between requests (DISCARD ALL; Npgsql's reset that keeps plans, used once statements are prepared; none);
#             AUDIT_PERF=N adds the top N lines of a perf profile of the trail with plans kept
#   waits     what the request role's backends wait for (pg_stat_activity sampled every 20 ms) during POST /customers,
#             trail on vs off, one tenant and spread
#   latency   POST /customers p50/p99 at fixed 50 and 100 req/s (open loop)
#   verify    GET /audit-events/verify of a 1,000,000-record trail: time and the host's peak RSS
#   memory    private memory of one PostgreSQL backend after it served 1,000 tenants, functions per schema (scripts up
#             to 0007) vs shared (every script), with pg_backend_memory_contexts
# usage: build/bench/audit.sh [MODES=all] [WRK_SECONDS=8] [TENANTS=100]      e.g. build/bench/audit.sh "ratios latency"
#        VERIFY_RECORDS (1000000), MEMORY_TENANTS (1000), RATE_SECONDS (10) in the environment;
#        REQUEST_CONNECTION_OPTIONS is appended to the host's request connection string (e.g. "Max Auto Prepare=0")
# Run it under the shared lock: flock /tmp/monolith-bench.lock build/bench/audit.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
modes=${1:-all}
seconds=${2:-8}
spread=${3:-100}
verify_records=${VERIFY_RECORDS:-1000000}
memory_tenants=${MEMORY_TENANTS:-1000}
rate_seconds=${RATE_SECONDS:-10}
[ "$modes" = all ] && modes="ratios variants cpu waits latency verify memory"
has() { [[ " $modes " == *" $1 "* ]]; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d /tmp/monolith-bench-audit.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench  # sets server and db (superuser); exports the host's two connection strings (docs/adr/0005)
[ -z "${REQUEST_CONNECTION_OPTIONS:-}" ] || export ConnectionStrings__Monolith="$ConnectionStrings__Monolith;$REQUEST_CONNECTION_OPTIONS"
pgurl() { echo "$1" | sed 's/Host=/host=/;s/;Port=/ port=/;s/;Username=/ user=/;s/;Database=/ dbname=/;s/;Maximum Pool Size=[0-9]*//'; }
sql() { psql "$(pgurl "$db")" -v ON_ERROR_STOP=1 -qAtX "$@"; }

echo "# build/bench/audit.sh \"$modes\" $seconds $spread  ($(date -u +%FT%TZ), $(nproc) cores, durable cluster)"
echo "building (Release)..." >&2
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null
dotnet build host/Monolith.Host.csproj -c Release -v quiet --nologo >/dev/null
bench="dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll"
lua=build/bench/lua

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 Auth__AccessTokenMinutes=240 DOTNET_NOLOGO=1
port=$(shuf -i 20000-60000 -n 1)
url="http://127.0.0.1:$port"
start_host() {
  dotnet host/bin/Release/net10.0/Monolith.Host.dll --urls "$url" >>"$work/host.log" 2>&1 &
  host_pid=$!
  pids+=($host_pid)
  for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host did not start" >&2; cat "$work/host.log" >&2; exit 1
}
start_host

# tenant IDENTIFIER: provisions it (owner with a known password) and prints "identifier token"
tenant() {
  curl -sf -X POST "$url/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
    -d "{\"identifier\":\"$1\",\"name\":\"$1\",\"ownerEmail\":\"owner@$1.test\",\"ownerPassword\":\"bench-password-0123456789\"}" >/dev/null
  echo "$1 $(curl -sf -X POST "$url/auth/token" -H "X-Tenant: $1" -H 'Content-Type: application/json' \
    -d "{\"email\":\"owner@$1.test\",\"password\":\"bench-password-0123456789\"}" | jq -r .accessToken)"
}
schema_of() { sql -c "SELECT schema_name FROM platform.tenants WHERE identifier = '$1'"; }
# audit_triggers ENABLE|DISABLE SCHEMAS: every audit trigger of those tenants' tables (SCHEMAS: comma-separated)
audit_triggers() {
  sql -c "SELECT format('ALTER TABLE %I.%I $1 TRIGGER %I;', n.nspname, c.relname, t.tgname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname LIKE 'audit%' AND NOT t.tgisinternal AND n.nspname = ANY (string_to_array('$2', ','))" | sql >/dev/null
}
# post FILE RUN: wrk POST /customers over the tenants in FILE ("tenant token" lines), prints req/s; any non-2xx fails the run
post() {
  local out
  out=$(wrk -t2 -c16 -d"${seconds}s" -s "$lua/post-tenants.lua" "$url" -- "$1" "$2")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "wrk: $(echo "$out" | grep Non-2xx)" >&2
    read -r t k <"$1"
    curl -s -X POST "$url/customers" -H "X-Tenant: $t" -H "Authorization: Bearer $k" -H 'Content-Type: application/json' \
      -d '{"name":"Probe","email":"probe-'"$RANDOM"'@bench.test","projects":[{"name":"Main"}]}' -w '\n%{http_code}\n' >&2
    grep -m 5 -A 12 "ERR\]" "$work/host.log" | grep -v "^   at " >&2
    exit 1
  fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
medians() { # LABEL "values" [LABEL "values"...]: medians and each one's ratio to the last
  python3 - "$@" <<'PY'
import sys, statistics
pairs = [(sys.argv[i], [float(x) for x in sys.argv[i + 1].split()]) for i in range(1, len(sys.argv), 2)]
base = statistics.median(pairs[-1][1])
w = max(len(l) for l, _ in pairs)
for label, xs in pairs:
    m = statistics.median(xs)
    print(f"  {label:<{w}}: {' / '.join(f'{x:,.0f}' for x in xs)} req/s, median {m:,.0f}, ratio to {pairs[-1][0]}: {m / base:.2f}")
PY
}

if has variants; then
  echo "## Chain variants: POST /customers (wrk -t2 -c16 -d${seconds}s), one tenant per variant, rounds alternate the variants"
  sql -f build/bench/audit/variants.sql >/dev/null
  variants="lock seal_diff execute shipped async stmt off"
  for v in $variants; do
    tenant "var-${v//_/-}" >"$work/var-$v.txt"
    sql -c "SELECT bench_variants.apply('$(schema_of "var-${v//_/-}")', '$v')" >/dev/null
  done
  async_schema=$(schema_of var-async)
  # the sealer of the async variant: every 200 ms, like a job would
  (while true; do sql -c "SELECT bench_variants.seal('$async_schema')" >/dev/null; sleep 0.2; done) &
  pids+=($!)
  declare -A rps
  for round in 1 2 3; do
    for v in $variants; do rps[$v]="${rps[$v]:-} $(post "$work/var-$v.txt" "v$round$v")"; done
  done
  args=()
  for v in $variants; do args+=("$v" "${rps[$v]}"); done
  medians "${args[@]}"
  sleep 1
  unsealed=$(sql -c "SELECT count(*) FROM \"$async_schema\".audit_events e WHERE NOT EXISTS (SELECT 1 FROM \"$async_schema\".audit_chain c WHERE c.seq = e.seq)")
  echo "  async: records not sealed 1 s after the last run: $unsealed"
  for v in lock seal_diff execute shipped stmt; do  # every link of the chains written under load holds
    s=$(schema_of "var-${v//_/-}")
    sql -c "SELECT '  $v: ' || count(*) || ' records, ' || count(*) FILTER (WHERE bad) || ' broken links' FROM (SELECT hash IS DISTINCT FROM sha256(coalesce(prev_hash, ''::bytea) || bench_variants.content(id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, request_id, changes)) OR prev_hash IS DISTINCT FROM lag(hash) OVER (ORDER BY seq) AS bad FROM \"$s\".audit_events) x"
  done
  echo "## Chain variants: one bulk UPDATE of 5,000 customers (5,000 audited rows in one statement), ms, 3 runs each"
  for v in $variants; do
    s=$(schema_of "var-${v//_/-}")
    sql -c "INSERT INTO \"$s\".customers (id, name, email) SELECT bench_variants.uuid_v7(), 'Bulk ' || g, 'bulk' || g || '@bench.test' FROM generate_series(1, 5000) g;
            INSERT INTO \"$s\".projects (id, customer_id, name) SELECT bench_variants.uuid_v7(), id, 'P' FROM \"$s\".customers WHERE name LIKE 'Bulk %'" >/dev/null
  done
  for v in $variants; do
    s=$(schema_of "var-${v//_/-}")
    times=()
    for r in 1 2 3; do
      t=$(sql -c "\\timing on" -c "UPDATE \"$s\".customers SET name = name || '.' WHERE name LIKE 'Bulk %'" | awk '/^Time:/ {print $2}')
      times+=("$t")
    done
    echo "  $v: ${times[*]}"
  done
  echo "## Where the cost goes: backend CPU per POST /customers transaction, DISCARD ALL before each as the host does (blocks of 300, alternating)"
  targets=()
  for v in $variants; do targets+=("$v=$(schema_of "var-${v//_/-}")"); done
  $bench backend-cpu "$db" 300 8 "${targets[@]}"
  echo "  (async: without its sealer's CPU, which runs in a session of its own)"
  if command -v perf >/dev/null; then
    echo "## Profile of one backend serving the shipped trail (perf, 8 s; share of the backend's time, inclusive)"
    $bench backend-cpu "$db" 300 60 "shipped=$(schema_of var-shipped)" >/dev/null 2>&1 &
    profiled=$!; pids+=($profiled)
    sleep 6
    pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'audit-cpu-shipped'")
    perf record -F 999 -g -p "$pid" -o "$work/perf.data" -- sleep 8 >/dev/null 2>&1 || true
    perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
      | grep -E "\] (PostgresMain|AfterTriggerFireDeferred|plpgsql_exec_trigger|GetCachedPlan|pg_plan_queries|raw_parser|parse_analyze_withcb|pg_analyze_and_rewrite_fixedparams|standard_ExecutorRun|ExecInsertIndexTuples|heap_update|XLogFlush|exec_simple_query|exec_execute_message|exec_parse_message) " \
      | awk '{printf "  %-8s %s\n", $1, $4}' | grep . || echo "  (perf could not read the backend)"
    kill "$profiled" 2>/dev/null || true
  fi
fi

if has cpu; then
  echo "## Backend CPU per POST /customers transaction, trail on vs off, by what resets the pooled connection between requests (blocks of 300, alternating)"
  tenant cpu-on >/dev/null; tenant cpu-off >/dev/null
  audit_triggers DISABLE "$(schema_of cpu-off)"
  for reset in discard keep-plans none; do
    echo " reset: $reset"
    AUDIT_CPU_RESET=$reset $bench backend-cpu "$db" 300 6 "on=$(schema_of cpu-on)" "off=$(schema_of cpu-off)"
  done
  if [ -n "${AUDIT_PERF:-}" ] && command -v perf >/dev/null; then
    AUDIT_CPU_RESET=keep-plans $bench backend-cpu "$db" 300 60 "on=$(schema_of cpu-on)" >/dev/null 2>&1 &
    profiled=$!; pids+=($profiled)
    sleep 5
    pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'audit-cpu-on'")
    perf record -F 1999 -g -p "$pid" -o "$work/perf.data" -- sleep 8 >/dev/null 2>&1 || true
    perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v "^#" | grep . | head -${AUDIT_PERF} 
    kill "$profiled" 2>/dev/null || true
  fi
fi

if has ratios; then
  echo "## POST /customers, trail on vs off (wrk -t2 -c16 -d${seconds}s, 3 alternating rounds): one tenant, and spread over $spread tenants"
  tenant bench >"$work/one.txt"
  $bench tenants "$url" "$key" spread "$spread" 1 2 "$work/spread.txt" >&2
  all=$(sql -c "SELECT string_agg(schema_name, ',') FROM platform.tenants WHERE identifier = 'bench' OR identifier LIKE 'spread-%'")
  post "$work/one.txt" warm-one >/dev/null; post "$work/spread.txt" warm-spread >/dev/null  # JIT, pools, every backend sees every tenant
  one_on=(); one_off=(); spread_on=(); spread_off=()
  for round in 1 2 3; do
    audit_triggers ENABLE "$all"
    one_on+=("$(post "$work/one.txt" "r$round-one-on")"); spread_on+=("$(post "$work/spread.txt" "r$round-spread-on")")
    audit_triggers DISABLE "$all"
    one_off+=("$(post "$work/one.txt" "r$round-one-off")"); spread_off+=("$(post "$work/spread.txt" "r$round-spread-off")")
  done
  audit_triggers ENABLE "$all"
  echo " one tenant:"
  medians "trail on" "${one_on[*]}" "trail off" "${one_off[*]}"
  echo " spread over $spread tenants:"
  medians "trail on" "${spread_on[*]}" "trail off" "${spread_off[*]}"
  s=$(schema_of bench)
  sql -c "SELECT '  chain of tenant bench after the runs: ' || count(*) || ' records, ' || count(*) FILTER (WHERE bad) || ' broken links, positions ' || min(seq) || '..' || max(seq)
          FROM (SELECT seq, hash IS DISTINCT FROM sha256(coalesce(prev_hash, ''::bytea) || monolith.audit_content(id, occurred_at, action, entity_type, entity_id,
                actor_kind, actor_id, actor_email, request_id, changes)) OR prev_hash IS DISTINCT FROM lag(hash) OVER (ORDER BY seq) AS bad FROM \"$s\".audit_events) x"
fi

if has waits; then
  # What the request role's backends do while POST /customers runs flat out: sampled every 20 ms from
  # pg_stat_activity by one session (active backends only; no wait event = on a CPU or waiting for one).
  echo "## What writers wait for during POST /customers (wrk -t2 -c16 -d${seconds}s; share of samples of active request backends)"
  [ -f "$work/one.txt" ] || tenant bench >"$work/one.txt"
  [ -f "$work/spread.txt" ] || $bench tenants "$url" "$key" spread "$spread" 1 2 "$work/spread.txt" >&2
  all=$(sql -c "SELECT string_agg(schema_name, ',') FROM platform.tenants WHERE identifier = 'bench' OR identifier LIKE 'spread-%'")
  samples=$((seconds * 50 - 25))
  for load in one spread; do
    for mode in on off; do
      if [ $mode = on ]; then audit_triggers ENABLE "$all"; else audit_triggers DISABLE "$all"; fi
      sql >"$work/waits.txt" <<SQL &
CREATE TEMP TABLE samples (wait text);
DO \$\$ BEGIN
  PERFORM pg_sleep(0.25);
  FOR i IN 1..$samples LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO samples SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
    WHERE usename = 'monolith_app' AND state = 'active' AND pid <> pg_backend_pid();
    PERFORM pg_sleep(0.02);
  END LOOP;
END \$\$;
SELECT string_agg(format('%s %s%%', wait, pct), ', ' ORDER BY n DESC) FROM (
  SELECT wait, count(*) AS n, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct FROM samples GROUP BY wait) x WHERE pct >= 1;
SELECT round(count(*)::numeric / $samples, 1) FROM samples;
SQL
      sampler=$!
      lsn=$(sql -c "SELECT pg_current_wal_lsn()")
      rate=$(post "$work/$load.txt" "waits-$load-$mode")
      wal=$(sql -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn') / ($rate * $seconds) / 1024, 1)")
      wait $sampler
      echo "  $load tenant(s), trail $mode: $rate req/s, WAL $wal kB per request, $(tail -n 1 "$work/waits.txt") active backends on average: $(head -n 1 "$work/waits.txt")"
    done
  done
  audit_triggers ENABLE "$all"
fi

if has latency; then
  echo "## POST /customers at fixed rates, one tenant (open loop, ${rate_seconds}s after 1 s warm-up)"
  [ -f "$work/one.txt" ] || tenant bench >"$work/one.txt"
  read -r _ token <"$work/one.txt"
  s=$(schema_of bench)
  for mode in on off; do
    if [ $mode = on ]; then audit_triggers ENABLE "$s"; else audit_triggers DISABLE "$s"; fi
    for rate in 50 100; do echo -n "  trail $mode: "; $bench post-rate "$url" bench "$token" "$rate" "$rate_seconds"; done
  done
  audit_triggers ENABLE "$s"
fi

if has verify; then
  echo "## GET /audit-events/verify of a $verify_records-record trail"
  read -r _ token < <(tenant verify)
  s=$(schema_of verify)
  t0=$(date +%s)
  psql "$(pgurl "$db")" -v ON_ERROR_STOP=1 -qAtX -f build/bench/audit/trail.sql -c "SELECT pg_temp.append_trail('$s', $verify_records)" >/dev/null
  echo "  (trail of $(sql -c "SELECT count(*) FROM \"$s\".audit_events") records made in $(( $(date +%s) - t0 )) s; VACUUM ANALYZE)"
  sql -c "VACUUM ANALYZE \"$s\".audit_events" >/dev/null
  rss() { awk '/VmRSS/ {print $2}' "/proc/$host_pid/status"; }
  curl -sf -H 'X-Tenant: verify' -H "Authorization: Bearer $token" "$url/audit-events/verify" >/dev/null  # JIT; the anchor
  before=$(rss)
  (while true; do rss; sleep 0.05; done) >"$work/rss.txt" &
  sampler=$!
  t0=$(date +%s%3N)
  out=$(curl -sf -H 'X-Tenant: verify' -H "Authorization: Bearer $token" "$url/audit-events/verify")
  t1=$(date +%s%3N)
  kill $sampler; wait $sampler 2>/dev/null || true
  peak=$(sort -n "$work/rss.txt" | tail -n 1)
  echo "  $out"
  python3 - "$before" "$peak" "$t0" "$t1" <<'PY'
import sys
before, peak, t0, t1 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"  wall time {(t1 - t0) / 1000:.1f} s; host RSS {before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB during (+{(peak - before) / 1024:.1f} MB)")
PY
fi

if has memory; then
  echo "## One PostgreSQL backend after serving $memory_tenants tenants: functions per schema (every tenant script but 0010) vs shared (all of them)"
  $bench backend-memory "$db" "$ConnectionStrings__MonolithOwner" "$memory_tenants" 2  # schemas made by the owner, as provisioning does; served as the superuser (pg_backend_memory_contexts)
fi
