#!/usr/bin/env bash
# Builds Monolith (Release), starts its database, applies the migrations and serves the API on
# http://127.0.0.1:5080 (or --port N). Ctrl-C stops the host and the database it started.
#
# With ConnectionStrings__Monolith unset it runs on an embedded PostgreSQL in .data/postgres, started from
# the machine's PostgreSQL binaries (as the postgres user when run as root; installed with apt-get when
# missing and run as root), kept between runs. Platform__ApiKey and Auth__SigningKey are used as given when
# set in the environment; otherwise they are generated once into .data/ (mode 600). On the first run against
# a database it provisions the tenant "demo" and prints its owner's credentials, the platform key and the
# docs URL once, here on the terminal (never in the application log).
set -euo pipefail
MONOLITH_SCRIPT=run.sh
# shellcheck source=build/common.sh
. "$(dirname "$0")/common.sh"

usage() {
  cat <<USAGE
usage: ./build/run.sh [--port N]
  --port N   serve on http://127.0.0.1:N (default 5080)
Environment (all optional): ConnectionStrings__Monolith, Platform__ApiKey, Auth__SigningKey,
ASPNETCORE_ENVIRONMENT (default Development); see README.md.
USAGE
}

port=5080
while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || { usage >&2; exit 2; }; port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) say "unknown argument '$1'"; usage >&2; exit 2 ;;
  esac
done
case "$port" in
  ''|*[!0-9]*) say "--port must be a number from 1 to 65535"; exit 2 ;;
esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { say "--port must be a number from 1 to 65535"; exit 2; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "port $port is in use; stop what holds it or pick another with --port N"
fi

cd "$MONOLITH_ROOT"
monolith_require_dotnet
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

say "building (Release)"
monolith_build host/Monolith.Host.csproj
monolith_build cli/Monolith.Cli.csproj

host_pid=""
credentials=""
cleanup() {
  trap - INT TERM EXIT
  # Stopped before the credentials were shown: show them now, they exist nowhere else.
  [ -n "$credentials" ] && print_first_run
  if [ -n "$host_pid" ] && kill -0 "$host_pid" 2>/dev/null; then
    say "stopping the host"
    kill -TERM "$host_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$host_pid" 2>/dev/null && kill -KILL "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
  fi
  monolith_db_stop
}
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

monolith_db_start
monolith_secret Platform__ApiKey "$MONOLITH_DATA/platform-api-key"
monolith_secret Auth__SigningKey "$MONOLITH_DATA/auth-signing-key"
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Development}

cli() { dotnet "$MONOLITH_CLI_DLL" "$@"; }

say "applying migrations"
cli migrate >&2 || die "the migrations failed (see above); fix the cause and run again: applied scripts are not re-run"

print_first_run() {
  local email password key
  email=$(printf '%s\n' "$credentials" | sed -n 1p)
  password=$(printf '%s\n' "$credentials" | sed -n 2p)
  if [ "${MONOLITH_FROM_FILE_Platform__ApiKey:-}" = "1" ]; then key=$Platform__ApiKey; else key="(the Platform__ApiKey of your environment)"; fi
  cat <<BOX

==========================================================================================
 Monolith — first run. Shown once: write these down.
   tenant          demo            (send  X-Tenant: demo)
   owner e-mail    $email
   owner password  ${password:-(none: the owner account arrives with the Access module)}
   platform key    $key
                   (send  X-Platform-Key: <key>  to /platform/*; kept in .data/platform-api-key)
   API docs        http://127.0.0.1:$port/docs
==========================================================================================

BOX
}

# First run against this database: provision "demo". The marker is per database (host, port and database of
# the connection string; never its password), so pointing run.sh at another database provisions demo there too.
db_key=$(printf '%s' "$ConnectionStrings__Monolith" | tr ';' '\n' | grep -iv '^password=' | sort | sha256sum | cut -c1-16)
marker="$MONOLITH_DATA/demo-provisioned-$db_key"
if [ ! -f "$marker" ]; then
  # A stop asked for while the tenant is being made waits until its credentials are known, so they are shown.
  stop_signal=""
  trap 'stop_signal=130' INT
  trap 'stop_signal=143' TERM
  if cli tenants show demo --json >/dev/null 2>&1; then
    say "tenant demo exists already in this database; not provisioning it again"
  else
    say "first run: provisioning tenant demo"
    created=$(cli tenants create demo --name Demo --owner-email owner@demo.local --json) \
      || die "provisioning the tenant demo failed (see above); nothing was left behind, run again to retry"
    credentials=$(printf '%s' "$created" | python3 -c '
import json, sys
body = json.load(sys.stdin)
owner = body.get("owner") or {}
print(owner.get("email") or "owner@demo.local")
print(owner.get("password") or "")
' 2>/dev/null || printf 'owner@demo.local\n\n')
  fi
  touch "$marker"
  trap 'cleanup; exit 130' INT
  trap 'cleanup; exit 143' TERM
  if [ -n "$stop_signal" ]; then cleanup; exit "$stop_signal"; fi
fi

say "serving http://127.0.0.1:$port (Ctrl-C stops it)"
export ASPNETCORE_URLS="http://127.0.0.1:$port"
export Backups__Directory="${Backups__Directory:-$PWD/.data/backups}"
# Mail to read on this machine: one .eml file per mail in .data/mail, unless an SMTP relay or a directory of your own is set.
if [ -z "${Mail__Smtp__Host:-}" ] && [ -z "${Mail__PickupDirectory:-}" ]; then
  export Mail__PickupDirectory="$PWD/.data/mail"
fi
# The content root is the build output, where appsettings.json is.
(cd "$MONOLITH_HOST_DIR" && exec dotnet Monolith.Host.dll) &
host_pid=$!

if [ -n "$credentials" ]; then
  ready=""
  for _ in $(seq 1 300); do
    kill -0 "$host_pid" 2>/dev/null || break
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then ready=1; break; fi
    sleep 0.2
  done
  print_first_run
  credentials=""
  [ -n "$ready" ] || say "the host did not answer /health/ready; see its log above"
fi

set +e
wait "$host_pid"
status=$?
set -e
host_pid=""
say "the host exited (status $status)"
exit "$status"
