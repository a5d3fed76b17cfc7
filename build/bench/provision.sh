#!/usr/bin/env bash
# Provisioning from spare schemas vs from the template vs by replaying the tenant scripts (issue 13, docs/adr/0062), side
# by side in one run: three hosts on one throwaway database (Tenancy__SpareSchemas 4 / 0 / 0, Tenancy__ProvisionFromTemplate
# true / true / false), alternating blocks of tenants through POST /platform/tenants, sequential and then 4 at a time;
# then what the owner's password hash alone costs (the KDF, made before the tenant lock is taken) on the same machine,
# and how many schemas each way filled (a spare host falls back to the template when its spares run out).
# usage: build/bench/provision.sh [TENANTS_PER_HOST=200] [ROUNDS=4]
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-200}
rounds=${2:-4}

work=$(mktemp -d /tmp/monolith-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  bash build/pg-cluster.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null

key=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
export Platform__ApiKey="$key" Auth__SigningKey="$(head -c 48 /dev/urandom | base64)" \
  ASPNETCORE_ENVIRONMENT=Production Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false Jobs__ServerEnabled=false
bench=build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll
start_host() {  # PORT TEMPLATE SPARES
  Tenancy__ProvisionFromTemplate=$2 Tenancy__SpareSchemas=$3 dotnet "$bench" host --urls "http://127.0.0.1:$1" >"$work/host-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$1/health/ready" >/dev/null && return; sleep 0.2; done
  echo "host on $1 did not start" >&2; cat "$work/host-$1.log" >&2; exit 1
}
spares_port=$(shuf -i 20000-29999 -n 1); template_port=$(shuf -i 30000-39999 -n 1); scripts_port=$(shuf -i 40000-60000 -n 1)
start_host "$spares_port" true 4
start_host "$template_port" true 0
start_host "$scripts_port" false 0
hosts="http://127.0.0.1:$spares_port,http://127.0.0.1:$template_port,http://127.0.0.1:$scripts_port"

echo "## Provisioning: spares, template, scripts (in that order), $count tenants each in $rounds alternating blocks"
# One tenant each first: the template hosts build and dump their template once (reported separately, not in the figures).
dotnet "$bench" provision-ab "$hosts" "$key" 2 1 1 | sed 's/^/warm-up: /'
sleep 2  # the spare host tops its spares up again after the warm-up
status=0
dotnet "$bench" provision-ab "$hosts" "$key" "$count" 1 "$rounds" || status=1
dotnet "$bench" provision-ab "$hosts" "$key" "$count" 4 "$rounds" || status=1
echo "## The owner's password hash alone (same machine, same run)"
dotnet "$bench" hash-cost 20
echo "## Errors the hosts logged (none expected)"
grep -h -i -A20 'exception' "$work"/host-*.log | cut -c1-400 | head -80 || true
echo "## How each host filled its schemas (operator trail)"
psql "postgresql://postgres@127.0.0.1:$(cat "$work/pg/port")/monolith_bench" -XAtc \
  "SELECT split_part(detail, ', ', 2), count(*) FROM platform.operator_events WHERE action = 'tenant.create' AND outcome = 'succeeded' GROUP BY 1"
exit "$status"
