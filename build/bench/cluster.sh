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
  bench_roles "$work" "$database" "$owner_password" "$app_password"
  db="${server/Database=postgres/Database=$database};Maximum Pool Size=100"
  local base="Host=127.0.0.1;Port=$port;Database=$database"
  export ConnectionStrings__Monolith="$base;Username=monolith_app;Password=$app_password;Maximum Pool Size=100"
  export ConnectionStrings__MonolithOwner="$base;Username=monolith_owner;Password=$owner_password"
}

# bench_roles WORK_DIR DATABASE OWNER_PASSWORD APP_PASSWORD: build/sql/roles.sql on the cluster in WORK_DIR/pg (idempotent:
# again on a kept cluster, it gives the roles what the code at hand expects).
bench_roles() {
  MONOLITH_OWNER_PASSWORD=$3 MONOLITH_APP_PASSWORD=$4 \
    psql -h 127.0.0.1 -p "$(cat "$1/pg/port")" -U postgres -d postgres -Xq \
      -v owner_role=monolith_owner -v app_role=monolith_app -v database="$2" -f build/sql/roles.sql >/dev/null
}
