#!/usr/bin/env bash
# Password-reset request latency (issue 14): POST /auth/password-reset for a known address and for an unknown one,
# interleaved request by request on one keep-alive connection each, against the Release host on a throwaway PostgreSQL
# cluster with its Hangfire server running (so the background job that does the lookup and writes the mail competes
# for the machine as it would in production). Prints both distributions (p50/p90/p99/max, ms), their ratio, and the
# two-sample Kolmogorov–Smirnov distance: the answer must not tell the addresses apart.
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/reset.sh
# usage: build/bench/reset.sh [REQUESTS_PER_SIDE=1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-1000}

work=$(mktemp -d /tmp/monolith-bench-reset.XXXXXX)
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
dotnet build host -c Release -v quiet --nologo >/dev/null
host_dll=host/bin/Release/net10.0/Monolith.Host.dll

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false \
  Auth__RateLimits__LoginPermitLimit=100000000 Mail__PickupDirectory="$work/mail"
port=$(shuf -i 20000-40000 -n 1)
url="http://127.0.0.1:$port"
dotnet "$host_dll" --urls "$url" >>"$work/host.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$url/health/ready" >/dev/null || { cat "$work/host.log" >&2; exit 1; }

curl -sf -X POST "$url/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench","name":"Bench","ownerEmail":"owner@bench.test","ownerPassword":"bench-password-0123456789"}' >/dev/null

python3 - "$port" "$requests" <<'PY'
import http.client, json, statistics, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
def client():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)
known, unknown = client(), client()
def once(conn, email):
    body = json.dumps({"email": email})
    start = time.perf_counter()
    conn.request("POST", "/auth/password-reset", body, {"Content-Type": "application/json", "X-Tenant": "bench"})
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 202:
        sys.exit(f"unexpected {response.status}")
    return elapsed
for _ in range(50):  # warm-up, not counted
    once(known, "owner@bench.test"); once(unknown, "nobody@bench.test")
a, b = [], []
for i in range(n):
    # Alternate which goes first, so neither side always follows the other's background job.
    if i % 2 == 0:
        a.append(once(known, "owner@bench.test")); b.append(once(unknown, f"nobody{i}@bench.test"))
    else:
        b.append(once(unknown, f"nobody{i}@bench.test")); a.append(once(known, "owner@bench.test"))
def q(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))]
def ks(x, y):
    x, y = sorted(x), sorted(y); i = j = 0; d = 0.0
    while i < len(x) and j < len(y):
        if x[i] <= y[j]: i += 1
        else: j += 1
        d = max(d, abs(i / len(x) - j / len(y)))
    return d
for label, xs in (("known address  ", a), ("unknown address", b)):
    print(f"  {label}: p50 {q(xs, .5):.2f} ms, p90 {q(xs, .9):.2f}, p99 {q(xs, .99):.2f}, max {max(xs):.2f} ({len(xs)} requests)")
print(f"  ratio known/unknown: p50 {q(a, .5) / q(b, .5):.2f}, p99 {q(a, .99) / q(b, .99):.2f}")
d = ks(a, b)
crit = 1.36 * ((len(a) + len(b)) / (len(a) * len(b))) ** 0.5
print(f"  Kolmogorov-Smirnov distance {d:.3f} (5% critical value {crit:.3f}: {'indistinguishable' if d < crit else 'DISTINGUISHABLE'})")
PY
sent=$(find "$work/mail" -name '*.eml' 2>/dev/null | wc -l)
echo "  reset mails written to the pickup directory meanwhile: $sent (the known address only)"
