#!/usr/bin/env bash
# Benchmarks of the data modules (issues 5 and 6), on a throwaway PostgreSQL cluster, hosts in Release:
#   1. POST /customers with the audit trail on vs off (wrk, alternating runs, medians; "off" = the bench tenant's
#      audit triggers disabled by the superuser between runs; there is no product switch);
#   2. the PostgreSQL log sink: COPY only and end to end (Serilog → masking → batching → COPY), events/s;
#   3. retention: expired log rows in old day partitions (dropped whole), and expired audit rows of one tenant
#      while a writer keeps inserting audited rows (its latency before vs during);
#   4. toggles: BenchmarkDotNet cached evaluation, and the propagation delay between two hosts on one database.
# usage: build/bench/data.sh [full|small]     (small: a quick validation at reduced sizes)
# Run it under the shared lock: flock /tmp/monolith-bench.lock build/bench/data.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scale=${1:-full}
if [ "$scale" = small ]; then
  wrk_seconds=3 log_events=20000 log_rows=20000 audit_rows=2000 changes=10 writer_warmup=3
else
  wrk_seconds=10 log_events=500000 log_rows=1000000 audit_rows=200000 changes=100 writer_warmup=10
fi
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/monolith-bench-data.XXXXXX)
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
bench_cluster "$work" monolith_bench  # sets server and db (superuser); exports the host's two connection strings
pgurl() { echo "$1" | sed 's/Host=/host=/;s/;Port=/ port=/;s/;Username=/ user=/;s/;Database=/ dbname=/;s/;Maximum Pool Size=[0-9]*//'; }
sql() { psql "$(pgurl "$db")" -v ON_ERROR_STOP=1 -qAtX "$@"; }

echo "building (Release)..." >&2
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null
dotnet build host/Monolith.Host.csproj -c Release -v quiet --nologo >/dev/null
dotnet build cli/Monolith.Cli.csproj -c Release -v quiet --nologo >/dev/null
bench=build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll
cli=$(ls cli/bin/Release/net10.0/Monolith.Cli.dll)

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000 DOTNET_NOLOGO=1
start_host() { # PORT LOG
  dotnet host/bin/Release/net10.0/Monolith.Host.dll --urls "http://127.0.0.1:$1" >"$2" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$1/health/ready" >/dev/null && return 0; sleep 0.2; done
  echo "host on $1 did not become ready" >&2; cat "$2" >&2; exit 1
}
port_a=$(shuf -i 20000-39999 -n 1); port_b=$(shuf -i 40000-60000 -n 1)
a="http://127.0.0.1:$port_a"; b="http://127.0.0.1:$port_b"
start_host "$port_a" "$work/host-a.log"

password=bench-password-0123456789
curl -sf -X POST "$a/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d "{\"identifier\":\"bench\",\"name\":\"Bench\",\"ownerEmail\":\"owner@bench.test\",\"ownerPassword\":\"$password\"}" >/dev/null
schema=$(sql -c "SELECT schema_name FROM platform.tenants WHERE identifier = 'bench'")
token() { curl -sf -X POST "$a/auth/token" -H 'X-Tenant: bench' -H 'Content-Type: application/json' \
  -d "{\"email\":\"owner@bench.test\",\"password\":\"$password\"}" | jq -r .accessToken; }
curl -s -o /dev/stderr -w '%{http_code}\n' -X POST "$a/customers" -H 'X-Tenant: bench' -H "Authorization: Bearer $(token)" -H 'Content-Type: application/json' \
  -d '{"name":"Sanity","email":"sanity@bench.test","projects":[{"name":"First"}]}' | grep -qx 201 || { echo "POST /customers does not answer 201" >&2; exit 1; }
audit_triggers() { # ENABLE|DISABLE: every audit trigger of the bench tenant's tables
  sql -c "SELECT format('ALTER TABLE %I.%I $1 TRIGGER audit;', n.nspname, c.relname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = 'audit' AND n.nspname = '$schema'" | sql >/dev/null
}

echo "## 1. POST /customers, audit trail on vs off (wrk -t2 -c16 -d${wrk_seconds}s, alternating on/off three times)"
cat >"$work/post.lua" <<'LUA'
local run = os.getenv("RUN") or "r"
local n = 0
local id = 0
local threads = 0
local all = {}
function setup(thread) threads = threads + 1; thread:set("tid", threads); table.insert(all, thread) end
function init(args) id = tid end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  n = n + 1
  local body = string.format('{"name":"Bench %d-%d","email":"c%s-%d-%d@bench.test","projects":[{"name":"First"}]}', id, n, run, id, n)
  return wrk.format(nil, "/customers", nil, body)
end
function response(status, headers, body)
  if status ~= 201 and not bad then bad = status .. " " .. string.sub(body or "", 1, 200) end
end
function done(summary, latency, requests)
  for _, t in ipairs(all) do local b = t:get("bad"); if b then io.stderr:write("first non-201: " .. b .. "\n") end end
end
LUA
on=(); off=(); non2xx=0
for i in 1 2 3; do
  for mode in on off; do
    if [ "$mode" = on ]; then audit_triggers ENABLE; else audit_triggers DISABLE; fi
    out=$(RUN="$mode$i" wrk -t2 -c16 -d"${wrk_seconds}s" -s "$work/post.lua" -H 'X-Tenant: bench' -H "Authorization: Bearer $(token)" "$a")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $5}'); non2xx=$((non2xx + ${bad:-0}))
    if [ "$mode" = on ]; then on+=("$rps"); else off+=("$rps"); fi
  done
done
audit_triggers ENABLE
python3 - "${on[*]}" "${off[*]}" "$non2xx" <<'PY'
import sys, statistics
on = [float(x) for x in sys.argv[1].split()]; off = [float(x) for x in sys.argv[2].split()]
print(f"trail on : {' / '.join(f'{x:,.0f}' for x in on)} req/s, median {statistics.median(on):,.0f}")
print(f"trail off: {' / '.join(f'{x:,.0f}' for x in off)} req/s, median {statistics.median(off):,.0f}")
print(f"ratio on/off: {statistics.median(on) / statistics.median(off):.2f} (goal >= 0.80); non-2xx responses: {sys.argv[3]}")
PY

echo "## 2. PostgreSQL log sink ($log_events events each)"
dotnet "$bench" logsink "$db" "$log_events"

echo "## 3a. Log retention: $log_rows expired rows in 10 old day partitions"
sql <<SQL
SELECT logs.ensure_partitions(current_date - 60, 10);
INSERT INTO logs.events (id, time, level, message, template, tenant, properties)
SELECT gen_random_uuid(), (current_date - 60)::timestamp AT TIME ZONE 'UTC' + (g % 10) * interval '1 day' + (g % 86000) * interval '1 second',
       'information', 'Customer ' || g || ' created', 'Customer {CustomerId} created', 'bench', jsonb_build_object('CustomerId', g)
FROM generate_series(1, $log_rows) g;
SQL
ConnectionStrings__Monolith="$db" dotnet "$cli" retention run --dry-run >/dev/null # start-up and JIT out of the measurement
before=$(sql -c "SELECT count(*) FROM logs.events WHERE time < now() - interval '30 days'")
t0=$(date +%s.%N)
ConnectionStrings__Monolith="$db" dotnet "$cli" retention run | sed 's/^/  cli: /'
t1=$(date +%s.%N)
after=$(sql -c "SELECT count(*) FROM logs.events WHERE time < now() - interval '30 days'")
python3 -c "print(f'log retention: {int($before) - int($after):,} expired rows removed ({$after} left) in {$t1 - $t0:.2f} s (whole CLI run: process start, global part, every tenant; goal <= 10 s)')"

echo "## 3b. Audit retention: $audit_rows expired audit rows (customers + their projects) of one tenant while a writer inserts audited rows"
# The trail's records get their time from clock_timestamp(); the superuser ages them instead of moving a clock
# (the CLI reads TimeProvider.System). Only occurred_at changes: the hashes stay, the chain after the removed prefix still links.
sql <<SQL
SET search_path = "$schema";
BEGIN;
CREATE TEMP TABLE old_ids ON COMMIT DROP AS SELECT g, monolith.uuid_v7() AS id FROM generate_series(1, $audit_rows / 2) g;
INSERT INTO customers (id, name, email) SELECT id, 'Old ' || g, 'old' || g || '@bench.test' FROM old_ids;
INSERT INTO projects (id, customer_id, name) SELECT monolith.uuid_v7(), id, 'Old project' FROM old_ids;
COMMIT;
UPDATE audit_events SET occurred_at = occurred_at - interval '800 days';
SQL
expired=$(sql -c "SELECT count(*) FROM \"$schema\".audit_events WHERE occurred_at < now() - interval '365 days'")
wtoken=$(token)
dotnet "$bench" audit-writer "$a" bench "$wtoken" 600 "$work/writer.txt" 4 &
writer=$!; pids+=($writer)
sleep "$writer_warmup"
r0=$(date +%s%3N)
ConnectionStrings__Monolith="$db" dotnet "$cli" retention run --tenant bench | sed 's/^/  cli: /'
r1=$(date +%s%3N)
left=$(sql -c "SELECT count(*) FROM \"$schema\".audit_events WHERE occurred_at < now() - interval '365 days'")
sleep "$writer_warmup"
touch "$work/writer.txt.stop"; wait "$writer" || echo "(the writer saw failed requests)"
python3 - "$work/writer.txt" "$r0" "$r1" "$expired" "$left" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
r0, r1 = int(sys.argv[2]), int(sys.argv[3])
def window(lo, hi):
    xs = sorted(float(r[1]) for r in rows if lo <= int(r[0]) < hi)
    return xs, (hi - lo) / 1000
before, bs = window(r0 - 10_000, r0)
during, ds = window(r0, r1)
errors = sum(1 for r in rows if not r[2].startswith('2'))
p = lambda xs, q: xs[min(len(xs) - 1, int(q * (len(xs) - 1)))]
print(f"audit retention: {int(sys.argv[4]) - int(sys.argv[5]):,} expired records removed in {(r1 - r0) / 1000:.2f} s (whole CLI run for the tenant)")
for name, xs, s in (("writer before", before, bs), ("writer during", during, ds)):
    print(f"{name}: {len(xs) / s:,.0f} req/s, p50 {p(xs, .5):.1f} ms, p99 {p(xs, .99):.1f} ms, max {xs[-1]:.1f} ms (n={len(xs)})")
print(f"writer errors: {errors}")
PY

echo "## 4a. Toggles: cached evaluation (BenchmarkDotNet, ShortRun, in-process)"
ttoken=$(token)
curl -sf -X PUT "$a/features/bench-flag" -H 'X-Tenant: bench' -H "Authorization: Bearer $ttoken" -H 'Content-Type: application/json' \
  -d '{"description":"bench","enabled":true}' >/dev/null
project=$(curl -sf -X POST "$a/customers" -H 'X-Tenant: bench' -H "Authorization: Bearer $ttoken" -H 'Content-Type: application/json' \
  -d '{"name":"Toggle customer","email":"toggles@bench.test","projects":[{"name":"Toggle project"}]}' | jq -r '.projects[0].id')
dotnet "$bench" toggles "$db" bench "$project" >"$work/bdn.txt" 2>&1 || { echo "BenchmarkDotNet failed:"; tail -40 "$work/bdn.txt"; }
grep -E '^\| |^ *(Method|TenantWide|ForProject)' "$work/bdn.txt" || tail -40 "$work/bdn.txt"

echo "## 4b. Toggles: propagation delay host A → host B over $changes changes"
start_host "$port_b" "$work/host-b.log"
python3 - "$a" "$b" "$(token)" "$project" "$changes" <<'PY'
import sys, time, json, statistics, http.client, urllib.parse
a, b, token, project, changes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
headers = {"X-Tenant": "bench", "Authorization": "Bearer " + token, "Content-Type": "application/json"}
def conn(url):
    u = urllib.parse.urlparse(url); return http.client.HTTPConnection(u.hostname, u.port, timeout=10)
ca, cb = conn(a), conn(b)
def put(enabled):
    ca.request("PUT", "/features/bench-prop", json.dumps({"description": "propagation", "enabled": enabled}), headers)
    r = ca.getresponse(); r.read(); assert r.status in (200, 201), r.status
def read():
    cb.request("GET", f"/projects/{project}/features/bench-prop", headers=headers)
    r = cb.getresponse(); body = r.read(); assert r.status == 200, (r.status, body)
    return json.loads(body)["enabled"]
put(False); time.sleep(2); read()
delays = []
for i in range(changes):
    want = i % 2 == 0
    put(want); t0 = time.perf_counter()   # from the moment host A answered the change
    while read() != want:
        if time.perf_counter() - t0 > 30: raise SystemExit("host B never saw the change")
        time.sleep(0.002)
    delays.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.05)
delays.sort()
q = lambda p: delays[min(len(delays) - 1, round(p * (len(delays) - 1)))]
print(f"propagation over {len(delays)} changes: p50 {q(.5):.0f} ms, p99 {q(.99):.0f} ms, max {delays[-1]:.0f} ms (goal <= 1000 ms; polling every ~2 ms)")
PY
