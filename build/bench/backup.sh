#!/usr/bin/env bash
# Backup and restore of one tenant with N customers (issue 13): the tenant is filled by SQL (each customer with one
# project) with triggers off for the fill (session_replication_role = replica: sealing 200,000 audit records at one
# commit takes longer than the whole benchmark; the file then holds the data without a trail of its filling), then POST /platform/tenants/{id}/backups and POST /platform/backups/{id}/restore
# are timed from the request to the job's completion (polled every 100 ms). Prints both times, the file's size,
# restore ÷ backup, and the copy's counts.
# usage: build/bench/backup.sh [CUSTOMERS=100000]
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=${1:-100000}

work=$(mktemp -d /tmp/monolith-bench.XXXXXX)
chmod 755 "$work"
host_pid=""
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null
  bash build/pg-cluster.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null

port=$(shuf -i 20000-60000 -n 1)
key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$work/backups"
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" ASPNETCORE_ENVIRONMENT=Production \
  Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false Backups__Directory="$work/backups" \
  Jobs__QueuePollMilliseconds=100
dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll host --urls "http://127.0.0.1:$port" >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.2; done
api() { curl -sf -H "X-Platform-Key: $key" -H 'Content-Type: application/json' "$@"; }
sql() { psql "postgresql://postgres@127.0.0.1:$(cat "$work/pg/port")/monolith_bench" -XAtq -v ON_ERROR_STOP=1 "$@"; }
now_ms() { date +%s%3N; }
wait_for() {  # URL: polls until status is completed (prints nothing) or failed (exits)
  local status
  for _ in $(seq 1 36000); do
    status=$(api "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    case "$status" in completed) return ;; failed) echo "job failed: $(api "$1")" >&2; exit 1 ;; esac
    sleep 0.1
  done
  echo "job did not finish: $1" >&2; exit 1
}

api -X POST "http://127.0.0.1:$port/platform/tenants" \
  -d '{"identifier":"big","name":"Big","ownerEmail":"o@big.test","ownerPassword":"bench-password-0123456789"}' >/dev/null
started=$(now_ms)
sql <<SQL
BEGIN;
SET LOCAL search_path TO big;
SET LOCAL session_replication_role = replica;
INSERT INTO customers (id, name, email, phone)
SELECT monolith.uuid_v7(), 'Customer ' || i, 'c' || i || '@big.test', '+4930' || lpad(i::text, 8, '0') FROM generate_series(1, $customers) i;
INSERT INTO projects (id, customer_id, name, code) SELECT monolith.uuid_v7(), id, 'Main project', 'MAIN' FROM customers;
COMMIT;
SQL
echo "filled: $customers customers with a project each in $(( ($(now_ms) - started) / 1000 )) s"
sql -c "SELECT 'audit records: ' || count(*) FROM big.audit_events"

started=$(now_ms)
backup=$(api -X POST "http://127.0.0.1:$port/platform/tenants/big/backups" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
wait_for "http://127.0.0.1:$port/platform/backups/$backup"
backup_ms=$(( $(now_ms) - started ))
size=$(api "http://127.0.0.1:$port/platform/backups/$backup" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sizeBytes"])')

started=$(now_ms)
job=$(api -X POST "http://127.0.0.1:$port/platform/backups/$backup/restore" -d '{"identifier":"big-copy"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
wait_for "http://127.0.0.1:$port/platform/restores/$job"
restore_ms=$(( $(now_ms) - started ))

echo "backup: ${backup_ms} ms, file $(( size / 1024 / 1024 )) MiB ($size bytes)"
echo "restore: ${restore_ms} ms"
python3 -c "print(f'restore / backup: {$restore_ms / $backup_ms:.2f}')"
sql -c "SELECT 'copy: ' || (SELECT count(*) FROM big_copy.customers) || ' customers, ' || (SELECT count(*) FROM big_copy.projects) || ' projects, '
        || (SELECT count(*) FROM big_copy.audit_events) || ' audit records'"
