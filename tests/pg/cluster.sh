#!/bin/sh
# cluster.sh start DIR [OPTIONS] | stop DIR | uri DIR [DBNAME] - a
# throwaway PostgreSQL cluster in DIR (Debian's postgresql, no systemd):
# initdb with trust authentication, listening only on a unix socket in DIR
# (no TCP port to collide with other runs). As root, the cluster runs as
# the postgres user (initdb refuses root). `start` prints the base URI;
# OPTIONS are extra server settings (e.g. "-c fsync=off" for tests).
# Used by `make run-pg`, tests/lib/pg.mjs and the benchmark.
set -eu
cmd=$1 dir=$2
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bindir" ] || { echo "cluster.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
uri() {
	echo "postgresql://postgres@/${1:-postgres}?host=$dir"
}
case $cmd in
start)
	shift 2
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$dir/data" -A trust -U postgres \
			-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	# max_connections: every worker holds one per accept thread plus
	# the watcher's two; the tests run a few hosts at once.
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-k $dir -h '' -c max_connections=300 $*" start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; exit 1; }
	uri
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
restart)
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w restart >/dev/null
	;;
uri)
	uri "${3:-}"
	;;
*)
	echo "usage: cluster.sh start|stop|restart|uri DIR" >&2; exit 2
	;;
esac
