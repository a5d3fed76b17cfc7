#!/usr/bin/env bash
# The command-line interface (CONTRACT §7) against the database ./build/run.sh uses, or against
# ConnectionStrings__Monolith when it is set. Examples:
#   ./build/monolith.sh tenants list --json
#   ./build/monolith.sh tenants create acme --name "Acme" --owner-email boss@acme.test --json
#   ./build/monolith.sh migrate --parallel 4
# Builds the CLI when it is missing or older than its sources. Starts the embedded PostgreSQL when it is
# not running, and stops it again afterwards (only if it started it). The CLI's stdout, stderr and exit
# code pass through untouched: everything this script says itself goes to stderr.
set -euo pipefail
MONOLITH_SCRIPT=monolith.sh
# shellcheck source=build/common.sh
. "$(dirname "$0")/common.sh"

monolith_require_dotnet
if monolith_stale "$MONOLITH_CLI_DLL"; then
  say "building the CLI (Release)"
  monolith_build cli/Monolith.Cli.csproj
  touch "$MONOLITH_CLI_DLL"  # an up-to-date build leaves it as it was; mark it checked
fi

monolith_db_start
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

if [ "$MONOLITH_STARTED_DB" != "1" ]; then
  exec dotnet "$MONOLITH_CLI_DLL" "$@"
fi

# We started the cluster: run the CLI as a child, then stop the cluster and pass its exit code on.
trap 'monolith_db_stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
set +e
dotnet "$MONOLITH_CLI_DLL" "$@"
status=$?
set -e
exit $status
