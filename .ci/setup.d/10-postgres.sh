# PostgreSQL for the storage conformance suite and the end-to-end tests' Postgres half.
#
# Installs Debian's `postgresql` when it is missing, starts the newest installed
# cluster (pg_ctlcluster VERSION main start), creates the role `incidentbot_test` (allowed
# to create databases: each test makes its own) and the database `incidentbot_test`, and
# turns on TLS when the cluster has none, and exports TEST_POSTGRES_URL. Safe to source
# twice.

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
fi

pg_version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q .; then
    pg_createcluster "$pg_version" main
fi
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    pg_ctlcluster "$pg_version" main start
fi
pg_port="$(pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" {print $3}')"

pg_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -c "psql -p $pg_port -v ON_ERROR_STOP=1 -qAt $(printf '%q ' "$@")"
    else
        psql -p "$pg_port" -v ON_ERROR_STOP=1 -qAt "$@"
    fi
}

if [ "$(pg_as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'incidentbot_test'")" != 1 ]; then
    pg_as_postgres -c "CREATE ROLE incidentbot_test LOGIN CREATEDB PASSWORD 'incidentbot_test'"
fi
if [ "$(pg_as_postgres -c "SELECT 1 FROM pg_database WHERE datname = 'incidentbot_test'")" != 1 ]; then
    pg_as_postgres -c "CREATE DATABASE incidentbot_test OWNER incidentbot_test"
fi

# TLS, for the test that `sslmode` is honoured: Debian's cluster serves its snakeoil
# certificate by default; a cluster made without one gets it here.
if [ "$(pg_as_postgres -c "SHOW ssl")" != on ]; then
    if [ ! -f /etc/ssl/private/ssl-cert-snakeoil.key ]; then
        apt_install ssl-cert
        make-ssl-cert generate-default-snakeoil
    fi
    pg_as_postgres -c "ALTER SYSTEM SET ssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'"
    pg_as_postgres -c "ALTER SYSTEM SET ssl_key_file = '/etc/ssl/private/ssl-cert-snakeoil.key'"
    pg_as_postgres -c "ALTER SYSTEM SET ssl = on"
    # The server reads the key as a member of ssl-cert, so it restarts to pick that up.
    usermod -a -G ssl-cert postgres 2>/dev/null || true
    pg_ctlcluster "$pg_version" main restart
fi

# Databases the tests make are named ibt_…; one a failed test left behind goes now.
for leftover in $(pg_as_postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'ibt\_%'"); do
    pg_as_postgres -c "DROP DATABASE IF EXISTS \"$leftover\" WITH (FORCE)"
done

# The server's certificate, self-signed, so the TLS test can verify against it.
TEST_POSTGRES_CA="$(pg_as_postgres -c "SHOW ssl_cert_file")"
case "$TEST_POSTGRES_CA" in /*) ;; *) TEST_POSTGRES_CA="$(pg_as_postgres -c "SHOW data_directory")/$TEST_POSTGRES_CA" ;; esac
export TEST_POSTGRES_CA
export TEST_POSTGRES_URL="postgres://incidentbot_test:incidentbot_test@127.0.0.1:${pg_port}/incidentbot_test"
echo "PostgreSQL ${pg_version} on port ${pg_port}; TEST_POSTGRES_URL is set"
