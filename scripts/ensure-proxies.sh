#!/usr/bin/env bash
# Ensure PgBouncer and HAProxy are installed, for the tests that put them in
# front of a test cluster (internal/pgbouncertest, internal/haproxytest).
#
# Found (pgbouncer and haproxy on PATH or in /usr/sbin): exit 0 silently.
# Missing and root: install Debian's pgbouncer and haproxy. Their own
# services (pgbouncer.service on 6432, haproxy.service) are not configured
# and not used: the tests write their own configuration on free loopback
# ports and run the binaries themselves.
# Missing and not root: explain and exit 1 (the tests then skip, saying so).
set -euo pipefail

have() {
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]
}

missing=()
have pgbouncer || missing+=(pgbouncer)
have haproxy || missing+=(haproxy)
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	cat >&2 <<MSG
ensure-proxies: ${missing[*]} not found; the tests that need them will skip.
Install them as root, for example:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}
MSG
	exit 1
fi

echo "ensure-proxies: installing ${missing[*]} (apt-get install)" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"

for b in "${missing[@]}"; do
	if ! have "$b"; then
		echo "ensure-proxies: $b installed but still not found" >&2
		exit 1
	fi
done
