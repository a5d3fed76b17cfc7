#!/usr/bin/env bash
# Isolation in depth (issue 9), side by side in one run, on one throwaway PostgreSQL 15 cluster (durable settings),
# loopback only, everything it starts stopped and removed at the end:
#   1. noisy neighbour: a victim tenant's GET /customers?limit=50 (wrk -t1 -c4) alone, then while an aggressor tenant
#      floods GET /audit-events/verify over 200 connections (wrk -t2 -c200): the current host (default bounds, then
#      with the aggressor's maxConcurrency lowered), and the host of the commit before the isolation work (OLD_COMMIT,
#      eb6cf01: one superuser connection, no bounds), built in Release from a temporary git worktree;
#   2. GET /customers?limit=50 through PgBouncer (transaction mode, build/pgbouncer.sh) ÷ direct;
#   3. the same GET with the default bounds ÷ with the concurrency limiter out of reach (Tenancy__MaxConcurrency=1000000),
#      and current host ÷ old host.
#   2 and 3 are one loop of alternating wrk runs (-t2 -c32) over four hosts that run side by side; medians.
# CPU during each measured window is read from /proc (jiffies of this cluster's postgres processes, the host, PgBouncer,
# each wrk, and the rest of the machine), since the 2 cores are shared with everything else; the throughput ratios are
# also given from CPU per request. Method and figures: docs/bench/isolation.md.
# Run it under the shared lock:  flock /tmp/monolith-bench.lock build/bench/isolation.sh
# usage: build/bench/isolation.sh [VICTIM_SECONDS=20] [WRK_SECONDS=10] [ROUNDS=4] [AUDITED_CUSTOMERS=3000]
#   (4 rounds: each host runs once in each position of the rotated order, so a steady drift in the machine's load
#   weighs on every host alike)
#   env: OLD_COMMIT (eb6cf01), TUNED_SLOTS (2: the aggressor's maxConcurrency in the third flood), POOL (20: PgBouncer's
#        server connections), LIMIT_SECONDS (900: the run is stopped past it), KEEP=1 (keep the work directory)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
victim_seconds=${1:-20}
seconds=${2:-10}
rounds=${3:-4}
audited=${4:-3000}
old_commit=${OLD_COMMIT:-eb6cf01}
tuned_slots=${TUNED_SLOTS:-2}
pool=${POOL:-20}
limit_seconds=${LIMIT_SECONDS:-900}
lua=build/bench/lua/statuses.lua
victim_customers=200
started=$(date +%s)
[ "$victim_seconds" -ge 5 ] && [ "$seconds" -ge 3 ] || { echo "isolation.sh: VICTIM_SECONDS ≥ 5 and WRK_SECONDS ≥ 3" >&2; exit 2; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }
# The hosts get their whole configuration from this script, nothing from the caller's environment.
for v in $(compgen -e | grep -E '^(ConnectionStrings|Tenancy|Auth|Platform|Jobs|Logging|Serilog|Bench|Cors|ASPNETCORE)_' || true); do unset "$v"; done

work=$(mktemp -d /tmp/monolith-bench-isolation.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/res"
declare -A host_pid=() host_url=()
bg_pids=()
old_dir=
cleanup() {
  set +e
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for name in "${!host_pid[@]}"; do  # only a process that is still our host (its pid could have been reused)
    grep -qa Monolith.Host "/proc/${host_pid[$name]}/cmdline" 2>/dev/null && kill "${host_pid[$name]}" 2>/dev/null
  done
  for name in "${!host_pid[@]}"; do wait "${host_pid[$name]}" 2>/dev/null; done
  bash build/pgbouncer.sh stop "$work/pgbouncer" >/dev/null 2>&1
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1
  if [ -n "$old_dir" ]; then git worktree remove --force --force "$old_dir" >/dev/null 2>&1 || rm -rf "$old_dir"; fi
  [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
  if [ "${KEEP:-}" = "1" ]; then echo "isolation.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "isolation.sh: stopped" >&2; exit 143' TERM INT
# Bounded in time: past LIMIT_SECONDS the script is stopped (each wrk and curl has its own limit, so it stops soon after).
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$limit_seconds" & s=$!; wait "$s" \
  && { echo "isolation.sh: over ${limit_seconds}s, stopping" >&2; kill -TERM $$; } ) &
watchdog=$!

say() { echo "[$(( $(date +%s) - started ))s] $*" >&2; }
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "isolation.sh: no free port" >&2; exit 1
}
forget() { local keep=() p; for p in "${bg_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; bg_pids=("${keep[@]}"); }
secret() { head -c 64 /dev/urandom | base64 | tr -d '\n/+=' | cut -c1-"$1"; }

echo "# build/bench/isolation.sh $victim_seconds $seconds $rounds $audited  ($(date -u +%FT%TZ), $(nproc) cores, old host: $old_commit)"
echo "load at start: $(uptime | sed 's/.*load average/load average/')"

# --- database: one cluster, the two roles of docs/adr/0005 for the current host, a superuser database for the old one
say "starting the cluster"
bash build/pg-cluster.sh start "$work/pg" 0 >/dev/null
pg_port=$(cat "$work/pg/port")
postmaster=$(head -n 1 "$work/pg/data/postmaster.pid")
owner_password=$(secret 32); app_password=$(secret 32)
sql() { local db=$1; shift; psql -X -h 127.0.0.1 -p "$pg_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"; }
MONOLITH_OWNER_PASSWORD=$owner_password MONOLITH_APP_PASSWORD=$app_password \
  sql postgres -q -v owner_role=monolith_owner -v app_role=monolith_app -v database=monolith -f build/sql/roles.sql >/dev/null
sql postgres -qc "CREATE DATABASE monolith_old" >/dev/null
app_cs="Host=127.0.0.1;Port=$pg_port;Database=monolith;Username=monolith_app;Password=$app_password;Maximum Pool Size=100"
owner_cs="Host=127.0.0.1;Port=$pg_port;Database=monolith;Username=monolith_owner;Password=$owner_password"
old_cs="Host=127.0.0.1;Port=$pg_port;Database=monolith_old;Username=postgres;Maximum Pool Size=100"

# --- builds: the current host, and the old commit's host in a temporary worktree
say "building the current host (Release)"
dotnet build host/Monolith.Host.csproj -c Release -v quiet --nologo >"$work/build-current.log" 2>&1 \
  || { cat "$work/build-current.log" >&2; exit 1; }
say "building $old_commit's host (Release, temporary worktree)"
old_dir="$work/old"
git worktree add --detach -q "$old_dir" "$old_commit"
dotnet build "$old_dir/host/Monolith.Host.csproj" -c Release -v quiet --nologo >"$work/build-old.log" 2>&1 \
  || { cat "$work/build-old.log" >&2; exit 1; }

# --- hosts
key=$(secret 40)
signing=$(secret 48)
# Limits raised for the bench only, as in http.sh: the per-tenant request rate limit off, logins out of reach, tokens
# valid for the whole run; the background job server and the database log sink off in every host.
common_env=(ASPNETCORE_ENVIRONMENT=Production "Platform__ApiKey=$key" "Auth__SigningKey=$signing"
  Serilog__MinimumLevel__Default=Warning Logging__Postgres__Enabled=false Jobs__ServerEnabled=false
  Auth__RateLimits__TenantPermitLimit=0 Auth__RateLimits__UserPermitLimit=0 Auth__RateLimits__LoginPermitLimit=100000000 Auth__AccessTokenMinutes=240)
start_host() { # start_host NAME DIRECTORY DLL ENV...
  local name=$1 dir=$2 dll=$3 port
  shift 3
  port=$(free_port)
  (cd "$dir" && exec env "${common_env[@]}" "$@" dotnet "$dll" --urls "http://127.0.0.1:$port") >"$work/host-$name.log" 2>&1 &
  host_pid[$name]=$!
  host_url[$name]="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    curl -sf -m 2 "${host_url[$name]}/health/ready" >/dev/null && return 0
    kill -0 "${host_pid[$name]}" 2>/dev/null || break
    sleep 0.2
  done
  echo "isolation.sh: host $name did not start" >&2; tail -n 40 "$work/host-$name.log" >&2; exit 1
}
tenant_password=bench-password-0123456789
provision() { # provision HOST IDENTIFIER
  curl -sf -m 120 -X POST "${host_url[$1]}/platform/tenants" -H "X-Platform-Key: $key" -H 'Content-Type: application/json' \
    -d "{\"identifier\":\"$2\",\"name\":\"$2\",\"ownerEmail\":\"owner@$2.test\",\"ownerPassword\":\"$tenant_password\"}" >/dev/null \
    || { echo "isolation.sh: provisioning $2 on $1 failed" >&2; exit 1; }
}
token() { # token HOST IDENTIFIER
  curl -sf -m 60 -X POST "${host_url[$1]}/auth/token" -H "X-Tenant: $2" -H 'Content-Type: application/json' \
    -d "{\"email\":\"owner@$2.test\",\"password\":\"$tenant_password\"}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])'
}
# seed DATABASE IDENTIFIER COUNT: COUNT customers with one project each, as the superuser in the tenant's schema, in one
# transaction (a customer needs a project by commit); the audit triggers record every row (2 × COUNT records).
seed() {
  local schema
  schema=$(sql "$1" -tAc "SELECT schema_name FROM platform.tenants WHERE identifier = '$2'")
  [ -n "$schema" ] || { echo "isolation.sh: no schema for $2 in $1" >&2; exit 1; }
  sql "$1" -q >/dev/null <<SQL
BEGIN;
SET LOCAL search_path = "$schema";
INSERT INTO customers (id, name, email)
  SELECT gen_random_uuid(), format('Customer %s', g), format('customer%s@seed.test', g) FROM generate_series(1, $3) g;
INSERT INTO projects (id, customer_id, name) SELECT gen_random_uuid(), id, 'Main' FROM customers;
COMMIT;
ANALYZE;
SQL
}
# Waits (at most 60 s) until no client backend of the cluster is running a statement: a flood's abandoned requests finish.
quiet() {
  local n
  for _ in $(seq 1 120); do
    n=$(sql postgres -tAc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()")
    [ "$n" = "0" ] && { sleep 1; return 0; }
    sleep 0.5
  done
  say "warning: $n statements still active after 60 s"
}
# median_ms N CURL-ARGS...: the median time of N requests one after another, in ms (checks for a 2xx)
median_ms() {
  local n=$1; shift
  for _ in $(seq 1 "$n"); do curl -s -m 60 -o /dev/null -w '%{http_code} %{time_total}\n' "$@"; done | python3 -c '
import sys, statistics
rows = [line.split() for line in sys.stdin]
bad = [r[0] for r in rows if not r[0].startswith("2")]
print(f"{statistics.median(float(r[1]) for r in rows) * 1000:.1f}" + (f" (non-2xx: {bad})" if bad else ""))'
}
# cpu_snap FILE: the first line of /proc/stat and every process's /proc/PID/stat, read by one cat (no interpreter
# starting up on a loaded machine between the two ends of a window); parsed later by cpu_split
cpu_snap() { { head -n 1 /proc/stat; cat /proc/[0-9]*/stat 2>/dev/null; } >"$1" || true; }
# cpu_split NAME SNAP0 SNAP1 HOST_PID WRK_PID AGGRESSOR_WRK_PID PGBOUNCER_PID (the last two may be ""): cores used in the
# window, by process group
cpu_split() {
  python3 - "$@" "$postmaster" "$(nproc)" <<'PY'
import sys
name, a, b, host, victim, aggressor, pgbouncer, postmaster, cores = sys.argv[1:10]
def load(path):  # ((busy, all) jiffies of the machine, {pid: (ppid, utime + stime)})
    procs, total = {}, None
    for line in open(path, errors="replace"):
        if line.startswith("cpu "):
            v = [int(x) for x in line.split()[1:]]
            total = (sum(v) - v[3] - v[4], sum(v))  # minus idle and iowait
        elif ")" in line:
            pid, rest = line.split(" ", 1)[0], line[line.rindex(")") + 2:].split()
            procs[pid] = (rest[1], int(rest[11]) + int(rest[12]))
    return total, procs
(busy0, all0), p0 = load(a)
(busy1, all1), p1 = load(b)
ticks = (all1 - all0) / int(cores)  # jiffies of one core over the window
groups = {"postgres": 0, "host": 0, "pgbouncer": 0, "wrk_victim": 0, "wrk_aggressor": 0}
for pid, (ppid, j1) in p1.items():
    d = j1 - p0.get(pid, (ppid, 0))[1]
    if pid == postmaster or ppid == postmaster:
        groups["postgres"] += d
    elif pid == host:
        groups["host"] += d
    elif pgbouncer and pid == pgbouncer:
        groups["pgbouncer"] += d
    elif pid == victim:
        groups["wrk_victim"] += d
    elif aggressor and pid == aggressor:
        groups["wrk_aggressor"] += d
busy = busy1 - busy0
groups["others"] = max(0, busy - sum(groups.values()))
groups["idle"] = (all1 - all0) - busy
print("CPU " + name + " " + " ".join(f"{k}={v / ticks:.2f}" for k, v in groups.items()) + f" seconds={ticks / 100:.1f}")
PY
}
# victim NAME HOST TOKEN [AGGRESSOR_PID]: the victim's wrk run, with the CPU split of its window (after its first 0.5 s
# until 1.5 s before its end, so every process measured is alive at both ends)
victim() {
  local name=$1 url=${host_url[$2]} token=$3 aggressor=${4:-} pid
  wrk -t1 -c4 -d"${victim_seconds}s" --timeout 30s -s "$lua" -H 'X-Tenant: victim' -H "Authorization: Bearer $token" \
    "$url/customers?limit=50" >"$work/res/$name.victim" 2>&1 &
  pid=$!; bg_pids+=("$pid")
  sleep 0.5; cpu_snap "$work/res/$name.cpu0"
  sleep $((victim_seconds - 2)); cpu_snap "$work/res/$name.cpu1"
  wait "$pid"; forget "$pid"
  cpu_split "$name" "$work/res/$name.cpu0" "$work/res/$name.cpu1" "${host_pid[$2]}" "$pid" "$aggressor" "" >"$work/res/$name.cpu"
}
# neighbours NAME HOST VICTIM_TOKEN AGGRESSOR_TOKEN: the victim alone, then under the aggressor's flood
alone() { quiet; say "$1: victim alone (${victim_seconds}s)"; victim "$1" "$2" "$3"; echo "load after $1: $(cut -d' ' -f1-3 /proc/loadavg)"; }
flood() {
  local name=$1 host=$2 pid
  quiet
  say "$name: victim while the aggressor floods (${victim_seconds}s)"
  wrk -t2 -c200 -d"$((victim_seconds + 5))s" --timeout 30s -s "$lua" -H 'X-Tenant: aggressor' -H "Authorization: Bearer $4" \
    "${host_url[$host]}/audit-events/verify" >"$work/res/$name.aggressor" 2>&1 &
  pid=$!; bg_pids+=("$pid")
  sleep 3
  victim "$name" "$host" "$3" "$pid"
  wait "$pid"; forget "$pid"
  echo "load after $name: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# --- 1. noisy neighbour
say "current host: start, provision, seed"
start_host current "$root" host/bin/Release/net10.0/Monolith.Host.dll \
  "ConnectionStrings__Monolith=$app_cs" "ConnectionStrings__MonolithOwner=$owner_cs"
provision current victim; provision current aggressor
seed monolith victim "$victim_customers"; seed monolith aggressor "$audited"
cur_victim=$(token current victim); cur_aggressor=$(token current aggressor)

echo "## 1. Noisy neighbour: victim GET /customers?limit=50 ($victim_customers customers; wrk -t1 -c4 -d${victim_seconds}s), aggressor GET /audit-events/verify ($audited customers + projects = $((2 * audited)) audit records; wrk -t2 -c200)"
curl -sf -H 'X-Tenant: aggressor' -H "Authorization: Bearer $cur_aggressor" "${host_url[current]}/audit-events/verify" | grep -q '"valid":true' \
  || { echo "isolation.sh: the aggressor's trail does not verify" >&2; exit 1; }
wrk -t1 -c4 -d5s -H 'X-Tenant: victim' -H "Authorization: Bearer $cur_victim" "${host_url[current]}/customers?limit=50" >/dev/null  # warm-up
echo "current host, one request at a time (median of 9): victim GET /customers $(median_ms 9 -H 'X-Tenant: victim' -H "Authorization: Bearer $cur_victim" "${host_url[current]}/customers?limit=50") ms," \
  "aggressor GET /audit-events/verify $(median_ms 9 -H 'X-Tenant: aggressor' -H "Authorization: Bearer $cur_aggressor" "${host_url[current]}/audit-events/verify") ms"
alone current-alone current "$cur_victim"
flood current-flood current "$cur_victim" "$cur_aggressor"
curl -sf -m 30 -X PATCH "${host_url[current]}/platform/tenants/aggressor" -H "X-Platform-Key: $key" \
  -H 'Content-Type: application/merge-patch+json' -d "{\"maxConcurrency\":$tuned_slots}" | grep -q "\"maxConcurrency\":$tuned_slots" \
  || { echo "isolation.sh: PATCH maxConcurrency failed" >&2; exit 1; }
sleep 2  # the catalog change reaches the instance (LISTEN/NOTIFY, 1 s poll at worst)
flood current-tuned current "$cur_victim" "$cur_aggressor"
curl -sf -m 30 -X PATCH "${host_url[current]}/platform/tenants/aggressor" -H "X-Platform-Key: $key" \
  -H 'Content-Type: application/merge-patch+json' -d '{"maxConcurrency":null}' >/dev/null

say "old host ($old_commit): start, provision, seed"
start_host old "$old_dir" host/bin/Release/net10.0/Monolith.Host.dll "ConnectionStrings__Monolith=$old_cs"
provision old victim; provision old aggressor
seed monolith_old victim "$victim_customers"; seed monolith_old aggressor "$audited"
old_victim=$(token old victim); old_aggressor=$(token old aggressor)
curl -sf -H 'X-Tenant: aggressor' -H "Authorization: Bearer $old_aggressor" "${host_url[old]}/audit-events/verify" | grep -q '"valid":true' \
  || { echo "isolation.sh: the old aggressor's trail does not verify" >&2; exit 1; }
wrk -t1 -c4 -d5s -H 'X-Tenant: victim' -H "Authorization: Bearer $old_victim" "${host_url[old]}/customers?limit=50" >/dev/null  # warm-up
echo "old host, one request at a time (median of 9): victim GET /customers $(median_ms 9 -H 'X-Tenant: victim' -H "Authorization: Bearer $old_victim" "${host_url[old]}/customers?limit=50") ms," \
  "aggressor GET /audit-events/verify $(median_ms 9 -H 'X-Tenant: aggressor' -H "Authorization: Bearer $old_aggressor" "${host_url[old]}/audit-events/verify") ms"
alone old-alone old "$old_victim"
flood old-flood old "$old_victim" "$old_aggressor"

# --- 2 and 3. throughput of GET /customers?limit=50 on four hosts side by side
say "PgBouncer (transaction mode, $pool server connections) and two more current hosts"
pgb_port=$(bash build/pgbouncer.sh start "$work/pgbouncer" 127.0.0.1 "$pg_port" monolith monolith_app "$app_password" "$pool")
pgb_pid=$(cat "$work/pgbouncer/pgbouncer.pid")
start_host unbounded "$root" host/bin/Release/net10.0/Monolith.Host.dll \
  "ConnectionStrings__Monolith=$app_cs" "ConnectionStrings__MonolithOwner=$owner_cs" Tenancy__MaxConcurrency=1000000
start_host pgbouncer "$root" host/bin/Release/net10.0/Monolith.Host.dll \
  "ConnectionStrings__Monolith=Host=127.0.0.1;Port=$pgb_port;Database=monolith;Username=monolith_app;Password=$app_password;Maximum Pool Size=100;No Reset On Close=true" \
  "ConnectionStrings__MonolithOwner=$owner_cs" Tenancy__TransactionPooling=true
hosts=(current unbounded pgbouncer old)
declare -A tok=([current]=$cur_victim [unbounded]=$cur_victim [pgbouncer]=$cur_victim [old]=$old_victim)
for h in "${hosts[@]}"; do
  curl -sf -m 30 -H 'X-Tenant: victim' -H "Authorization: Bearer ${tok[$h]}" "${host_url[$h]}/customers?limit=50" >"$work/res/page-$h.json"
done
python3 - "$work/res" <<'PY'
import json, sys
pages = {h: open(f"{sys.argv[1]}/page-{h}.json", "rb").read() for h in ("current", "unbounded", "pgbouncer", "old")}
counts = {h: len(json.loads(p)["items"]) for h, p in pages.items()}
assert all(c == 50 for c in counts.values()), counts
assert pages["current"] == pages["unbounded"] == pages["pgbouncer"], "the three current hosts answer differently"
print(f"every host answers 50 customers; the three current hosts the same bytes ({len(pages['current']):,} bytes)")
PY
quiet
echo "## 2 and 3. GET /customers?limit=50, wrk -t2 -c32 -d${seconds}s, $rounds rounds over 4 hosts (order rotated each round) after a 5 s warm-up each"
for h in "${hosts[@]}"; do
  wrk -t2 -c32 -d5s -H 'X-Tenant: victim' -H "Authorization: Bearer ${tok[$h]}" "${host_url[$h]}/customers?limit=50" >/dev/null
done
for r in $(seq 1 "$rounds"); do
  for i in 0 1 2 3; do
    h=${hosts[$(( (i + r - 1) % 4 ))]}
    say "round $r: $h"
    wrk -t2 -c32 -d"${seconds}s" --timeout 30s -s "$lua" -H 'X-Tenant: victim' -H "Authorization: Bearer ${tok[$h]}" \
      "${host_url[$h]}/customers?limit=50" >"$work/res/ab-$h-$r" 2>&1 &
    pid=$!; bg_pids+=("$pid")
    sleep 0.5; cpu_snap "$work/res/ab-$h-$r.cpu0"
    sleep $((seconds - 2)); cpu_snap "$work/res/ab-$h-$r.cpu1"
    wait "$pid"; forget "$pid"
    cpu_split "ab-$h-$r" "$work/res/ab-$h-$r.cpu0" "$work/res/ab-$h-$r.cpu1" "${host_pid[$h]}" "$pid" "" "$pgb_pid" >"$work/res/ab-$h-$r.cpu"
  done
done
echo "load at end: $(uptime | sed 's/.*load average/load average/')"

# What each host logged at Error level or above, by request line (console format "[hh:mm:ss ERR] HTTP GET /x responded N")
for h in current old unbounded pgbouncer; do
  summary=$(grep -E '^\[[0-9:]+ (ERR|FTL)\]' "$work/host-$h.log" | sed -E 's/^\[[0-9:]+ ([A-Z]+)\] (HTTP [A-Z]+ [^ ]+ responded [0-9]+).*/\1 \2/; s/^\[[0-9:]+ ([A-Z]+)\] (.{0,60}).*/\1 \2/' \
    | sort | uniq -c | sort -rn | awk '{n=$1; $1=""; printf "%s%s ×%s", (NR>1 ? ";" : ""), $0, n}' || true)
  echo "host log $h, error lines:${summary:- none}"
done

# --- report
python3 - "$work/res" "$victim_seconds" "$rounds" "$tuned_slots" "$old_commit" "$pool" <<'PY'
import glob, os, re, statistics, sys
res, victim_seconds, rounds, tuned, old, pool = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
def result(path):
    text = open(path).read()
    m = re.search(r"^RESULT (.*)$", text, re.M)
    if not m:
        sys.exit(f"no RESULT in {path}:\n{text}")
    r = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["rps"] = r["requests"] / r["seconds"]
    r["ok"] = sum(v for k, v in r.items() if re.fullmatch(r"s2\d\d", k))
    r["non2xx"] = sum(v for k, v in r.items() if re.fullmatch(r"s\d+(\.[\w?-]+)?", k) and not k.startswith("s2"))
    r["socket"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r
def cpu(name):
    line = open(f"{res}/{name}.cpu").read().split()
    return {k: float(v) for k, v in (kv.split("=") for kv in line[2:])}
def statuses(r):
    parts = [f"{int(v):,}×{k[1:].replace('.', ' ')}" for k, v in sorted(r.items()) if re.fullmatch(r"s\d+(\.[\w?-]+)?", k)]
    if r["socket"]:
        parts.append(f"{int(r['socket']):,} socket errors")
    return ", ".join(parts) or "none"

print()
print(f"## Report")
print()
print(f"### 1. Noisy neighbour (victim: wrk -t1 -c4 -d{victim_seconds}s; aggressor: wrk -t2 -c200 GET /audit-events/verify)")
print()
print("| host | scenario | victim answers | victim req/s | victim p50 | victim p99 | p50, p99 ÷ alone | victim non-2xx / socket errors | aggressor answers | aggressor req/s | aggressor p50 |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
rows = [("current", "current-alone", "alone"), ("current", "current-flood", "aggressor floods (default bounds)"),
        ("current", "current-tuned", f"aggressor floods, its maxConcurrency = {tuned}"),
        (old, "old-alone", "alone"), (old, "old-flood", "aggressor floods (no bounds)")]
for host, name, scenario in rows:
    v = result(f"{res}/{name}.victim")
    alone = result(f"{res}/{name.split('-')[0]}-alone.victim")
    agg = f"{res}/{name}.aggressor"
    a = result(agg) if os.path.exists(agg) else None
    print(f"| {host} | {scenario} | {int(v['requests']):,} | {v['rps']:,.1f} | {v['p50_ms']:.1f} ms | {v['p99_ms']:.1f} ms | "
          f"{v['p50_ms'] / alone['p50_ms']:.1f}×, {v['p99_ms'] / alone['p99_ms']:.1f}× | {int(v['non2xx'])} / {int(v['socket'])} | "
          f"{statuses(a) if a else '—'} | {format(a['rps'], ',.0f') if a else '—'} | {format(a['p50_ms'], '.0f') + ' ms' if a else '—'} |")
print()
print("(wrk counts completed requests only: a victim request still running when its run ends is not in these figures.)")
print()
print("CPU in each victim window, in cores of the machine's " + str(os.cpu_count()) + " (this cluster's postgres processes, the host process, each wrk, every other process, idle):")
print()
print("| window | postgres | host | wrk victim | wrk aggressor | other processes | idle |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for _, name, _ in rows:
    c = cpu(name)
    print(f"| {name} | {c['postgres']:.2f} | {c['host']:.2f} | {c['wrk_victim']:.2f} | {c['wrk_aggressor']:.2f} | {c['others']:.2f} | {c['idle']:.2f} |")

print()
print(f"### 2 and 3. GET /customers?limit=50, wrk -t2 -c32, {rounds} alternating rounds, medians")
print()
hosts = {"current": "current host, direct, default bounds",
         "unbounded": "current host, direct, Tenancy__MaxConcurrency=1000000",
         "pgbouncer": f"current host through PgBouncer (transaction mode, pool {pool}), Tenancy__TransactionPooling=true",
         "old": f"{old} host (superuser, no bounds)"}
med, per, cpr = {}, {}, {}
print("| host | req/s per round | median req/s | median p50 | median p99 | non-2xx / socket errors | CPU per request: postgres + host + pgbouncer (+ wrk), ms |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for h, label in hosts.items():
    rs = [result(f"{res}/ab-{h}-{r}") for r in range(1, rounds + 1)]
    med[h] = statistics.median(r["rps"] for r in rs)
    per[h] = [r["rps"] for r in rs]
    cs = [cpu(f"ab-{h}-{i}") for i in range(1, rounds + 1)]
    def ms(key):  # CPU ms per request of one group: cores over requests per second, median over the rounds
        return statistics.median(c[key] / r["rps"] * 1000 for c, r in zip(cs, rs))
    cpr[h] = [(c["postgres"] + c["host"] + c["pgbouncer"]) / r["rps"] * 1000 for c, r in zip(cs, rs)]
    cost = f"{ms('postgres'):.2f} + {ms('host'):.2f}" + (f" + {ms('pgbouncer'):.2f}" if h == "pgbouncer" else "") + f" (+ {ms('wrk_victim'):.2f})"
    per_round = " / ".join(format(r["rps"], ",.0f") for r in rs)
    print(f"| {label} | {per_round} | {med[h]:,.0f} | "
          f"{statistics.median(r['p50_ms'] for r in rs):.1f} ms | {statistics.median(r['p99_ms'] for r in rs):.1f} ms | "
          f"{int(sum(r['non2xx'] for r in rs))} / {int(sum(r['socket'] for r in rs))} | {cost} |")
print()
def ratio(label, a, b, goal=""):
    rounds_ = " / ".join(f"{x / y:.2f}" for x, y in zip(per[a], per[b]))
    print(f"- {label}: **{med[a] / med[b]:.2f}** (ratio of medians){goal}; round by round {rounds_}; "
          f"from CPU per request instead (B's ms ÷ A's ms, less sensitive to the machine's other load): "
          f"{statistics.median(cpr[b]) / statistics.median(cpr[a]):.2f}")
ratio("through PgBouncer ÷ direct", "pgbouncer", "current")
ratio("default bounds ÷ concurrency limiter out of reach", "current", "unbounded", ", goal ≥ 0.95")
ratio(f"current host ÷ {old} host (the whole change)", "current", "old")
PY
say "done"
