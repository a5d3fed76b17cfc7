#!/usr/bin/env bash
# Several host instances (issue 16): two stateless hosts on one database behind HAProxy (Debian's package), side by side
# in one run on a throwaway PostgreSQL cluster (durable settings), Release bench host:
#   GET /customers?limit=50 (200 customers, one tenant): HAProxy → two hosts ÷ HAProxy → one host (the same hop on both
#     sides), and HAProxy → one host ÷ that host directly (what the hop costs). On 2 cores the hosts, PostgreSQL, HAProxy
#     and wrk share the CPU: this shows the overhead of a second instance, not its gain.
#   How long the second host takes to follow a change made through the first: a tenant suspended through host A until
#     host B answers 403, resumed through A until B answers 200 again (the catalog change notification; goal ≤ 1 s).
# Rounds alternate between the sides (wrk -t2 -c32, 10 s warm-up each), medians compared.
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/hosts.sh
# usage: build/bench/hosts.sh [WRK_SECONDS=10] [ROUNDS=5] [FOLLOWS=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
rounds=${2:-5}
follows=${3:-10}
for tool in wrk haproxy; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)

work=$(mktemp -d /tmp/monolith-bench-hosts.XXXXXX)
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
base_port=$(shuf -i 20000-30000 -n 1)
a="http://127.0.0.1:$base_port"
b="http://127.0.0.1:$((base_port + 1))"
one="http://127.0.0.1:$((base_port + 2))"
two="http://127.0.0.1:$((base_port + 3))"
# Both hosts run the whole application, Hangfire server included, as a deployment of N instances would.
for url in "$a" "$b"; do
  dotnet "$dll" host --urls "$url" >>"$work/host-${url##*:}.log" 2>&1 &
  pids+=($!)
done
host_pids=("${pids[@]}")
for url in "$a" "$b"; do
  for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && break; sleep 0.2; done
  curl -sf "$url/health/ready" >/dev/null || { echo "host $url did not start" >&2; cat "$work"/host-*.log >&2; exit 1; }
done

cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend one
  bind 127.0.0.1:$((base_port + 2))
  default_backend one
frontend two
  bind 127.0.0.1:$((base_port + 3))
  default_backend two
backend one
  server a 127.0.0.1:$base_port
backend two
  balance roundrobin
  server a 127.0.0.1:$base_port
  server b 127.0.0.1:$((base_port + 1))
EOF
"$haproxy" -q -db -f "$work/haproxy.cfg" >>"$work/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "$two/health/ready" >/dev/null && break; sleep 0.1; done

curl -sf -X POST "$a/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
token=$(dotnet "$dll" customers "$a" bench owner@bench.test 200 | tail -n 1)

rps() { # rps URL: requests/s of GET /customers?limit=50; a non-2xx answer fails the bench
  local out
  out=$(wrk -t2 -c32 -d"${seconds}s" -H 'X-Tenant: bench' -H "Authorization: Bearer $token" "$1/customers?limit=50")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

echo "# build/bench/hosts.sh $seconds $rounds $follows  ($(date -u +%FT%TZ), $(nproc) cores, wrk -t2 -c32 -d${seconds}s, $rounds alternating rounds, HAProxy $("$haproxy" -v | awk 'NR==1 {print $3}'))"
for url in "$two" "$one" "$a"; do rps "$url" >/dev/null; done  # warm-up: JIT, pools, plans on both hosts
r2=(); r1=(); rd=()
for _ in $(seq "$rounds"); do
  r2+=("$(rps "$two")")
  r1+=("$(rps "$one")")
  rd+=("$(rps "$a")")
done
python3 - "${r2[*]}" "${r1[*]}" "${rd[*]}" <<'PY'
import sys, statistics
two, one, direct = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
for label, runs in (("A HAProxy → 2 hosts", two), ("B HAProxy → 1 host", one), ("C 1 host directly", direct)):
    print(f"  {label:<20}: {' / '.join(f'{x:,.0f}' for x in runs)} req/s, median {statistics.median(runs):,.0f}")
print(f"  2 hosts ÷ 1 host (both behind HAProxy), per round: {' / '.join(f'{a / b:.2f}' for a, b in zip(two, one))}; "
      f"median {statistics.median(two) / statistics.median(one):.2f}")
print(f"  HAProxy → 1 host ÷ directly, per round: {' / '.join(f'{a / b:.2f}' for a, b in zip(one, direct))}; "
      f"median {statistics.median(one) / statistics.median(direct):.2f}")
PY
echo "  host RSS after the runs: A $(rss "${host_pids[0]}") MB, B $(rss "${host_pids[1]}") MB"

echo "## A change made through host A, followed by host B ($follows suspends and $follows resumes)"
python3 - "$a" "$b" "$key" "$token" "$follows" <<'PY'
import statistics, sys, time, urllib.request, urllib.error
a, b, key, token, follows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def status(url, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code

def follow(action, wanted):
    # Waits until B answers `wanted` after `action` went through A; the clock starts when A has answered.
    assert status(f"{a}/platform/tenants/bench/{action}", "POST", {"X-Platform-Key": key, "Content-Length": "0"}) == 200
    start = time.perf_counter()
    while True:
        got = status(f"{b}/customers?limit=1", headers={"X-Tenant": "bench", "Authorization": f"Bearer {token}"})
        if got == wanted:
            return (time.perf_counter() - start) * 1000
        if time.perf_counter() - start > 30:
            raise SystemExit(f"host B still answers {got} 30 s after {action} through host A")
        time.sleep(0.005)

suspends, resumes = [], []
for _ in range(follows):
    suspends.append(follow("suspend", 403))
    resumes.append(follow("resume", 200))
for label, runs in (("suspend → B answers 403", suspends), ("resume → B answers 200", resumes)):
    print(f"  {label}: median {statistics.median(runs):.0f} ms, max {max(runs):.0f} ms (polled every 5 ms)")
PY
errors=$(cat "$work"/host-*.log | grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' || true)
echo "  host logs: ${errors:-0} error lines"
