#!/usr/bin/env bash
# docker compose: run once by the postgres image on a new data volume (/docker-entrypoint-initdb.d) to make the
# database "monolith" and its two roles with build/sql/roles.sql (docs/adr/0005).
set -euo pipefail
psql -X -q -U "$POSTGRES_USER" -d postgres \
  -v owner_role=monolith_owner -v app_role=monolith_app -v database=monolith -f /monolith/roles.sql
