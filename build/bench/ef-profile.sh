#!/usr/bin/env bash
# Where a Customers request spends its time (issue 12: the EF Core gap). Starts the Release bench host on a throwaway
# cluster, fills one tenant with 200 customers, drives GET /customers?limit=50 (or POST /customers) with wrk and samples
# the host's thread stacks with dotnet-trace (the tool manifest's version) meanwhile; prints the methods on the stack
# longest (inclusive) and the nettrace file's path (open it in PerfView or speedscope for the call tree).
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/ef-profile.sh [get|post] [SECONDS=10] [TOP=60]
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-get}
seconds=${2:-10}
top=${3:-60}
lua=build/bench/lua
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
dotnet tool restore >/dev/null

work=$(mktemp -d /tmp/monolith-bench-profile.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
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
host_pid=$!
pids+=("$host_pid")
for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$url/health/ready" >/dev/null || { echo "host did not start" >&2; cat "$work/host.log" >&2; exit 1; }

curl -sf -X POST "$url/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$(dotnet "$dll" customers "$url" bench owner@bench.test 200 | tail -n 1)
auth=(-H 'X-Tenant: bench' -H "Authorization: Bearer $token")
case "$what" in
  get) drive=(wrk -t2 -c32 "${auth[@]}" "$url/customers?limit=50") ;;
  post) drive=(wrk -t2 -c32 -s "$lua/post-customers.lua" "$url/customers" -- bench "$token" "p$RANDOM") ;;
  *) echo "usage: $0 [get|post] [SECONDS] [TOP]" >&2; exit 2 ;;
esac

"${drive[@]:0:3}" -d5s "${drive[@]:3}" >/dev/null  # warm-up: JIT, pools, caches
trace="$work/$what.nettrace"
"${drive[@]:0:3}" -d"$((seconds + 4))s" "${drive[@]:3}" >"$work/wrk.txt" &
wrk_pid=$!
sleep 2
dotnet tool run dotnet-trace collect -p "$host_pid" --profile dotnet-sampled-thread-time \
  --duration "00:00:$(printf %02d "$seconds")" -o "$trace" >/dev/null
wait "$wrk_pid" || true
echo "# build/bench/ef-profile.sh $what $seconds $top  ($(date -u +%FT%TZ), $(nproc) cores)"
awk '/Requests\/sec/ {print "  wrk: " $2 " req/s"}' "$work/wrk.txt"
dotnet tool run dotnet-trace report "$trace" topN -n "$top" --inclusive
cp "$trace" "/tmp/ef-profile-$what.nettrace"
echo "trace: /tmp/ef-profile-$what.nettrace"
