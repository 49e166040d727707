#!/bin/sh
# deps.sh - installs the Debian packages named on the command line that are
# missing (apt-get update once, then apt-get install -y), or with --npm the
# browser-test driver and the WebSocket client from tests/package.json. Not root: prints the command.
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--npm" ]; then
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1
	then
		set -- nodejs npm
	else
		[ -d tests/node_modules/playwright-core ] &&
			[ -d tests/node_modules/ws ] && exit 0
		echo "deps: npm ci (playwright-core, ws; no browser download)"
		cd tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci \
			--no-audit --no-fund --loglevel=error
		exit 0
	fi
fi

missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing"
	echo "deps: run as root:  apt-get update && apt-get install -y$missing"
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
