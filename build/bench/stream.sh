#!/usr/bin/env bash
# The live toggle stream (issue 15): STREAMS (default 1,000) concurrent GET /features/stream on one host instance, the
# bench host in Release on a throwaway PostgreSQL cluster (durable settings, build/bench/cluster.sh):
#   - host memory (RSS) before and with the streams open and idle, and the host's CPU while they are idle;
#   - the latency from a change (PUT /features/{key}, sent by the client) to its event's arrival at each stream and at
#     all of them (p50/p99 over CHANGES changes).
# The client is build/bench/stream-client.py (asyncio, one connection per stream). All streams use one owner token
# (the access check is cached per session: the figure is the fan-out's, not the login's).
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/stream.sh
# usage: build/bench/stream.sh [STREAMS=1000] [IDLE_SECONDS=20] [CHANGES=30]
set -euo pipefail
cd "$(dirname "$0")/../.."
streams=${1:-1000}
idle_seconds=${2:-20}
changes=${3:-30}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/monolith-bench-stream.XXXXXX)
chmod 755 "$work"
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "# build/bench/stream.sh $streams $idle_seconds $changes  ($(date -u +%FT%TZ), $(nproc) cores, $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'))"
# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null
dll=build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
port=$(shuf -i 20000-40000 -n 1)
url="http://127.0.0.1:$port"
Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 \
  Auth__AccessTokenMinutes=240 \
  dotnet "$dll" host --urls "$url" >>"$work/host.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$url/health/ready" >/dev/null || { echo "host did not start" >&2; cat "$work/host.log" >&2; exit 1; }

curl -sf -X POST "$url/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$(curl -sf -X POST "$url/auth/token" -H 'X-Tenant: bench' -H 'Content-Type: application/json' \
  -d '{"email":"owner@bench.test","password":"bench-password-0123456789"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
curl -sf "$url/features" -H 'X-Tenant: bench' -H "Authorization: Bearer $token" >/dev/null  # warm the endpoints' first JIT

echo "## $streams concurrent streams of one tenant on one instance"
python3 build/bench/stream-client.py 127.0.0.1 "$port" bench "$token" "$pid" "$streams" "$idle_seconds" "$changes"
busy=$(psql -h 127.0.0.1 -p "$(cat "$work/pg/port")" -U postgres -d monolith_bench -XAtc \
  "SELECT count(*) FROM pg_stat_activity WHERE usename = 'monolith_app'" 2>/dev/null || echo '?')
echo "  request-role connections open at the end: $busy (pool, not per stream)"
errors=$(grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' "$work/host.log" || true)
echo "  host log: ${errors:-0} error lines"
