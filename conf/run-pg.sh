#!/bin/sh
# run-pg.sh - what `make run-pg` runs: a throwaway PostgreSQL cluster in a
# temporary directory (tests/pg/cluster.sh; as root it runs as the
# postgres user) and two lighttpd "hosts" on 127.0.0.1:$PORT and
# $PORT+1, each with its own workers, sharing only the database: a
# browser on one and a browser on the other chat at once. Ctrl-C stops
# the hosts, their workers and the cluster, and removes the directory.
# Needs FCGICHAT_ROOT, FCGICHAT_BIN and PORT (the Makefile sets them).
set -eu
: "${FCGICHAT_ROOT:?}" "${FCGICHAT_BIN:?}" "${PORT:?}"
procs=${FCGICHAT_PROCS:-2}
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

base=$(sh "$FCGICHAT_ROOT/tests/pg/cluster.sh" start "$tmp/pg")
psql -Xq -d "$base" -c 'CREATE DATABASE fcgichat'
db=$(sh "$FCGICHAT_ROOT/tests/pg/cluster.sh" uri "$tmp/pg" fcgichat)
FCGICHAT_DB=$db "$FCGICHAT_BIN" --init

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
port=$PORT
for host in a b; do
	FCGICHAT_VAR=$tmp/$host FCGICHAT_BIN=$tmp/$host/worker.sh \
		FCGICHAT_PROCS=$procs PORT=$port \
		/usr/sbin/lighttpd -D -f "$FCGICHAT_ROOT/conf/lighttpd.conf" &
	pids="$pids $!"
	echo "fcgichat host $host: http://127.0.0.1:$port/"
	port=$((port + 1))
done
echo "database: psql '$db'  (Ctrl-C stops all)"
wait
