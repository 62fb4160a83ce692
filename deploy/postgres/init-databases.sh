#!/bin/sh
# First start of the compose PostgreSQL: one database per service, owned by a role of its own, so a
# service can read no other service's tables (DESIGN §2). Kubernetes uses a managed PostgreSQL instead.
set -eu
for service in identity intake referral mla notifications portal; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v role="comitas_$service" -v password="$COMITAS_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
