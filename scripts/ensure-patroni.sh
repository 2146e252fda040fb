#!/usr/bin/env bash
# Ensure Patroni and its built-in Raft DCS (python3-pysyncobj) are installed,
# for internal/patronitest (`make test-patroni`). With pysyncobj Patroni needs
# no etcd: the three Patroni processes of a test cluster keep their own Raft.
#
# Found (patroni and patronictl on PATH, pysyncobj importable): exit 0 silently.
# Missing and root: install Debian's patroni and python3-pysyncobj. The
# package's own service (patroni.service, /etc/patroni) is not configured
# and not used: patronitest writes its own configuration on free ports.
# Missing and not root: explain and exit 1.
set -euo pipefail

# pysyncobj is checked with the interpreter of patroni's own #! line: the
# python3 first on PATH may be another one (pyenv, a virtualenv) that lacks
# Debian's modules.
have_patroni() {
	local bin interp
	bin="$(command -v patroni 2>/dev/null)" || return 1
	command -v patronictl >/dev/null 2>&1 || return 1
	interp="$(head -n 1 "$bin" | sed -n 's/^#![[:space:]]*//p')"
	[ -n "$interp" ] || return 1
	# shellcheck disable=SC2086 # "/usr/bin/env python3" must split
	$interp -c 'import pysyncobj' >/dev/null 2>&1
}

if have_patroni; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	cat >&2 <<'MSG'
ensure-patroni: patroni, patronictl or the Python module pysyncobj not found.
Install them as root, for example:
    sudo apt-get update && sudo apt-get install -y patroni python3-pysyncobj
MSG
	exit 1
fi

echo "ensure-patroni: installing Patroni (apt-get install patroni python3-pysyncobj)" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y patroni python3-pysyncobj

if ! have_patroni; then
	echo "ensure-patroni: patroni installed but patroni, patronictl or pysyncobj still not found" >&2
	exit 1
fi
