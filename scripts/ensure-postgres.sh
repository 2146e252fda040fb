#!/usr/bin/env bash
# Ensure PostgreSQL server binaries (postgres, initdb) are installed, for
# internal/pgcluster (integration tests and `unifieddb demo`).
#
# Found (on PATH or in /usr/lib/postgresql/*/bin): exit 0 silently.
# Missing and root: install Debian's postgresql package. Debian's own cluster
# (port 5432) is left as the package sets it up; pgcluster never uses it and
# only takes ports in [15000, 32000).
# Missing and not root: explain and exit 1.
set -euo pipefail

have_server() {
	if command -v postgres >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
		return 0
	fi
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
			return 0
		fi
	done
	return 1
}

if have_server; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	cat >&2 <<'MSG'
ensure-postgres: PostgreSQL server binaries (postgres, initdb) not found on PATH
or in /usr/lib/postgresql/*/bin. Install them as root, for example:
    sudo apt-get update && sudo apt-get install -y postgresql
MSG
	exit 1
fi

echo "ensure-postgres: installing PostgreSQL server (apt-get install postgresql)" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql

if ! have_server; then
	echo "ensure-postgres: postgresql installed but postgres/initdb still not found" >&2
	exit 1
fi
