#!/bin/sh
# run-pg.sh - what `make run-pg` runs: a throwaway PostgreSQL cluster in a
# temporary directory (tests/pg/cluster.sh; as root it runs as the
# postgres user) and two lighttpd "hosts" on 127.0.0.1:$PORT and
# $PORT+1, each with its own workers, sharing only the database: a
# browser on one and a browser on the other chat at once. Ctrl-C stops
# the hosts, their workers and the cluster, and removes the directory.
# Needs FCGICHAT_ROOT, FCGICHAT_BIN and PORT (the Makefile sets them);
# PORT2 puts host b elsewhere, PG_SERVER_OPTS are settings for the
# cluster ("-c synchronous_commit=off"; the benchmark uses both).
set -eu
: "${FCGICHAT_ROOT:?}" "${FCGICHAT_BIN:?}" "${PORT:?}"
procs=${FCGICHAT_PROCS:-2}
port2=${PORT2:-$((PORT + 1))}
tmp=$(mktemp -d /tmp/fcgichat-run-pg.XXXXXX)
chmod 755 "$tmp"
pids=
stop() {
	trap - INT TERM EXIT
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	sh "$FCGICHAT_ROOT/tests/pg/cluster.sh" stop "$tmp/pg" || true
	rm -rf "$tmp"
}
trap stop INT TERM EXIT

# shellcheck disable=SC2086 # settings, split on purpose
base=$(sh "$FCGICHAT_ROOT/tests/pg/cluster.sh" start "$tmp/pg" ${PG_SERVER_OPTS:-})
psql -Xq -d "$base" -c 'CREATE DATABASE fcgichat'
db=$(sh "$FCGICHAT_ROOT/tests/pg/cluster.sh" uri "$tmp/pg" fcgichat)
FCGICHAT_DB=$db "$FCGICHAT_BIN" --init

# Each host's lighttpd gets a process group of its own (setsid): with
# server.max-worker it signals its whole group when it stops, which would
# otherwise end this script before it stopped the cluster.
# lighttpd hands its workers the database file of conf/lighttpd.conf: each
# host runs them through a wrapper naming the shared database instead
# (a real host writes the URI in its bin-environment: conf/DEPLOYING.md).
for host in a b; do
	mkdir -m 0700 "$tmp/$host"
	cat > "$tmp/$host/worker.sh" <<EOW
#!/bin/sh
FCGICHAT_DB='$db' FCGICHAT_STATE='$tmp/$host/chat' exec '$FCGICHAT_BIN' "\$@"
EOW
	chmod 755 "$tmp/$host/worker.sh"
done
for host in a b; do
	port=$PORT
	[ $host = a ] || port=$port2
	FCGICHAT_VAR=$tmp/$host FCGICHAT_BIN=$tmp/$host/worker.sh \
		FCGICHAT_PROCS=$procs PORT=$port \
		setsid /usr/sbin/lighttpd -D -f "$FCGICHAT_ROOT/conf/lighttpd.conf" &
	pids="$pids $!"
	echo "fcgichat host $host: http://127.0.0.1:$port/"
done
echo "database: psql '$db'  (Ctrl-C stops all)"
wait
