#!/usr/bin/env bash
# Foundation benchmarks, side by side in one run on a throwaway PostgreSQL cluster:
#   provisioning N tenants (sequential and parallel 4) through the platform API,
#   migrating all of them with one new script (parallel 1 and 4),
#   the tenant switch: requests/s of the same query with and without role + search_path (wrk, alternating runs).
# usage: build/bench/run.sh [TENANTS=200] [WRK_SECONDS=10]      (ONLY=switch: the tenant switch alone)
# The per-tenant request limit is turned off for the host (Auth__RateLimits__TenantPermitLimit=0): wrk must measure
# requests served, not 429s.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-200}
seconds=${2:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d /tmp/monolith-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${host_pid:-}" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null
  bash build/pg-cluster.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench  # sets server and db (superuser); exports the host's two connection strings

dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null  # also builds the host it runs

port=$(shuf -i 20000-60000 -n 1)
key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000
# The shipped host plus the bench-only /bench/* endpoints (build/bench/Monolith.Bench/Endpoints).
dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll host --urls "http://127.0.0.1:$port" >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.2; done

bench=build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll
if [ "${ONLY:-}" != "switch" ]; then
echo "## Provisioning ($count tenants each)"
dotnet "$bench" provision "http://127.0.0.1:$port" "$key" "$count" 1
dotnet "$bench" provision "http://127.0.0.1:$port" "$key" "$count" 4
echo "## Where provisioning time goes (50 fresh schemas each, alternating)"
dotnet "$bench" provision-phases "$db" 50
echo "## Migrating every tenant with one new script"
dotnet "$bench" migrate "$db" 4
dotnet "$bench" migrate "$db" 1
fi

echo "## Tenant switch (wrk -t2 -c32 -d${seconds}s, alternating A/B three times)"
curl -sf -X POST "http://127.0.0.1:$port/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"switch","name":"Switch","ownerEmail":"o@switch.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
a=(); b=()
for _ in 1 2 3; do
  a+=("$(wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: switch' "http://127.0.0.1:$port/bench/session" | tee -a "$work/wrk.log" | awk '/Requests\/sec/ {print $2}')")
  b+=("$(wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: switch' "http://127.0.0.1:$port/bench/session-unswitched" | tee -a "$work/wrk.log" | awk '/Requests\/sec/ {print $2}')")
done
if grep -q "Non-2xx" "$work/wrk.log"; then echo "WARNING: some responses were not 2xx:"; grep "Non-2xx" "$work/wrk.log"; fi
python3 - "${a[*]}" "${b[*]}" <<'PY'
import sys, statistics
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
print(f"with switch    (role + search_path): {' / '.join(f'{x:,.0f}' for x in a)} req/s, median {statistics.median(a):,.0f}")
print(f"without switch (owner, qualified):   {' / '.join(f'{x:,.0f}' for x in b)} req/s, median {statistics.median(b):,.0f}")
print(f"ratio with/without: {statistics.median(a) / statistics.median(b):.2f}")
PY
