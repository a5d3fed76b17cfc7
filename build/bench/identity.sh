#!/usr/bin/env bash
# Identity benchmarks (issue 10), "before" and "after" side by side in one run, on one throwaway PostgreSQL cluster
# (durable settings), each the bench host in Release (`Monolith.Bench host`: the shipped host plus /bench/*) on a
# database of its own with the two roles:
#   before = the git ref BEFORE_REF (default: main; it must have `Monolith.Bench host`), exported with git archive and
#            built in a temporary directory;
#   after  = this working tree.
#  1. The per-request state check: GET /bench/http/viewer (Bearer, viewer policy) ÷ GET /bench/http/anonymous on each
#     host, wrk -t2 -c32, ROUNDS alternating rounds (before viewer, before anonymous, after viewer, after anonymous), medians.
#  2. Login throughput with 16 concurrent clients for LOGIN_SECONDS, the request role's busy connections meanwhile
#     (pg_stat_activity: active or idle in transaction), and a GET /customers?limit=1 probe competing for the same pool;
#     with the default pool (100) and with a pool of 8 connections, before then after.
# The lockout counts attempts in flight (at most AccountMaxFailures logins of one address are checked at once), so both
# hosts run with AccountMaxFailures out of reach: 16 clients log in as one owner.
# usage: build/bench/identity.sh [BEFORE_REF=main] [WRK_SECONDS=5] [LOGIN_SECONDS=10] [ROUNDS=3]
# Run it under the shared lock: flock /tmp/monolith-bench.lock build/bench/identity.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
before_ref=${1:-main}
seconds=${2:-5}
login_seconds=${3:-10}
rounds=${4:-3}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d /tmp/monolith-bench-identity.XXXXXX)
chmod 755 "$work"
declare -A pids=()
stop_host() { # stop_host NAME
  local pid=${pids[$1]:-}
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pids[$1]=; fi
}
cleanup() {
  stop_host before; stop_host after
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "# build/bench/identity.sh $before_ref $seconds $login_seconds $rounds  ($(date -u +%FT%TZ), $(nproc) cores; before = $before_ref $(git rev-parse --short "$before_ref"), after = $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'))"
mkdir -p "$work/before"
git archive "$before_ref" | tar -x -C "$work/before"
dotnet build "$work/before/build/bench/Monolith.Bench" -c Release -v quiet --nologo >/dev/null  # also builds the host it runs
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null
bench="dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll"
declare -A tree=([before]="$work/before" [after]="$PWD")

server=$(bash build/pg-cluster.sh start "$work/pg" 0 | tail -n 1)
pg_host=$(echo "$server" | sed -E 's/.*Host=([^;]+).*/\1/'); pg_port=$(echo "$server" | sed -E 's/.*Port=([^;]+).*/\1/')
secret() { head -c 48 /dev/urandom | base64 | tr -d '/+=' | head -c 40; }
owner_password=$(secret); app_password=$(secret)
for name in before after; do
  MONOLITH_OWNER_PASSWORD=$owner_password MONOLITH_APP_PASSWORD=$app_password \
    psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -Xq -v owner_role=bench_owner -v app_role=bench_app \
      -v database="bench_$name" -f build/sql/roles.sql >/dev/null
done
superuser_db() { echo "Host=$pg_host;Port=$pg_port;Username=postgres;Database=bench_$1"; }

declare -A port=([before]=$(shuf -i 20000-39999 -n 1) [after]=$(shuf -i 40000-60000 -n 1))
key=$(secret)
signing=$(secret)
start_host() { # start_host NAME POOL
  local name=$1 pool=$2 url="http://127.0.0.1:${port[$1]}"
  ConnectionStrings__Monolith="Host=$pg_host;Port=$pg_port;Database=bench_$name;Username=bench_app;Password=$app_password;Maximum Pool Size=$pool" \
  ConnectionStrings__MonolithOwner="Host=$pg_host;Port=$pg_port;Database=bench_$name;Username=bench_owner;Password=$owner_password" \
  Platform__ApiKey="$key" Auth__SigningKey="$signing" ASPNETCORE_ENVIRONMENT=Production \
  Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false Auth__AccessTokenMinutes=240 \
  Auth__RateLimits__LoginPermitLimit=100000000 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__TenantPermitLimit=0 \
  Auth__RateLimits__AccountMaxFailures=1000000 \
  Tenancy__MaxConcurrency=1000 \
    dotnet "${tree[$name]}/build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll" host --urls "$url" >>"$work/host-$name.log" 2>&1 &
  pids[$name]=$!
  for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host $name did not start" >&2; tail -n 40 "$work/host-$name.log" >&2; exit 1
}
declare -A token=()
for name in before after; do
  start_host "$name" 100
  curl -sf -X POST "http://127.0.0.1:${port[$name]}/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
    -d "{\"identifier\":\"id-$name\",\"name\":\"Bench\",\"ownerEmail\":\"owner@bench.test\",\"ownerPassword\":\"bench-password-0123456789\"}" >/dev/null
  token[$name]=$($bench customers "http://127.0.0.1:${port[$name]}" "id-$name" owner@bench.test 20 | tail -n 1)
done

# wrk_rps NAME ARGS...: requests/s; a non-2xx answer fails the bench (a 401/429/503 must not pass as speed).
wrk_rps() {
  local out
  out=$(wrk -t2 -c32 -d"${seconds}s" "$@")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
echo "## Per-request state check: GET /bench/http/viewer (Bearer) ÷ GET /bench/http/anonymous, wrk -t2 -c32 -d${seconds}s, $rounds rounds"
declare -A runs=()
for name in before after; do  # warm-up
  wrk -t2 -c32 -d"${seconds}s" -H "X-Tenant: id-$name" -H "Authorization: Bearer ${token[$name]}" "http://127.0.0.1:${port[$name]}/bench/http/viewer" >/dev/null
  wrk -t2 -c32 -d"${seconds}s" -H "X-Tenant: id-$name" "http://127.0.0.1:${port[$name]}/bench/http/anonymous" >/dev/null
done
for _ in $(seq "$rounds"); do
  for name in before after; do
    runs[$name-viewer]+="$(wrk_rps -H "X-Tenant: id-$name" -H "Authorization: Bearer ${token[$name]}" "http://127.0.0.1:${port[$name]}/bench/http/viewer") "
    runs[$name-anonymous]+="$(wrk_rps -H "X-Tenant: id-$name" "http://127.0.0.1:${port[$name]}/bench/http/anonymous") "
  done
done
python3 - "${runs[before-viewer]}" "${runs[before-anonymous]}" "${runs[after-viewer]}" "${runs[after-anonymous]}" <<'PY'
import sys, statistics
bv, ba, av, aa = ([float(x) for x in arg.split()] for arg in sys.argv[1:5])
def line(label, values): print(f"  {label:<17}: {' / '.join(f'{v:,.0f}' for v in values)} req/s, median {statistics.median(values):,.0f}")
line("before viewer", bv); line("before anonymous", ba); line("after viewer", av); line("after anonymous", aa)
rb = statistics.median(bv) / statistics.median(ba)
ra = statistics.median(av) / statistics.median(aa)
print(f"  ratio authenticated/anonymous: before {rb:.2f}, after {ra:.2f}; after/before {ra / rb:.2f} (goal >= 0.90)")
PY

echo "## Login throughput, 16 concurrent clients for ${login_seconds} s; busy request-role connections; GET /customers?limit=1 probe"
for pool in 100 8; do
  for name in before after; do
    if [ "$pool" != 100 ]; then stop_host "$name"; start_host "$name" "$pool"; fi
    printf '  pool %-3s %-6s: ' "$pool" "$name"
    $bench login-load "http://127.0.0.1:${port[$name]}" "id-$name" owner@bench.test "$login_seconds" 16 "$(superuser_db "$name")" bench_app "${token[$name]}" \
      || echo "  (failures above)"
  done
done
errors=$(cat "$work"/host-*.log | grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' || true)
echo "  host logs: ${errors:-0} error lines"
