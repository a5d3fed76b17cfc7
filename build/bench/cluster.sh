# Sourced by the bench scripts (run from the repository root). bench_cluster WORK_DIR DATABASE starts a throwaway
# PostgreSQL cluster (durable settings) in WORK_DIR/pg and makes DATABASE with its two roles by build/sql/roles.sql,
# as ./build/run.sh makes its own (docs/adr/0005). It sets
#   server  the superuser's connection string to the "postgres" database (local trust, no password);
#   db      the superuser's connection string to DATABASE with Maximum Pool Size=100 (psql, bench tools that tamper);
# and exports for the host and the CLI ConnectionStrings__Monolith (monolith_app, the request role, pool of 100) and
# ConnectionStrings__MonolithOwner (monolith_owner). In Production the host refuses a superuser request role and a
# database password that is missing or shorter than 32 characters: these are neither.
bench_cluster() {
  local work=$1 database=$2 port app_password owner_password
  server=$(bash build/pg-cluster.sh start "$work/pg" 0 | tail -n 1)
  port=$(cat "$work/pg/port")
  app_password=$(head -c 48 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  owner_password=$(head -c 48 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  MONOLITH_OWNER_PASSWORD=$owner_password MONOLITH_APP_PASSWORD=$app_password \
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Xq \
      -v owner_role=monolith_owner -v app_role=monolith_app -v database="$database" -f build/sql/roles.sql >/dev/null
  db="${server/Database=postgres/Database=$database};Maximum Pool Size=100"
  local base="Host=127.0.0.1;Port=$port;Database=$database"
  export ConnectionStrings__Monolith="$base;Username=monolith_app;Password=$app_password;Maximum Pool Size=100"
  export ConnectionStrings__MonolithOwner="$base;Username=monolith_owner;Password=$owner_password"
}
