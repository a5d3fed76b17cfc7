#!/usr/bin/env bash
# EF Core per module (issue 12): the Customers module's endpoints (EF Core) against their twins on plain Npgsql
# (/bench/npgsql/customers: same route conventions, policies, tenant unit of work, SQL and JSON; readers by position),
# side by side in one Release bench host on a throwaway PostgreSQL cluster (durable settings):
#   GET /customers?limit=50 (200 customers) ÷ GET /bench/npgsql/customers?limit=50, and ÷ the bench-only endpoint that
#     writes the JSON by hand without authentication (/bench/http/customers-raw, as http.sh);
#   POST /customers (one project each, unique e-mails) ÷ POST /bench/npgsql/customers.
# Rounds alternate between the sides (wrk -t2 -c32), medians compared; each run also reads the host's allocated bytes
# before and after (/bench/allocated): bytes per request, the allocation side of the profile. First, what building
# each module's EF model costs a fresh process (ef-model): the most a compiled model could save.
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/ef.sh
# usage: build/bench/ef.sh [WRK_SECONDS=5] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}
rounds=${2:-3}
lua=build/bench/lua
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/monolith-bench-ef.XXXXXX)
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
bench_cluster "$work" monolith_bench

dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null
dll=build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 Auth__AccessTokenMinutes=240
url="http://127.0.0.1:$(shuf -i 20000-40000 -n 1)"
dotnet "$dll" host --urls "$url" >>"$work/host.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$url/health/ready" >/dev/null || { echo "host did not start" >&2; cat "$work/host.log" >&2; exit 1; }

curl -sf -X POST "$url/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$(dotnet "$dll" customers "$url" bench owner@bench.test 200 | tail -n 1)

allocated() { curl -sf "$url/bench/allocated" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])'; }
run() { # run ARGS...: "requests/s bytes/request"; a non-2xx answer fails the bench
  local out before after
  before=$(allocated)
  out=$(wrk -t2 -c32 -d"${seconds}s" "$@")
  after=$(allocated)
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; tail -n 40 "$work/host.log" >&2; exit 1; fi
  echo "$out" | awk -v bytes=$((after - before)) '/requests in/ {n=$1} /Requests\/sec/ {printf "%s:%d", $2, bytes / n}'
}
ratio() { # ratio LABEL_A LABEL_B "A runs" "B runs" (each run "rps:bytes")
  python3 - "$@" <<'PY'
import sys, statistics
la, lb = sys.argv[1], sys.argv[2]
def parse(s): return [tuple(float(v) for v in run.split(":")) for run in s.split()]
a, b = parse(sys.argv[3]), parse(sys.argv[4])
w = max(len(la), len(lb))
for label, runs in ((la, a), (lb, b)):
    rps = [r for r, _ in runs]
    print(f"  {label:<{w}}: {' / '.join(f'{x:,.0f}' for x in rps)} req/s, median {statistics.median(rps):,.0f};"
          f" {statistics.median(m for _, m in runs) / 1024:,.1f} KiB allocated per request")
print(f"  ratio A/B: {statistics.median(r for r, _ in a) / statistics.median(r for r, _ in b):.2f}")
PY
}
auth=(-H 'X-Tenant: bench' -H "Authorization: Bearer $token")
ef="$url/customers"
npgsql="$url/bench/npgsql/customers"

echo "# build/bench/ef.sh $seconds $rounds  ($(date -u +%FT%TZ), $(git rev-parse --short HEAD), $(nproc) cores, wrk -t2 -c32 -d${seconds}s, $rounds alternating rounds)"
echo "## Model building per DbContext, fresh process (what a compiled model would save, once per process)"
dotnet "$dll" ef-model
echo "## GET /customers?limit=50 (200 customers)"
curl -sf "${auth[@]}" "$ef?limit=50" >"$work/ef.json"
curl -sf "${auth[@]}" "$npgsql?limit=50" >"$work/npgsql.json"
curl -sf -H 'X-Tenant: bench' "$url/bench/http/customers-raw" >"$work/raw.json"
cmp -s "$work/ef.json" "$work/npgsql.json" && cmp -s "$work/ef.json" "$work/raw.json" \
  && echo "  same JSON from all three, byte for byte ($(wc -c <"$work/ef.json") bytes)" \
  || { echo "  the answers differ" >&2; exit 1; }
for target in "$ef" "$npgsql"; do wrk -t2 -c32 -d10s "${auth[@]}" "$target?limit=50" >/dev/null; done  # warm-up
wrk -t2 -c32 -d10s -H 'X-Tenant: bench' "$url/bench/http/customers-raw" >/dev/null
a=(); b=(); r=()
for _ in $(seq "$rounds"); do
  a+=("$(run "${auth[@]}" "$ef?limit=50")")
  b+=("$(run "${auth[@]}" "$npgsql?limit=50")")
  r+=("$(run -H 'X-Tenant: bench' "$url/bench/http/customers-raw")")
done
ratio "A EF Core module" "B the same on Npgsql" "${a[*]}" "${b[*]}"
ratio "A EF Core module" "B hand-written JSON, anonymous" "${a[*]}" "${r[*]}"

echo "## POST /customers (one project each, unique e-mails)"
shape() { # the answer's JSON with its values' types only (ids, times and e-mails differ between the two)
  curl -sf -X POST "${auth[@]}" -H 'Content-Type: application/json' "$url$1" \
    -d "{\"name\":\"Shape\",\"email\":\"shape$RANDOM$2@bench.test\",\"projects\":[{\"name\":\"Main\",\"code\":null}]}" |
    python3 -c 'import json,sys
def t(v): return {k: t(x) for k, x in v.items()} if isinstance(v, dict) else [t(x) for x in v] if isinstance(v, list) else type(v).__name__
print(json.dumps(t(json.load(sys.stdin)), sort_keys=True))'
}
[ "$(shape /customers a)" = "$(shape /bench/npgsql/customers b)" ] && echo "  same JSON shape from both" \
  || { echo "  the POST answers differ in shape" >&2; exit 1; }
for path in /customers /bench/npgsql/customers; do
  wrk -t2 -c32 -d10s -s "$lua/post-customers.lua" "$url" -- bench "$token" "warm$RANDOM" "$path" >/dev/null
done
a=(); b=()
for i in $(seq "$rounds"); do
  a+=("$(run -s "$lua/post-customers.lua" "$url" -- bench "$token" "a$i-$RANDOM" /customers)")
  b+=("$(run -s "$lua/post-customers.lua" "$url" -- bench "$token" "b$i-$RANDOM" /bench/npgsql/customers)")
done
ratio "A EF Core module" "B the same on Npgsql" "${a[*]}" "${b[*]}"
errors=$(grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' "$work/host.log" || true)
echo "  host logs: ${errors:-0} error lines"
