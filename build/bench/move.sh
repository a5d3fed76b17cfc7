#!/usr/bin/env bash
# Moving a tenant between two servers (issue 16, docs/adr/0066 and 0067): two throwaway PostgreSQL clusters (durable settings),
# the second added to the placement map through POST /platform/servers, one Release host. For each size N, a tenant with
# N customers (each with a project; filled by SQL with triggers off, as build/bench/backup.sh) is moved from the catalog's
# server to the second by POST /platform/tenants/{id}/move while one client keeps writing (POST /customers, one at a time,
# honouring nothing: it retries at once). Prints the move's total time and write-freeze time (from its answer) and the
# rows its freeze caught up (written while the copy was made), what the
# writer saw (201s, 503s, the longest time between two acknowledged writes) and that every acknowledged write is on the
# target.
# usage: build/bench/move.sh ["1000 100000"]
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${1:-1000 100000}

work=$(mktemp -d /tmp/monolith-bench-move.XXXXXX)
chmod 755 "$work"
host_pid=""
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null
  bash build/pg-cluster.sh stop "$work/s2/pg" >/dev/null 2>&1 || true
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
mkdir -p "$work/s2" && chmod 755 "$work/s2"
bench_cluster "$work/s2" monolith_bench
second_request=$ConnectionStrings__Monolith
second_owner=$ConnectionStrings__MonolithOwner
second_port=$(cat "$work/s2/pg/port")
bench_cluster "$work" monolith_bench
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null

port=$(shuf -i 20000-60000 -n 1)
url="http://127.0.0.1:$port"
key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$work/backups"
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" ASPNETCORE_ENVIRONMENT=Production \
  Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false Backups__Directory="$work/backups" \
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__AccessTokenMinutes=240
dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll host --urls "$url" >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1 150); do curl -sf "$url/health/ready" >/dev/null && break; sleep 0.2; done
api() { curl -sf -H "X-Platform-Key: $key" -H 'Content-Type: application/json' "$@"; }
sql() { psql "postgresql://postgres@127.0.0.1:$1/monolith_bench" -XAtq -v ON_ERROR_STOP=1 "${@:2}"; }

python3 - "$second_request" "$second_owner" > "$work/server.json" <<'PY'
import json, sys
print(json.dumps({"name": "second", "requestConnection": sys.argv[1], "ownerConnection": sys.argv[2], "capacity": 1000}))
PY
api -X POST "$url/platform/servers" --data @"$work/server.json" >/dev/null

echo "# build/bench/move.sh \"$sizes\"  ($(date -u +%FT%TZ), $(nproc) cores; catalog's server and 'second' are two clusters on this machine)"
for n in $sizes; do
  tenant="m$n"
  api -X POST "$url/platform/tenants" \
    -d "{\"identifier\":\"$tenant\",\"name\":\"M\",\"ownerEmail\":\"o@$tenant.test\",\"ownerPassword\":\"bench-password-0123456789\"}" >/dev/null
  sql "$(cat "$work/pg/port")" <<SQL
BEGIN;
SET LOCAL search_path TO $tenant;
SET LOCAL session_replication_role = replica;
INSERT INTO customers (id, name, email, phone)
SELECT monolith.uuid_v7(), 'Customer ' || i, 'c' || i || '@$tenant.test', '+4930' || lpad(i::text, 8, '0') FROM generate_series(1, $n) i;
INSERT INTO projects (id, customer_id, name, code) SELECT monolith.uuid_v7(), id, 'Main project', 'MAIN' FROM customers;
COMMIT;
SQL
  token=$(curl -sf -H "X-Tenant: $tenant" -H 'Content-Type: application/json' "$url/auth/token" \
    -d "{\"email\":\"o@$tenant.test\",\"password\":\"bench-password-0123456789\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
  rm -f "$work/stop"
  python3 - "$url" "$tenant" "$token" "$work/stop" > "$work/writer-$n.json" <<'PY' &
import json, os, sys, time, urllib.request, urllib.error
url, tenant, token, stop = sys.argv[1:5]
acked, statuses, times, i = [], {}, [], 0
while not os.path.exists(stop):
    i += 1
    email = f"w{i}@{tenant}.test"
    body = json.dumps({"name": f"w{i}", "email": email, "projects": [{"name": "P"}]}).encode()
    request = urllib.request.Request(f"{url}/customers", data=body, method="POST",
        headers={"X-Tenant": tenant, "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
    statuses[status] = statuses.get(status, 0) + 1
    if status == 201:
        acked.append(email)
        times.append(time.monotonic())
gap = max((b - a for a, b in zip(times, times[1:])), default=0)
print(json.dumps({"acked": acked, "statuses": statuses, "gap_ms": round(gap * 1000)}))
PY
  writer=$!
  sleep 2
  moved=$(api -X POST "$url/platform/tenants/$tenant/move" -d '{"to":"second"}')
  sleep 2
  touch "$work/stop"
  wait "$writer"
  python3 - "$n" "$moved" "$work/writer-$n.json" <<'PY'
import json, sys
n, moved, writer = int(sys.argv[1]), json.loads(sys.argv[2]), json.load(open(sys.argv[3]))
print(f"## {n:,} customers: move {moved['totalMs']:,} ms in all, writes frozen {moved['frozenMs']:,} ms (server {moved['tenant']['server']}); "
      f"caught up under the freeze: {moved['caughtUpRows']:,} rows written and {moved['caughtUpDeletes']:,} deleted during the copy")
print(f"  writer: {writer['statuses']} ; longest time between two acknowledged writes {writer['gap_ms']:,} ms")
PY
  python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["acked"]))' "$work/writer-$n.json" > "$work/acked-$n.txt"
  missing=$(sql "$second_port" -c "SELECT count(*) FROM unnest(string_to_array(\$\$$(tr '\n' ' ' < "$work/acked-$n.txt")\$\$, ' ')) e WHERE e <> '' AND NOT EXISTS (SELECT 1 FROM $tenant.customers c WHERE c.email = e)")
  total=$(sql "$second_port" -c "SELECT count(*) FROM $tenant.customers")
  echo "  on the target: $total customers; acknowledged writes missing there: $missing"
done
errors=$(grep -ciE '"(Level|level)":"?(Error|Fatal)|fail:|crit:| (ERR|FTL)\]' "$work/host.log" || true)
echo "  host log: ${errors:-0} error lines"
