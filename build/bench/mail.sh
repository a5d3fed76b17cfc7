#!/usr/bin/env bash
# Mail delivery (issue 14): the outbox delivered by the shipped host (in process in Monolith.Bench, Release, running jobs)
# to a real SMTP server in the same process (the SmtpServer package), on a throwaway PostgreSQL cluster (durable
# settings). Mails are queued as the flows queue them (an INSERT into the tenant's mail_outbox, its trigger writing
# platform.mail_due and notifying monolith_mail) and timed from the commit to their arrival at the SMTP server:
#   1. delay commit -> arrival, one mail per transaction 20 ms apart: with the wake-up on commit (default), then with
#      the recurring job alone (Mail__WakeOnCommit=false; Mail__DeliverySeconds 5 and Hangfire's default polling);
#   2. throughput: MAILS mails committed in transactions of 100 into one tenant, then over TENANTS tenants; mails/s from
#      the first commit to the last arrival.
# MAIL_BENCH_NAGLE=1: the SmtpServer package's own listener (Nagle on, which stalls pipelined SMTP 40 ms per mail).
# Run it under the shared lock: flock -o /tmp/monolith-bench.lock build/bench/mail.sh
# usage: build/bench/mail.sh [MAILS=2000] [TENANTS=10] [LATENCY_MAILS=200]
set -euo pipefail
cd "$(dirname "$0")/../.."
mails=${1:-2000}
tenants=${2:-10}
latency_mails=${3:-200}

work=$(mktemp -d /tmp/monolith-bench-mail.XXXXXX)
chmod 755 "$work"
cleanup() {
  bash build/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=build/bench/cluster.sh
. build/bench/cluster.sh
bench_cluster "$work" monolith_bench
dotnet build build/bench/Monolith.Bench -c Release -v quiet --nologo >/dev/null

echo "# build/bench/mail.sh $mails $tenants $latency_mails  ($(date -u +%FT%TZ), $(nproc) cores, $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'))"
Logging__Postgres__Enabled=false \
  dotnet build/bench/Monolith.Bench/bin/Release/net10.0/Monolith.Bench.dll mail \
    "$ConnectionStrings__Monolith" "$ConnectionStrings__MonolithOwner" "$mails" "$tenants" "$latency_mails"
