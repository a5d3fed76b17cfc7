#!/usr/bin/env bash
# HTTP benchmarks of Access and Customers (issues 3 and 4), side by side in one run on a throwaway PostgreSQL cluster
# (durable settings) and the bench host in Release: the shipped host plus the bench-only endpoints
# (`Monolith.Bench host`, build/bench/Monolith.Bench/Endpoints):
#   login latency (POST /auth/token) and the password hash cost in process;
#   token validation: an anonymous vs a viewer-only trivial tenant endpoint (wrk, alternating runs, medians);
#   GET /customers?limit=50 through the full stack vs the same SQL + JSON by hand on a tenant connection;
#   the same GET over 1 tenant vs TENANTS tenants (a token each) and the host's RSS before/after touching them;
#   POST /customers saturated (wrk) and at a fixed rate (open loop, p50/p99).
# Run it under the shared lock: flock /tmp/monolith-bench.lock build/bench/http.sh
# usage: build/bench/http.sh [TENANTS=1000] [WRK_SECONDS=10] [POST_RATES="50 100"] [RATE_SECONDS=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
tenants=${1:-1000}
seconds=${2:-10}
post_rates=${3:-50 100}
rate_seconds=${4:-20}
rounds=3
lua=build/bench/lua
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d /tmp/monolith-bench-http.XXXXXX)
chmod 755 "$work"
stop_host() {
  if [ -n "${host_pid:-}" ]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; host_pid=; fi
}
cleanup() {
  stop_host
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench  # sets server and db (superuser); exports the host's two connection strings

dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null  # also builds the host it runs

port=$(shuf -i 20000-60000 -n 1)
url="http://127.0.0.1:$port"
key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
# Limits raised for the bench only: the per-tenant request limit off (0), login limit per tenant + IP out of reach,
# access tokens valid for the whole run (the tokens of the TENANTS tenants are issued once, before the host restart).
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 Auth__AccessTokenMinutes=240
start_host() {
  dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll host --urls "$url" >>"$work/host.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host did not start" >&2; cat "$work/host.log" >&2; exit 1
}
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$host_pid/status"; }
# wrk_rps NAME ARGS...: runs wrk, prints requests/s; a non-2xx answer fails the bench (a 401/429 must not pass as speed).
wrk_rps() {
  local name=$1; shift
  local out
  out=$(wrk -t2 -c32 -d"${seconds}s" --latency "$@")
  echo "$out" > "$work/wrk-$name-$RANDOM.txt"
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk $name: $(echo "$out" | grep Non-2xx)" >&2; echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
ratio() { # ratio LABEL_A LABEL_B "A values" "B values"
  python3 - "$@" <<'PY'
import sys, statistics
la, lb = sys.argv[1], sys.argv[2]
a = [float(x) for x in sys.argv[3].split()]
b = [float(x) for x in sys.argv[4].split()]
w = max(len(la), len(lb))
print(f"  {la:<{w}}: {' / '.join(f'{x:,.0f}' for x in a)} req/s, median {statistics.median(a):,.0f}")
print(f"  {lb:<{w}}: {' / '.join(f'{x:,.0f}' for x in b)} req/s, median {statistics.median(b):,.0f}")
print(f"  ratio A/B: {statistics.median(a) / statistics.median(b):.2f}")
PY
}

bench="dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll"
echo "# build/bench/http.sh $tenants $seconds \"$post_rates\" $rate_seconds  ($(date -u +%FT%TZ), $(nproc) cores, wrk -t2 -c32 -d${seconds}s, $rounds alternating rounds)"
echo "## Password hash cost in process (no host involved)"
$bench hash-cost 20

start_host
curl -sf -X POST "$url/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$($bench customers "$url" bench owner@bench.test 200 | tail -n 1)

echo "## Login: POST /auth/token, one at a time"
$bench login "$url" bench owner@bench.test 40

echo "## Token validation: GET /bench/http/viewer (Bearer, viewer policy) vs /bench/http/anonymous (no token)"
wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: bench' -H "Authorization: Bearer $token" "$url/bench/http/viewer" >/dev/null  # warm-up
wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: bench' "$url/bench/http/anonymous" >/dev/null
a=(); b=()
for _ in $(seq $rounds); do
  a+=("$(wrk_rps viewer -H 'X-Tenant: bench' -H "Authorization: Bearer $token" "$url/bench/http/viewer")")
  b+=("$(wrk_rps anonymous -H 'X-Tenant: bench' "$url/bench/http/anonymous")")
done
ratio "A authenticated" "B anonymous" "${a[*]}" "${b[*]}"

echo "## GET /customers?limit=50 (200 customers): full stack (Bearer) vs raw Npgsql + hand-written JSON (bench endpoint)"
curl -sf -H 'X-Tenant: bench' -H "Authorization: Bearer $token" "$url/customers?limit=50" >"$work/full.json"
curl -sf -H 'X-Tenant: bench' "$url/bench/http/customers-raw" >"$work/raw.json"
cmp -s "$work/full.json" "$work/raw.json" && echo "  same JSON, byte for byte ($(wc -c <"$work/full.json") bytes)" \
  || { echo "  the two answers differ" >&2; diff <(tr ',' '\n' <"$work/full.json") <(tr ',' '\n' <"$work/raw.json") | head >&2; exit 1; }
wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: bench' -H "Authorization: Bearer $token" "$url/customers?limit=50" >/dev/null  # warm-up
wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: bench' "$url/bench/http/customers-raw" >/dev/null  # warm-up
a=(); b=()
for _ in $(seq $rounds); do
  a+=("$(wrk_rps full -H 'X-Tenant: bench' -H "Authorization: Bearer $token" "$url/customers?limit=50")")
  b+=("$(wrk_rps raw -H 'X-Tenant: bench' "$url/bench/http/customers-raw")")
done
ratio "A full stack" "B raw Npgsql" "${a[*]}" "${b[*]}"

echo "## POST /customers saturated, one tenant (wrk, unique e-mail per request)"
out=$(wrk -t2 -c32 -d"${seconds}s" --latency -s "$lua/post-customers.lua" "$url/customers" -- bench "$token" "w$RANDOM")
echo "$out" | grep -q "Non-2xx" && { echo "$out" >&2; exit 1; }
echo "$out" | awk '/Requests\/sec/ {print "  " $0} /^ +50%/ {print "  p50 " $2} /^ +99%/ {print "  p99 " $2}'
echo "## POST /customers at fixed rates, one tenant"
for rate in $post_rates; do $bench post-rate "$url" bench "$token" "$rate" "$rate_seconds"; done

echo "## $tenants tenants, 3 customers and a token each (platform API + login, parallel 2)"
$bench tenants "$url" "$key" t "$tenants" 3 2 "$work/tokens.txt"
head -n 1 "$work/tokens.txt" >"$work/one.txt"
stop_host
start_host
echo "## GET /customers?limit=50 over 1 tenant vs $tenants tenants (fresh host process; tenant + token random per request)"
wrk -t2 -c32 -d"${seconds}s" -s "$lua/tenants.lua" "$url" -- "$work/one.txt" >/dev/null
before=$(rss)
out=$(wrk -t2 -c32 -d"${seconds}s" -s "$lua/tenants.lua" "$url" -- "$work/tokens.txt")
echo "$out" | grep -q "Non-2xx" && { echo "$out" >&2; exit 1; }
after=$(rss)
a=(); b=()
for _ in $(seq $rounds); do
  a+=("$(wrk_rps many -s "$lua/tenants.lua" "$url" -- "$work/tokens.txt")")
  b+=("$(wrk_rps one -s "$lua/tenants.lua" "$url" -- "$work/one.txt")")
done
ratio "A $tenants tenants" "B 1 tenant" "${a[*]}" "${b[*]}"
end=$(rss)
python3 - "$before" "$after" "$end" "$tenants" <<'PY'
import sys
before, after, end, n = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"  host RSS: {before:.1f} MB after warm-up on 1 tenant, {after:.1f} MB after touching {n} tenants "
      f"(+{after - before:.1f} MB), {end:.1f} MB at the end (+{end - before:.1f} MB)")
PY
echo "## POST /customers saturated, spread over $tenants tenants (wrk, tenant + token random per request)"
out=$(wrk -t2 -c32 -d"${seconds}s" --latency -s "$lua/post-tenants.lua" "$url" -- "$work/tokens.txt" "w$RANDOM")
echo "$out" | grep -q "Non-2xx" && { echo "$out" >&2; exit 1; }
echo "$out" | awk '/Requests\/sec/ {print "  " $0} /^ +50%/ {print "  p50 " $2} /^ +99%/ {print "  p99 " $2}'
errors=$(grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' "$work/host.log" || true)
echo "  host log: ${errors:-0} error lines"
