# Shared by build/run.sh and build/monolith.sh (sourced, not run).
# Everything here talks on stderr, so a caller's stdout stays what the caller prints.
# The embedded database lives in .data/postgres; its superuser password and the generated secrets live in
# .data/ with mode 600. Nothing here stops a PostgreSQL server it did not start.

MONOLITH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MONOLITH_DATA="$MONOLITH_ROOT/.data"
MONOLITH_PG_DIR="$MONOLITH_DATA/postgres"
MONOLITH_PG_PASSWORD_FILE="$MONOLITH_DATA/postgres-password"
MONOLITH_DATABASE=monolith
MONOLITH_CLI_DLL="$MONOLITH_ROOT/cli/bin/Release/net10.0/Monolith.Cli.dll"
MONOLITH_HOST_DIR="$MONOLITH_ROOT/host/bin/Release/net10.0"

# Set by monolith_db_start: 1 when this process started the embedded cluster (so it must stop it).
MONOLITH_STARTED_DB=0

say() { echo "${MONOLITH_SCRIPT:-monolith}: $*" >&2; }
die() { say "$*"; exit 1; }

monolith_data_dir() {
  # 0755, not 0700: as root the cluster runs as the postgres user, who must reach .data/postgres.
  # The secrets inside are files of mode 0600.
  mkdir -p "$MONOLITH_DATA"
  chmod 755 "$MONOLITH_DATA"
}

# A random secret of 48 URL-safe characters.
monolith_random_secret() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -base64 48 | tr -d '\n=+/' | cut -c1-48
  else
    head -c 64 /dev/urandom | base64 | tr -d '\n=+/' | cut -c1-48
  fi
}

# monolith_secret_file FILE: prints the secret kept in FILE, creating it (mode 600) when missing.
monolith_secret_file() {
  local file=$1 value
  monolith_data_dir
  if [ ! -s "$file" ]; then
    value=$(monolith_random_secret)
    [ "${#value}" -ge 32 ] || die "could not generate a random secret"
    (umask 077 && printf '%s\n' "$value" >"$file.tmp") && mv "$file.tmp" "$file"
  fi
  chmod 600 "$file"
  head -n 1 "$file"
}

# monolith_secret VAR FILE: exports VAR from the environment when set (used as given), else from FILE
# (generated once). Sets MONOLITH_GENERATED_<VAR>=1 when the value came from .data/.
monolith_secret() {
  local var=$1 file=$2
  if [ -n "${!var:-}" ]; then
    export "$var"
    return
  fi
  local value
  value=$(monolith_secret_file "$file")
  export "$var=$value"
  printf -v "MONOLITH_FROM_FILE_${var}" '%s' 1
}

monolith_pg_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return 0; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return 0; fi
  return 1
}

# Installs the PostgreSQL server binaries with apt-get when they are missing and we are root.
monolith_ensure_pg_binaries() {
  monolith_pg_bindir >/dev/null && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing the PostgreSQL server binaries (apt-get install postgresql)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 \
      || die "could not install postgresql; install it yourself or set ConnectionStrings__Monolith"
    monolith_pg_bindir >/dev/null || die "postgresql was installed but pg_ctl is not to be found; set PG_BINDIR"
    return 0
  fi
  die "no PostgreSQL server binaries found: install the postgresql package (or set PG_BINDIR), or set ConnectionStrings__Monolith"
}

# True when the embedded cluster's postmaster is alive.
monolith_db_running() {
  local pidfile="$MONOLITH_PG_DIR/data/postmaster.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Exports ConnectionStrings__Monolith (the request role) and ConnectionStrings__MonolithOwner (the owner role).
# When ConnectionStrings__Monolith is already set, both are used as given and nothing is started.
# Otherwise the embedded cluster in .data/postgres is started (unless it runs already), and build/sql/roles.sql makes
# (or adopts) the database "monolith" with its two roles: monolith_owner and monolith_app, their passwords generated
# once into .data/ (docs/adr/0005).
monolith_db_start() {
  if [ -n "${ConnectionStrings__Monolith:-}" ]; then
    export ConnectionStrings__Monolith
    [ -n "${ConnectionStrings__MonolithOwner:-}" ] && export ConnectionStrings__MonolithOwner
    return 0
  fi
  monolith_ensure_pg_binaries
  monolith_data_dir
  local password owner_password app_password base bindir port
  password=$(monolith_secret_file "$MONOLITH_PG_PASSWORD_FILE")
  owner_password=$(monolith_secret_file "$MONOLITH_DATA/owner-password")
  app_password=$(monolith_secret_file "$MONOLITH_DATA/app-password")
  if monolith_db_running; then
    say "using the embedded PostgreSQL already running in .data/postgres"
  else
    say "starting the embedded PostgreSQL in .data/postgres"
    MONOLITH_STARTED_DB=1
  fi
  # Idempotent: initdb on the first run, start when stopped, and print the connection string.
  base=$("$MONOLITH_ROOT/build/pg-cluster.sh" start "$MONOLITH_PG_DIR" 0 "$MONOLITH_PG_PASSWORD_FILE") \
    || die "the embedded PostgreSQL did not start (log: .data/postgres/server.log)"
  bindir=$(monolith_pg_bindir)
  port=$(cat "$MONOLITH_PG_DIR/port")
  PGPASSWORD=$password PGCONNECT_TIMEOUT=10 MONOLITH_OWNER_PASSWORD=$owner_password MONOLITH_APP_PASSWORD=$app_password \
    "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Xq \
      -v owner_role=monolith_owner -v app_role=monolith_app -v database="$MONOLITH_DATABASE" \
      -f "$MONOLITH_ROOT/build/sql/roles.sql" >/dev/null \
    || die "could not prepare the database '$MONOLITH_DATABASE' and its roles in the embedded PostgreSQL"
  base="Host=127.0.0.1;Port=$port;Database=$MONOLITH_DATABASE"
  export ConnectionStrings__Monolith="$base;Username=monolith_app;Password=$app_password"
  export ConnectionStrings__MonolithOwner="$base;Username=monolith_owner;Password=$owner_password"
}

# Stops the embedded cluster, but only when this process started it.
monolith_db_stop() {
  if [ "$MONOLITH_STARTED_DB" = "1" ]; then
    MONOLITH_STARTED_DB=0
    say "stopping the embedded PostgreSQL"
    "$MONOLITH_ROOT/build/pg-cluster.sh" stop "$MONOLITH_PG_DIR" || true
  fi
}

# True when FILE (the CLI's assembly) is missing or older than any source the CLI compiles from.
monolith_stale() {
  local file=$1
  [ -f "$file" ] || return 0
  [ -n "$(find "$MONOLITH_ROOT/cli" "$MONOLITH_ROOT/modules" "$MONOLITH_ROOT/migrations" \
      \( -name bin -o -name obj \) -prune -o \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.sql' -o -name '*.json' \) -newer "$file" -print 2>/dev/null | head -n 1)" ] && return 0
  [ -n "$(find "$MONOLITH_ROOT" -maxdepth 1 -name 'Directory.*.props' -newer "$file" -print | head -n 1)" ]
}

# monolith_build PROJECT: a quiet Release build; its output is shown only when it fails.
monolith_build() {
  local project=$1 log
  log=$(mktemp)
  if ! dotnet build "$MONOLITH_ROOT/$project" -c Release --nologo -v quiet >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "$project did not build"
  fi
  rm -f "$log"
}

monolith_require_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is not on PATH; install the .NET 10 SDK"
}
