#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on loopback for the integration tests and prints the environment
# for them:  eval "$(scripts/start-postgres.sh)"   … tests …   eval "$PG_STOP"
# Installs Debian's `postgresql` package when no server binaries are found and apt-get is allowed
# (root, or INSTALL_POSTGRES=1). Runs the server as the `postgres` user when started as root.
set -euo pipefail
port="${TEST_PG_PORT:-55432}"
# The first free port from there (another run, or a developer's server, may hold it).
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

bindir=""
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/bin /usr/bin; do
  if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then bindir="$dir"; break; fi
done
if [ -z "$bindir" ] && [ "$(id -u)" = 0 ]; then
  echo "--- installing postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -n1)
fi
if [ -z "$bindir" ]; then
  echo "no PostgreSQL server binaries (initdb, pg_ctl) found" >&2
  exit 1
fi

data=$(mktemp -d /tmp/vue-toss-iap-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$data" postgres
  chown postgres "$data"
  as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$bindir/initdb" -D "$data/db" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$data/initdb.log" 2>&1 ||
  { cat "$data/initdb.log" >&2; exit 1; }
# Loopback only, socket in the data directory; fsync off: a test database, thrown away afterwards.
"${as_owner[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $port -k $data -c fsync=off -c max_connections=200" start >&2 ||
  { cat "$data/server.log" >&2; exit 1; }

url="postgres://postgres@127.0.0.1:$port/postgres"
echo "export TEST_PG_URL='$url'"
echo "export DATABASE_URL='$url'"
stop="${as_owner[*]} $bindir/pg_ctl -D $data/db -m fast stop >/dev/null; rm -rf $data"
echo "export PG_STOP='$stop'"
