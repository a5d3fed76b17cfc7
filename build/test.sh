#!/usr/bin/env bash
# Restores, builds with warnings as errors, and runs every test against a real PostgreSQL.
# The database comes from MONOLITH_TEST_DB, else Testcontainers (when a Docker engine answers), else a
# throwaway cluster from the machine's PostgreSQL binaries, which the tests start and remove themselves.
# Extra arguments go to `dotnet test` (e.g. --filter Category=Unit).
# After the tests: the count per category, then line and branch coverage per module (build/coverage-gate.sh). A full
# run (no extra arguments) fails when modules/ overall is under 85% of lines or 75% of branches (override with
# COVERAGE_MIN_LINES / COVERAGE_MIN_BRANCHES); a filtered run prints the figures and never fails on them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && [ -z "${MONOLITH_TEST_DB:-}" ] && [ "$(id -u)" = "0" ]; then
  echo "test.sh: installing the PostgreSQL server binaries (apt-get)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || { echo "test.sh: could not install postgresql; set MONOLITH_TEST_DB instead" >&2; exit 1; }
fi

# The pooler tests run through a real PgBouncer (Debian's package; started by the tests themselves).
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ] && [ "$(id -u)" = "0" ]; then
  echo "test.sh: installing pgbouncer (apt-get)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null) \
    || { echo "test.sh: could not install pgbouncer; the pooler tests will fail" >&2; }
fi

# The run's throwaway clusters, backups and PgBouncer directories go under a temporary folder of its own, removed when the
# run ends: the test process cannot always remove a 700 MB cluster directory itself before it is ended.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/monolith-test-run.XXXXXX")
chmod 1777 "$run_tmp"  # PostgreSQL and PgBouncer run as their own user, as under /tmp
remove_run_tmp() {
  for cluster in "$run_tmp"/monolith-test-pg-*; do
    [ -d "$cluster" ] && bash build/pg-cluster.sh stop "$cluster" >/dev/null 2>&1 || true
  done
  rm -rf "$run_tmp"
}
trap remove_run_tmp EXIT

results=TestResults
rm -rf "$results"
# The pinned dotnet tools (.config/dotnet-tools.json): Kiota generates the API client the journey tests use.
dotnet tool restore
dotnet restore Monolith.sln --nologo -v quiet
dotnet build Monolith.sln -c Release --no-restore --nologo -v quiet -warnaserror
set +e
TMPDIR="$run_tmp" dotnet test tests/Monolith.Tests/Monolith.Tests.csproj -c Release --no-build --nologo \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=minimal" \
  --collect:"XPlat Code Coverage" --results-directory "$results" "$@"
status=$?
set -e

bash build/test-summary.sh "$results" || true
gate=()
[ $# -eq 0 ] && gate=(--enforce)
coverage=0
bash build/coverage-gate.sh "$results" "${gate[@]}" || coverage=$?
[ "$status" -ne 0 ] && exit "$status"
exit "$coverage"
