#!/usr/bin/env bash
# OpenTelemetry's request-path cost (issue 15): two hosts of the same build side by side on one throwaway PostgreSQL
# cluster (durable settings), one with telemetry on (the default: ASP.NET Core, Npgsql, runtime and module meters,
# Prometheus exporter; no OTLP endpoint, so no spans are recorded) and one with Telemetry__Enabled=false. Both serve
# the same tenant; rounds alternate between them (wrk -t2 -c32), medians compared:
#   GET /customers?limit=50 (200 customers): a signed-in tenant request with its database work;
#   GET /health/live: no tenant, no database, so the instrumentation's share is as large as it gets.
# The "on" host is scraped (GET /metrics with the platform key) every second during its rounds, as a fast Prometheus would.
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/otel.sh
# usage: build/bench/otel.sh [WRK_SECONDS=5] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}
rounds=${2:-5}
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/monolith-bench-otel.XXXXXX)
chmod 755 "$work"
pids=()
scraper=
cleanup() {
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
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
unset OTEL_EXPORTER_OTLP_ENDPOINT
start_host() { # start_host URL LOG [ENV=VALUE...]
  local url=$1 log=$2
  shift 2
  env "$@" dotnet "$dll" host --urls "$url" >>"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host did not start" >&2; cat "$log" >&2; exit 1
}
port=$(shuf -i 20000-40000 -n 1)
on="http://127.0.0.1:$port"
off="http://127.0.0.1:$((port + 1))"
start_host "$on" "$work/on.log"
start_host "$off" "$work/off.log" Telemetry__Enabled=false
curl -sf -o /dev/null -H "X-Platform-Key: $key" "$on/metrics" || { echo "the 'on' host serves no /metrics" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Platform-Key: $key" "$off/metrics")" = 404 ] \
  || { echo "the 'off' host serves /metrics" >&2; exit 1; }

curl -sf -X POST "$on/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$(dotnet "$dll" customers "$on" bench owner@bench.test 200 | tail -n 1)

wrk_rps() { # wrk_rps ARGS...: requests/s; a non-2xx answer fails the bench
  local out
  out=$(wrk -t2 -c32 -d"${seconds}s" "$@")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; tail -n 40 "$work"/*.log >&2; exit 1; fi
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
print(f"  ratio A/B: {statistics.median(a) / statistics.median(b):.3f}")
PY
}
scrape_on() { while :; do curl -s -o /dev/null -H "X-Platform-Key: $key" "$on/metrics"; sleep 1; done; }
rounds_of() { # rounds_of PATH [wrk args...]: alternating rounds, "on" scraped during its own
  local path=$1
  shift
  for url in "$on" "$off" "$on" "$off"; do wrk -t2 -c32 -d6s "$@" "$url$path" >/dev/null; done  # warm-up (JIT tiers, prepared statements)
  a=(); b=()
  for _ in $(seq "$rounds"); do
    scrape_on & scraper=$!
    a+=("$(wrk_rps "$@" "$on$path")")
    kill "$scraper"; wait "$scraper" 2>/dev/null || true; scraper=
    b+=("$(wrk_rps "$@" "$off$path")")
  done
  ratio "A telemetry on" "B Telemetry__Enabled=false" "${a[*]}" "${b[*]}"
}

echo "# build/bench/otel.sh $seconds $rounds  ($(date -u +%FT%TZ), $(nproc) cores, wrk -t2 -c32 -d${seconds}s, $rounds alternating rounds)"
echo "## GET /customers?limit=50 (200 customers, signed in)"
rounds_of "/customers?limit=50" -H 'X-Tenant: bench' -H "Authorization: Bearer $token"
echo "## GET /health/live"
rounds_of "/health/live"
series=$(curl -s -H "X-Platform-Key: $key" "$on/metrics" | grep -vc '^#' || true)
echo "  /metrics of the 'on' host at the end: $series series lines"
errors=$(cat "$work/on.log" "$work/off.log" | grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' || true)
echo "  host logs: ${errors:-0} error lines"
