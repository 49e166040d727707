#!/bin/sh
# run-apache.sh proxy|fcgid - Apache httpd serving fcgichat on
# 127.0.0.1:$PORT in the foreground with conf/apache.conf, as `make
# run-apache` (proxy: mod_proxy_fcgi to a worker this script starts) and
# `make run-fcgid` (fcgid: Apache spawns the workers) do, and the tests.
# WebSockets go to the workers' own sockets in $FCGICHAT_VAR/ws-MODE.
# Environment: PORT (8080), FCGICHAT_ROOT (the tree above this script),
# FCGICHAT_VAR (database, sockets, logs; $ROOT/var), FCGICHAT_BIN
# ($ROOT/cgi-bin/fcgichat.fcgi) and any FCGICHAT_* setting of the worker;
# proxy with FCGICHAT_SOCKET uses the worker already listening there (e.g.
# started by systemd) instead of starting one; FCGICHAT_AUTH_FILE (an
# htpasswd file) puts a Basic login in front (conf/apache-auth.conf).
# Ctrl-C or SIGTERM stops Apache and the worker it started. The database
# must exist (fcgichat.fcgi --init). Changes nothing of the system's Apache.
set -eu

mode=${1:-}
case $mode in
proxy | fcgid) ;;
*) echo "usage: $0 proxy|fcgid" >&2; exit 2 ;;
esac
root=${FCGICHAT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
var=${FCGICHAT_VAR:-$root/var}
bin=${FCGICHAT_BIN:-$root/cgi-bin/fcgichat.fcgi}
export FCGICHAT_ROOT="$root" FCGICHAT_VAR="$var" FCGICHAT_BIN="$bin"
export PORT="${PORT:-8080}"
# The workers' WebSocket sockets, one directory per mode (conf/apache.conf
# names the same), so that lighttpd and both modes may share a var dir.
wsdir="$var/ws-$mode"
mkdir -p -m 0700 "$wsdir"

# Apache serves as root only if rebuilt to allow it. Started as root it
# switches to www-data (or nobody), which must then reach the tree and own
# the var dir; a normal user's Apache and worker stay that user. as_user
# CMD... replaces the (sub)shell with CMD run as that user.
if [ "$(id -u)" -eq 0 ]; then
	user=www-data
	id "$user" >/dev/null 2>&1 || user=nobody
	group=$(id -gn "$user")
	chown -R "$user:$group" "$var"
	for f in "$root/htdocs/index.html" "$bin"; do
		if ! setpriv --reuid="$user" --regid="$group" --clear-groups \
		    test -r "$f"; then
			echo "run-apache: $user cannot read $f; make the tree" \
			    "readable (e.g. chmod o+x on its parent dirs)" >&2
			exit 1
		fi
	done
	as_user() {
		exec setpriv --reuid="$user" --regid="$group" --init-groups "$@"
	}
else
	user=$(id -un)
	group=$(id -gn)
	as_user() { exec "$@"; }
fi
export FCGICHAT_APACHE_USER="$user" FCGICHAT_APACHE_GROUP="$group"

apid=""
wpid=""
spid=""
stop() {
	trap - INT TERM
	for pid in $apid $wpid $spid; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	wait
	exit "${1:-0}"
}
trap 'stop 0' INT TERM

set -- -d "$var" -f "$root/conf/apache.conf" -DFOREGROUND
if [ "$mode" = proxy ] && [ -n "${FCGICHAT_SOCKET:-}" ]; then
	# A worker run by someone else (systemd, the tests) listens there.
	set -- "$@" -C "Define FCGICHAT_SOCKET \"$FCGICHAT_SOCKET\""
elif [ "$mode" = proxy ]; then
	# The worker listens on its own socket; Apache connects per request.
	# WebSocket upgrades come to another one (conf/apache.conf's).
	sock="$var/fcgichat.sock"
	rm -f "$sock"
	(
		export FCGICHAT_DB="$var/chat.db" FCGICHAT_PREFIX=/api \
		    FCGICHAT_WS_SOCKETS="$wsdir/ws-0.sock"
		as_user "$bin" --socket "$sock"
	) &
	wpid=$!
	i=0
	while [ ! -S "$sock" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$wpid" 2>/dev/null; then
			echo "run-apache: the worker did not start" >&2
			stop 1
		fi
		sleep 0.05
	done
else
	# mod_fcgid gives its workers only the environment it is told to:
	# every FCGICHAT_* setting given to this script, and the sanitizers'.
	env | grep -E '^(FCGICHAT_[A-Z_]+|ASAN_OPTIONS|UBSAN_OPTIONS)=' |
	    grep -vE '^FCGICHAT_(ROOT|VAR|BIN|DB|PREFIX|SOCKET|WS_SOCKETS|AUTH_FILE|APACHE_[A-Z]+|FCGID_[A-Z]+)=' |
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	    -e 's/^\([^=]*\)=\(.*\)$/FcgidInitialEnv \1 "\2"/' \
	    > "$var/apache-fcgid-env.conf"
	set -- "$@" -DFCGICHAT_FCGID
	# The process cap (conf/apache-fcgid.conf), if given.
	if [ -n "${FCGICHAT_FCGID_PROCS:-}" ]; then
		set -- "$@" -C "Define FCGICHAT_FCGID_PROCS $FCGICHAT_FCGID_PROCS"
	fi
fi
if [ -n "${FCGICHAT_AUTH_FILE:-}" ]; then
	set -- "$@" -DFCGICHAT_AUTH -C "Define FCGICHAT_AUTH_FILE \"$FCGICHAT_AUTH_FILE\""
fi
/usr/sbin/apache2 "$@" &
apid=$!
# Until Apache or the worker ends (each sleep's wait also reaps them), or
# a signal runs stop.
while kill -0 "$apid" 2>/dev/null &&
    { [ -z "$wpid" ] || kill -0 "$wpid" 2>/dev/null; }; do
	sleep 1 &
	spid=$!
	wait "$spid" || true
done
if [ -n "$wpid" ] && ! kill -0 "$wpid" 2>/dev/null; then
	echo "run-apache: the worker exited; stopping Apache" >&2
else
	echo "run-apache: Apache exited" >&2
fi
stop 1
