#!/usr/bin/env bash
# EF Core per module (issue 12): the Customers module on EF Core against the same module before it (raw Npgsql), side
# by side in one run, on a throwaway PostgreSQL cluster (durable settings), both bench hosts in Release on one database:
#   GET /customers?limit=50 (200 customers): EF host ÷ the raw-Npgsql host (same full stack, only the module's data
#     access differs), and EF host ÷ the bench-only hand-written endpoint (/bench/http/customers-raw, as http.sh);
#   POST /customers (one project each, unique e-mails): EF host ÷ the raw-Npgsql host.
# Rounds alternate between the two sides (wrk -t2 -c32), medians compared. The "before" host is built from a git
# worktree of BASE (default: the commit where this branch left main).
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/ef.sh
# usage: build/bench/ef.sh [BASE=$(git merge-base HEAD main)] [WRK_SECONDS=5] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-$(git merge-base HEAD main)}
seconds=${2:-5}
rounds=${3:-3}
lua=build/bench/lua
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/monolith-bench-ef.XXXXXX)
chmod 755 "$work"
before_tree="$work/before"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  git worktree remove --force "$before_tree" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench

git worktree add --detach "$before_tree" "$base" >/dev/null 2>&1
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null
dotnet build "$before_tree/build/bench/Monolith.Bench" -c Release -v quiet --nologo >/dev/null
after_dll=build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll
before_dll="$before_tree/build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll"

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 Auth__AccessTokenMinutes=240
start_host() { # start_host DLL URL LOG
  dotnet "$1" host --urls "$2" >>"$3" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do curl -sf "$2/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host did not start" >&2; cat "$3" >&2; exit 1
}
port=$(shuf -i 20000-40000 -n 1)
after="http://127.0.0.1:$port"
before="http://127.0.0.1:$((port + 1))"
start_host "$after_dll" "$after" "$work/after.log"
start_host "$before_dll" "$before" "$work/before.log"

curl -sf -X POST "$after/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$(dotnet "$after_dll" customers "$after" bench owner@bench.test 200 | tail -n 1)

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
print(f"  ratio A/B: {statistics.median(a) / statistics.median(b):.2f}")
PY
}
auth=(-H 'X-Tenant: bench' -H "Authorization: Bearer $token")

echo "# build/bench/ef.sh $base $seconds $rounds  ($(date -u +%FT%TZ), $(nproc) cores, wrk -t2 -c32 -d${seconds}s, $rounds alternating rounds)"
echo "## GET /customers?limit=50 (200 customers)"
curl -sf "${auth[@]}" "$after/customers?limit=50" >"$work/after.json"
curl -sf "${auth[@]}" "$before/customers?limit=50" >"$work/before.json"
curl -sf -H 'X-Tenant: bench' "$after/bench/http/customers-raw" >"$work/raw.json"
cmp -s "$work/after.json" "$work/before.json" && cmp -s "$work/after.json" "$work/raw.json" \
  && echo "  same JSON from all three, byte for byte ($(wc -c <"$work/after.json") bytes)" \
  || { echo "  the answers differ" >&2; exit 1; }
for url in "$after" "$before"; do wrk -t2 -c32 -d4s "${auth[@]}" "$url/customers?limit=50" >/dev/null; done  # warm-up
wrk -t2 -c32 -d4s -H 'X-Tenant: bench' "$after/bench/http/customers-raw" >/dev/null
a=(); b=(); r=()
for _ in $(seq "$rounds"); do
  a+=("$(wrk_rps "${auth[@]}" "$after/customers?limit=50")")
  b+=("$(wrk_rps "${auth[@]}" "$before/customers?limit=50")")
  r+=("$(wrk_rps -H 'X-Tenant: bench' "$after/bench/http/customers-raw")")
done
ratio "A EF Core (this branch)" "B raw Npgsql module ($base)" "${a[*]}" "${b[*]}"
ratio "A EF Core (this branch)" "B raw Npgsql bench endpoint" "${a[*]}" "${r[*]}"

echo "## POST /customers (one project each, unique e-mails)"
for url in "$after" "$before"; do wrk -t2 -c32 -d4s -s "$lua/post-customers.lua" "$url/customers" -- bench "$token" "warm$RANDOM" >/dev/null; done
a=(); b=()
for i in $(seq "$rounds"); do
  a+=("$(wrk_rps -s "$lua/post-customers.lua" "$after/customers" -- bench "$token" "a$i-$RANDOM")")
  b+=("$(wrk_rps -s "$lua/post-customers.lua" "$before/customers" -- bench "$token" "b$i-$RANDOM")")
done
ratio "A EF Core (this branch)" "B raw Npgsql module ($base)" "${a[*]}" "${b[*]}"
errors=$(cat "$work/after.log" "$work/before.log" | grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:' || true)
echo "  host logs: ${errors:-0} error lines"
