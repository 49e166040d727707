#!/bin/sh
# run.sh - fcgichat's benchmark driver: starts the servers, runs
# tests/bench/loadgen against them and keeps what it prints; stats.py makes
# the report of it and plot.py the plot.
#   make bench          ->  sh tests/bench/run.sh            (~6 min, 2 cores)
#   make bench-compare  ->  sh tests/bench/run.sh --compare  (~10 min)
#   sh tests/bench/run.sh --quick [--compare]   N = 100, 1000, one run each
#   BENCH_ONLY='fanout nchan ws, fanout fcgichat' sh tests/bench/run.sh --compare
#   BENCH_BIN=/path/to/fcgichat.fcgi sh tests/bench/run.sh   another build
#       (an older commit's, to compare; default cgi-bin/fcgichat.fcgi)
#       only the rows of RUN_TABLE that start with those words (a comma
#       between choices)
#
# What it measures (each figure is the median of BENCH_REPEAT=3 runs; the
# servers are measured in turns, run by run, so they see the same load):
#  fan-out  N clients wait in one room (long-poll `?since=&wait=30`, then
#           Server-Sent Events, then WebSocket), N = 100, 1000, 5000, 10000
#           (BENCH_SIZES);
#           one sender posts BENCH_MESSAGES=20 messages one at a time, each
#           after every client got the previous one (plus a 200 ms gap in
#           which long-pollers ask again). Reported: latency from send to
#           each client's receipt (p50/p90/p99/max), deliveries per second
#           while a message fans out, and a check that every client got
#           every message exactly once, in order, with no HTTP error, reset
#           or timeout. Plot: p99 against N (fanout.svg). A server that
#           answers the WebSocket handshake with 404 or 426 has none (yet):
#           its WebSocket runs are skipped, and the report says so.
#  send     BENCH_CLIENTS=16 keep-alive clients posting for BENCH_SECONDS=5 s:
#           committed messages/s (2xx answers) and their latency.
#           "store" is the store alone (tests/bench/store_floor.c: what a
#           send asks of the store -- the room's access check and the group
#           commit -- with fcgichat's processes and threads, no HTTP): with
#           the HTTP floor it shows which of the two bounds the sends.
#  pg       fcgichat on PostgreSQL (conf/run-pg.sh: a throwaway cluster and
#           two lighttpd hosts sharing its database): fan-out with the
#           waiters on one host and the sender on the other (every delivery
#           crosses hosts by LISTEN/NOTIFY), and send through one host.
#           BENCH_PG_OPTS: the cluster's settings (default: PostgreSQL's,
#           every commit flushed to disk).
#  poll     16 keep-alive clients reading the newest 20 messages of a room.
#  floor    the same send and poll against tests/bench/floor.c, a libfcgi
#           responder that answers a fixed JSON body, behind lighttpd with
#           fcgichat's settings: what lighttpd + FastCGI cost by themselves
#           (fcgichat/floor ratio); "static" is lighttpd serving index.html.
#           The same fan-out against tests/bench/fanout_floor.c behind that
#           lighttpd: one epoll process that parks long-polls, streams and
#           WebSockets in memory and answers them all at once, no database
#           (fan-out p99 fcgichat/floor).
#  idle     BENCH_IDLE_CLIENTS=5000 clients parked for BENCH_IDLE_SECONDS=8 s
#           on a freshly started server: memory (PSS of the server and its
#           workers, growth per waiting client) and CPU used while waiting.
#  --compare  the same fan-out, send and idle runs against nginx + Nchan
#           (tests/bench/nchan.conf, same URLs; fcgichat/Nchan ratios), and
#           nginx answering a fixed body (Nchan's floor).
# Every fan-out, send and poll run also records the CPU time its server
# spent (server_cpu_s: the front end, its workers and, for pg, the
# database), so the report gives each server's CPU per delivery or request.
# Output: tests/output/bench/results.jsonl (one JSON line per run, as
# printed by loadgen, and last a "run" line: settings, machine, what ran),
# results.md (tables, by stats.py), fanout.svg + fanout.dat (plot.py).
# What runs is the table RUN_TABLE below: a new kind of run is one line
# there, a new server one line in SERVER_TABLE and its start_ function.
#
# fcgichat runs with conf/lighttpd.conf as shipped, except that its
# per-address limits are lifted (FCGICHAT_SEND_RATE=0, FCGICHAT_MAX_WAITING=0,
# both overridable from the environment): every load client here comes from
# 127.0.0.1, and the benchmark measures capacity, not the limiter.
#
# Everything runs on 127.0.0.1, on free ports, in a temporary directory;
# the servers started here are stopped by their PIDs on exit. Every load
# run is bounded by loadgen's own deadline and by timeout(1). A front end
# needs file descriptors per waiting client (lighttpd: 2, nginx: 1), spread
# over its processes, each with the hard RLIMIT_NOFILE (`ulimit -Hn`) as
# its own limit (SERVER_TABLE); sizes that do not fit are skipped and
# reported as such. The machine's cores and load are in the report: the
# figures are only comparable between runs on a quiet machine.
set -eu
# Table fields and settings are split into words, never taken as file names.
set -f

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

COMPARE=0
QUICK=0
for a in "$@"; do
	case $a in
	--compare) COMPARE=1 ;;
	--quick) QUICK=1 ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) echo "run.sh: unknown option $a (--compare, --quick)" >&2; exit 2 ;;
	esac
done

if [ "$QUICK" = 1 ]; then
	REPEAT=${BENCH_REPEAT:-1}
	SIZES=${BENCH_SIZES:-100 1000}
else
	REPEAT=${BENCH_REPEAT:-3}
	SIZES=${BENCH_SIZES:-100 1000 5000 10000}
fi
MESSAGES=${BENCH_MESSAGES:-20}
SECONDS_LOOP=${BENCH_SECONDS:-5}
CLIENTS=${BENCH_CLIENTS:-16}
IDLE_N=${BENCH_IDLE_CLIENTS:-5000}
IDLE_S=${BENCH_IDLE_SECONDS:-8}
PROCS=${BENCH_PROCS:-2}
for v in $SIZES "$REPEAT" "$MESSAGES" "$SECONDS_LOOP" "$CLIENTS" "$IDLE_N" \
	"$IDLE_S" "$PROCS"; do
	# They go into JSON as numbers, and into sh arithmetic.
	case $v in '' | *[!0-9]* | 0?*)
		echo "run.sh: BENCH_* settings are whole numbers, not '$v'" >&2
		exit 2 ;;
	esac
done

# ---------------------------------------------------------------- tables

# The servers: name (start_NAME starts it, about_NAME prints what the report
# says of its software), descriptors its front end needs per waiting client
# (lighttpd: 2, nginx: 1), its front end's processes, each with its own
# descriptor limit (lighttpd's server.max-worker, nginx's worker_processes),
# and when it runs: always, or with the option (compare: --compare).
# fanfloor is the fan-out floor (fanout_floor.c); its rows are labelled
# floor, like the send and poll floor's.
SERVER_TABLE='
fcgichat  2  2  always
pg        2  2  always
floor     2  2  always
fanfloor  2  2  always
store     0  0  always
nchan     1  2  compare
'

# The runs, in the order they take turns: loadgen scenario, server,
# transport ("-": none), label (the server's name in the results; "-": the
# server's) and loadgen options of the run's own. fanout_all, loops_all and
# idle_all add the options every run of their scenario gets (clients,
# messages, seconds); stats.py reports the rows run.sh ran, in this order,
# and plot.py draws one line per fan-out row.
RUN_TABLE="
fanout  fcgichat  longpoll  -       -
fanout  fcgichat  sse       -       -
fanout  fcgichat  ws        -       -
fanout  pg        longpoll  -       -
fanout  pg        sse       -       -
fanout  pg        ws        -       -
fanout  fanfloor  longpoll  floor   -
fanout  fanfloor  sse       floor   -
fanout  fanfloor  ws        floor   -
fanout  nchan     longpoll  -       --nchan
fanout  nchan     sse       -       --nchan
fanout  nchan     ws        -       --nchan
send    fcgichat  -         -       --room send-$$
send    pg        -         -       --room send-$$
send    floor     -         -       --room send-$$
send    store     -         -       -
send    nchan     -         -       --room send-$$
poll    fcgichat  -         -       --path /api/rooms/send-$$/messages?limit=20
poll    floor     -         -       --path /api/rooms/send-$$/messages?limit=20
poll    fcgichat  -         static  --path /
poll    nchan     -         nginx   --path /api/floor
idle    fcgichat  longpoll  -       -
idle    fcgichat  sse       -       -
idle    nchan     longpoll  -       --nchan
idle    nchan     sse       -       --nchan
"
# BENCH_ONLY: the rows that start with the words of one of its choices.
if [ -n "${BENCH_ONLY:-}" ]; then
	RUN_TABLE=$(echo "$RUN_TABLE" | awk -v only="$BENCH_ONLY" '
		function starts(c,   w, n, i) {
			n = split(c, w, " ")
			for (i = 1; i <= n; i++) if ($i != w[i]) return 0
			return n > 0
		}
		BEGIN { nc = split(only, choice, ",") }
		NF { for (c = 1; c <= nc; c++) if (starts(choice[c])) { print; next } }')
	[ -n "$RUN_TABLE" ] || {
		echo "run.sh: no row of RUN_TABLE starts with '$BENCH_ONLY'" >&2
		exit 2
	}
fi

OUT=$ROOT/tests/output/bench
BUILD=$ROOT/build/bench
LG=$BUILD/loadgen
RAW=$OUT/results.jsonl
# shellcheck disable=SC3045 # dash and bash both have ulimit -H
FDMAX=$(ulimit -Hn)
T_START=$(date +%s)

TMP=$(mktemp -d /tmp/fcgichat-bench.XXXXXX)
PIDS=""

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*" >&2; }

# Stops one server started here, then any of its workers still running.
# lighttpd runs in a process group of its own (setsid): with
# server.max-worker it signals its whole group when it stops.
stop_pid() {
	p=$1
	PIDS=$(echo " $PIDS " | sed "s/ $p / /g")
	kill -0 "$p" 2>/dev/null || return 0
	kids=$(ps -o pid= --ppid "$p" 2>/dev/null || true)
	kill -TERM "$p" 2>/dev/null || true
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	for k in $kids; do
		kill -TERM "$k" 2>/dev/null || true
	done
}

cleanup() {
	for p in $PIDS; do
		stop_pid "$p"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

deps() {
	pk="gcc libc6-dev libfcgi-dev nettle-dev lighttpd gnuplot-nox procps python3"
	server_runs pg && pk="$pk postgresql"
	[ "$COMPARE" = 1 ] && pk="$pk nginx libnginx-mod-nchan"
	# shellcheck disable=SC2086
	sh tests/deps.sh $pk
}

build() {
	mkdir -p "$BUILD" "$OUT"
	cflags="-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror"
	# shellcheck disable=SC2086
	cc $cflags -o "$LG" tests/bench/loadgen.c tests/bench/http_parse.c \
		tests/bench/ws_client.c -lnettle
	# shellcheck disable=SC2086
	cc $cflags -o "$BUILD/floor.fcgi" tests/bench/floor.c -lfcgi -lpthread
	# shellcheck disable=SC2086
	cc $cflags -o "$BUILD/fanout_floor.fcgi" tests/bench/fanout_floor.c \
		tests/bench/ws_client.c tests/bench/http_parse.c -lnettle
	# The store floor links the store itself: fcgichat's library as built.
	make --no-print-directory build/libchat.a >/dev/null
	# shellcheck disable=SC2086
	cc $cflags -Isrc -Ibuild -I/usr/include/postgresql \
		-o "$BUILD/store_floor" tests/bench/store_floor.c build/libchat.a \
		-lfcgi -lsqlite3 -lpq -lcjson -lnettle -lpthread
	"$LG" selftest >/dev/null
	# The kept report must come out of the kept raw results: stats.py
	# still reads them as they were read when they were measured.
	python3 tests/bench/stats.py report tests/bench/results/results.jsonl |
		cmp -s - tests/bench/results/results.md || {
		say "run.sh: stats.py no longer makes tests/bench/results/results.md" \
			"from its results.jsonl; if that is meant, make it again:" \
			"python3 tests/bench/stats.py report" \
			"tests/bench/results/results.jsonl >tests/bench/results/results.md"
		exit 1
	}
	[ -x cgi-bin/fcgichat.fcgi ] ||
		make --no-print-directory cgi-bin/fcgichat.fcgi
}

# -------------------------------------------------------------- servers
# start_SERVER sets SRV_PID and SRV_PORT, and SRV_SEND_PORT when the
# fan-out's sender posts elsewhere (another host of the same database).

wait_ready() { # port path logfile
	"$LG" probe --port "$1" --path "$2" --seconds 20 && return 0
	say "run.sh: server on port $1 did not start; its log:"
	tail -20 "$3" >&2
	exit 1
}

start_fcgichat() {
	d=$(mktemp -d "$TMP/fcgichat.XXXX")
	chmod 0700 "$d"
	SRV_PORT=$("$LG" freeport)
	FCGICHAT_ROOT=$ROOT FCGICHAT_VAR=$d PORT=$SRV_PORT \
		FCGICHAT_BIN=${BENCH_BIN:-$ROOT/cgi-bin/fcgichat.fcgi} FCGICHAT_PROCS=$PROCS \
		FCGICHAT_LOG_LEVEL=${FCGICHAT_LOG_LEVEL:-info} \
		FCGICHAT_SEND_RATE=${FCGICHAT_SEND_RATE:-0} \
		FCGICHAT_MAX_WAITING=${FCGICHAT_MAX_WAITING:-0} \
		setsid /usr/sbin/lighttpd -D -f "$ROOT/conf/lighttpd.conf" \
		>"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
	wait_ready "$SRV_PORT" /api/health "$d/server.log"
}

# Two hosts of one PostgreSQL database (conf/run-pg.sh, which stops its
# hosts and cluster when stopped): waiters on SRV_PORT, the fan-out's
# sender on SRV_SEND_PORT.
start_pg() {
	d=$(mktemp -d "$TMP/pg.XXXX")
	SRV_PORT=$("$LG" freeport)
	SRV_SEND_PORT=$SRV_PORT
	while [ "$SRV_SEND_PORT" = "$SRV_PORT" ]; do
		SRV_SEND_PORT=$("$LG" freeport)
	done
	FCGICHAT_ROOT=$ROOT PORT=$SRV_PORT PORT2=$SRV_SEND_PORT \
		FCGICHAT_BIN=${BENCH_BIN:-$ROOT/cgi-bin/fcgichat.fcgi} FCGICHAT_PROCS=$PROCS \
		FCGICHAT_LOG_LEVEL=${FCGICHAT_LOG_LEVEL:-info} \
		FCGICHAT_SEND_RATE=${FCGICHAT_SEND_RATE:-0} \
		FCGICHAT_MAX_WAITING=${FCGICHAT_MAX_WAITING:-0} \
		PG_SERVER_OPTS=${BENCH_PG_OPTS:-} \
		sh conf/run-pg.sh >"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
	wait_ready "$SRV_PORT" /api/health "$d/server.log"
	wait_ready "$SRV_SEND_PORT" /api/health "$d/server.log"
}

# floor_lighttpd PROGRAM PROCS PATH: a floor responder behind lighttpd with
# fcgichat's settings (floor-lighttpd.conf), ready when PATH answers.
floor_lighttpd() {
	d=$(mktemp -d "$TMP/floor.XXXX")
	SRV_PORT=$("$LG" freeport)
	PORT=$SRV_PORT FLOOR_VAR=$d FLOOR_BIN=$BUILD/$1 FLOOR_PROCS=$2 \
		setsid /usr/sbin/lighttpd -D -f "$ROOT/tests/bench/floor-lighttpd.conf" \
		>"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
	wait_ready "$SRV_PORT" "$3" "$d/server.log"
}

start_floor() { floor_lighttpd floor.fcgi "$PROCS" /api/floor; }

start_fanfloor() {
	floor_lighttpd fanout_floor.fcgi "$PROCS" "/api/rooms/probe/messages?limit=1"
}

# The store floor is a program of its own, run per send run (store_run):
# nothing to start but the directory of its databases.
start_store() {
	SRV_PID=""
	SRV_PORT=0
	STORE_DIR=$(mktemp -d "$TMP/store.XXXX")
}

start_nchan() {
	d=$(mktemp -d "$TMP/nchan.XXXX")
	mkdir "$d/tmp"
	SRV_PORT=$("$LG" freeport)
	sed "s/@PORT@/$SRV_PORT/" tests/bench/nchan.conf >"$d/nginx.conf"
	nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" \
		>"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
	wait_ready "$SRV_PORT" /api/floor "$d/error.log"
}

# about_SERVER: the report's line on SERVER's software, if it has its own.
about_fcgichat() {
	echo "$(/usr/sbin/lighttpd -v 2>&1 | head -1), $PROCS worker processes"
}
about_pg() {
	echo "pg: fcgichat on $(psql --version | sed 's/^psql (PostgreSQL)/PostgreSQL/')," \
		"2 hosts of $PROCS worker processes; fan-out waiters on one host," \
		"the sender on the other${BENCH_PG_OPTS:+; $BENCH_PG_OPTS}"
}
about_floor() { :; }
about_store() {
	echo "store: tests/bench/store_floor.c, fcgichat's store alone" \
		"($PROCS processes of ${FCGICHAT_THREADS:-4} threads, SQLite)"
}
about_fanfloor() {
	echo "floor: tests/bench/floor.c (send, poll) and, for fan-out," \
		"tests/bench/fanout_floor.c (messages in memory, $PROCS processes)," \
		"behind lighttpd with fcgichat's settings"
}
about_nchan() {
	echo "$(nginx -v 2>&1), Nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)"
}

# ------------------------------------------------------ servers and runs

# server_runs SERVER: does SERVER run this time (SERVER_TABLE, ENABLED)?
server_runs() {
	g=$(echo "$SERVER_TABLE" | awk -v s="$1" '$1 == s { print $4 }')
	# A misspelt server in RUN_TABLE would drop its runs without a word.
	[ -n "$g" ] || { say "run.sh: $1 is not in SERVER_TABLE"; exit 2; }
	case " $ENABLED " in *" $g "*) return 0 ;; esac
	return 1
}

# The servers that run this time and have runs, in SERVER_TABLE's order.
servers() {
	for s in $(echo "$SERVER_TABLE" | awk 'NF { print $1 }'); do
		server_runs "$s" || continue
		echo "$RUN_TABLE" | awk -v s="$s" '$2 == s { f = 1 } END { exit !f }' &&
			echo "$s"
	done
}

# each_row SCENARIOS FUNCTION ARGS...: for each row of RUN_TABLE of one of
# SCENARIOS whose server runs, sets SCEN SRV TR LABEL OPTS and calls
# FUNCTION ARGS. In this shell, not a pipe's: FUNCTION may set variables
# and start servers that the exit trap must find.
each_row() {
	er_rows=$(echo "$RUN_TABLE" | awk -v sc=" $1 " 'NF && index(sc, " " $1 " ")')
	shift
	IFS='
'
	for er_row in $er_rows; do
		unset IFS
		read -r SCEN SRV TR LABEL OPTS <<EOR
$er_row
EOR
		server_runs "$SRV" || continue
		[ "$LABEL" != - ] || LABEL=$SRV
		[ "$OPTS" != - ] || OPTS=""
		"$@"
	done
	unset IFS
}

# Port of a running server by name (set by start_all), and the port its
# fan-out's sender posts to.
port_of() { eval "echo \${PORT_$1}"; }
send_port_of() { eval "echo \${SEND_PORT_$1}"; }

start_all() {
	for s in $(servers); do
		SRV_SEND_PORT=""
		"start_$s"
		eval "PORT_$s=$SRV_PORT PID_$s=$SRV_PID SEND_PORT_$s=${SRV_SEND_PORT:-$SRV_PORT}"
	done
}

stop_all() {
	for s in $(servers); do
		stop_pid "$(eval "echo \${PID_$s}")"
	done
}

# ------------------------------------------------------------- load runs

# lg ARGS...: runs loadgen's SCEN against SRV with the row's LABEL and OPTS
# and ARGS, keeps the JSON line in results.jsonl and shows the human line.
lg() {
	f=$TMP/lg.out
	sp=""
	[ "$SCEN" != fanout ] || sp="--send-port $(send_port_of "$SRV")"
	pid=$(eval "echo \${PID_$SRV}")
	c0=$(cpu_ticks "$pid")
	# shellcheck disable=SC2086 # OPTS and sp are options, split on purpose
	timeout -k 5 900 "$LG" "$SCEN" --port "$(port_of "$SRV")" $sp \
		--label "$LABEL" $OPTS "$@" >"$f" 2>>"$TMP/loadgen.err" || true
	c1=$(cpu_ticks "$pid")
	keep "$f" "$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", (b - a) / hz }')"
}

# keep FILE [SERVER_CPU_S]: the run's JSON line into results.jsonl, with the
# server's CPU time when given; its human line to the terminal.
keep() {
	if [ -n "${2:-}" ]; then
		grep '^{' "$1" | sed "s/}\$/,\"server_cpu_s\":$2}/"
	else
		grep '^{' "$1"
	fi >>"$RAW" || say "  (no result: see the loadgen output)"
	grep '^# ' "$1" | sed 's/^# /  /' >&2 || true
}

# tree_pids PID: PID and every process under it (the front end's
# processes, the workers, a database).
tree_pids() {
	[ -n "$1" ] || return 0
	ps -e -o pid= -o ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (p in parent) {
				q = p
				for (hops = 0; q != "" && q != root && hops < 64; hops++)
					q = (q in parent) ? parent[q] : ""
				if (q == root) print p
			}
		}'
}

# cpu_ticks PID: CPU ticks (user + system) used so far by PID's tree.
cpu_ticks() { sample "$1" | cut -d' ' -f2; }

# store_run: the store floor's send run, in a fresh database each time.
store_run() {
	f=$TMP/store.out
	rm -f "$STORE_DIR"/chat.db*
	timeout -k 5 120 "$BUILD/store_floor" --db "$STORE_DIR/chat.db" \
		--procs "$PROCS" --threads "${FCGICHAT_THREADS:-4}" \
		--seconds "$SECONDS_LOOP" --label "$LABEL" >"$f" \
		2>>"$TMP/loadgen.err" || true
	keep "$f"
}

last_aborted() { tail -1 "$RAW" | grep -q '"aborted":true'; }

# Can this server's front end hold N waiting clients in the fd limit? Each
# of its processes has the limit; the load generator (one process, one
# descriptor a client) too.
fits() {
	[ "$FDMAX" = unlimited ] && return 0
	per=$(echo "$SERVER_TABLE" | awk -v s="$1" '$1 == s { print $2 }')
	procs=$(echo "$SERVER_TABLE" | awk -v s="$1" '$1 == s { print $3 }')
	[ $((per * $2 + 200 * procs)) -le $((FDMAX * procs)) ] &&
		[ $(($2 + 200)) -le "$FDMAX" ]
}

add_transport() {
	case " $TRANSPORTS " in *" $TR "*) ;; *) TRANSPORTS="$TRANSPORTS $TR" ;; esac
}

fanout_all() {
	TRANSPORTS=""
	NO_WS=""
	each_row fanout add_transport
	each_row fanout ws_gate
	for n in $SIZES; do
		for t in $TRANSPORTS; do
			each_row fanout fanout_skip "$n" "$t"
			given_up=""
			r=1
			while [ $r -le "$REPEAT" ]; do
				each_row fanout fanout_run "$n" "$t" "$r"
				r=$((r + 1))
			done
		done
	done
}

# A server whose WebSocket path answers the handshake with 404 or 426 has no
# WebSocket (fcgichat before it had one): its ws rows are skipped, saying
# why, instead of failing run after run. Any other answer but 101 is left
# to the runs, which fail and show it.
ws_gate() {
	[ "$TR" = ws ] || return 0
	st=$("$LG" probe --transport ws --port "$(port_of "$SRV")" \
		--path "/api/rooms/wsprobe-$$/ws" --seconds 5 2>/dev/null) &&
		return 0
	case $st in
	404 | 426)
		say "fanout $LABEL ws: skipped, the WebSocket handshake got $st"
		NO_WS="$NO_WS $LABEL" ;;
	esac
}

# Why this row cannot run at N ("" when it can).
skip_reason() { # N
	case $TR in ws)
		case " $NO_WS " in *" $LABEL "*) echo "no WebSocket"; return ;; esac
	esac
	fits "$SRV" "$1" || echo "fd limit $FDMAX"
}

fanout_skip() { # N TRANSPORT
	[ "$TR" = "$2" ] || return 0
	why=$(skip_reason "$1")
	[ -n "$why" ] || return 0
	say "fanout $LABEL $2 N=$1: skipped ($why)"
	echo "{\"scenario\":\"fanout\",\"server\":\"$LABEL\",\"transport\":\"$2\",\"clients\":$1,\"skipped\":\"$why\"}" >>"$RAW"
}

fanout_run() { # N TRANSPORT RUN
	[ "$TR" = "$2" ] && [ -z "$(skip_reason "$1")" ] || return 0
	case " $given_up " in *" $LABEL "*) return 0 ;; esac
	say "fanout $LABEL $2 N=$1 run $3/$REPEAT"
	lg --transport "$2" --clients "$1" --messages "$MESSAGES" \
		--room "f$2$1r$3-$$"
	# A run that gave up will fail again: spare the time.
	last_aborted && given_up="$given_up $LABEL"
	return 0
}

loops_all() {
	r=1
	while [ $r -le "$REPEAT" ]; do
		each_row "send poll" loop_run "$r"
		r=$((r + 1))
	done
}

loop_run() { # RUN
	say "$SCEN $LABEL run $1/$REPEAT"
	if [ "$SRV" = store ]; then
		store_run
	else
		lg --clients "$CLIENTS" --seconds "$SECONDS_LOOP"
	fi
}

# "PSS_KB CPU_TICKS" of a server and every process under it.
sample() {
	for p in $(tree_pids "$1"); do
		[ -r "/proc/$p/stat" ] || continue
		m=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null ||
			true)
		[ -n "$m" ] || m=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")
		t=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
		echo "${m:-0} ${t:-0}"
	done | awk '{m += $1; t += $2} END {print m + 0, t + 0}'
}

# idle_one RUN: a fresh server, N clients parked, samples.
idle_one() {
	fits "$SRV" "$IDLE_N" || return 0
	"start_$SRV"
	eval "PORT_$SRV=$SRV_PORT PID_$SRV=$SRV_PID"
	sleep 0.5
	# shellcheck disable=SC2046 # "PSS TICKS" become $2 $3
	set -- "$1" $(sample "$SRV_PID")
	rf=$TMP/ready
	rm -f "$rf"
	say "idle $LABEL $TR N=$IDLE_N run $1/$REPEAT"
	lg --transport "$TR" --clients "$IDLE_N" --seconds "$IDLE_S" \
		--ready-file "$rf" --room "idle$1-$$" &
	lgpid=$!
	i=0
	while [ ! -s "$rf" ] && kill -0 $lgpid 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -s "$rf" ]; then
		idle_measure "$2"
	fi
	wait $lgpid || true
	stop_pid "$SRV_PID"
}

idle_measure() { # base_kb
	t0=$(date +%s%N)
	# shellcheck disable=SC2046 # "PSS TICKS" become $2 $3, then $4 $5
	set -- "$1" $(sample "$SRV_PID")
	sleep $((IDLE_S > 4 ? IDLE_S - 3 : 1))
	t1=$(date +%s%N)
	# shellcheck disable=SC2046
	set -- "$@" $(sample "$SRV_PID")
	python3 tests/bench/stats.py idle-cost "$LABEL" "$TR" "$IDLE_N" \
		"$1" "$4" "$3" "$5" "$t0" "$t1" "$(getconf CLK_TCK)" >>"$RAW"
	say "  $(tail -1 "$RAW")"
}

idle_all() {
	r=1
	while [ $r -le "$REPEAT" ]; do
		each_row idle idle_one "$r"
		r=$((r + 1))
	done
}

# ---------------------------------------------------------------- report

# json_str TEXT: TEXT as a JSON string (control characters left out).
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' |
		sed 's/[\\"]/\\&/g')"
}

add_software() {
	a=$(json_str "$("about_$1")")
	[ "$a" = '""' ] || SOFTWARE="$SOFTWARE${SOFTWARE:+,}$a"
}

add_plan() {
	t=""
	[ "$TR" = - ] || t=",\"transport\":\"$TR\""
	PLAN="$PLAN${PLAN:+,}{\"scenario\":\"$SCEN\",\"server\":\"$LABEL\"$t}"
}

# The last line of results.jsonl: the settings, the machine, and the rows
# of RUN_TABLE that ran, which lay out the report and the plot.
run_line() {
	SOFTWARE=""
	for s in $(servers); do
		add_software "$s"
	done
	PLAN=""
	each_row "fanout send poll idle" add_plan
	printf '{"scenario":"run","date":%s,"elapsed_s":%d,"commit":%s,' \
		"$(json_str "$(date -u '+%Y-%m-%d %H:%M UTC')")" \
		$(($(date +%s) - T_START)) \
		"$(json_str "$(git rev-parse --short HEAD 2>/dev/null || echo none)")"
	printf '"cores":%d,"cpu":%s,"load_start":%s,"load_end":%s,' "$(nproc)" \
		"$(json_str "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)")" \
		"$(json_str "$LOAD_START")" \
		"$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
	# shellcheck disable=SC2086 # split: one comma between sizes
	printf '"software":[%s],"repeat":%d,"fd_limit":%s,"sizes":[%s],' \
		"$SOFTWARE" "$REPEAT" "$(json_str "$FDMAX")" \
		"$(echo $SIZES | tr ' ' ,)"
	printf '"messages":%d,"clients":%d,"seconds":%d,' \
		"$MESSAGES" "$CLIENTS" "$SECONDS_LOOP"
	printf '"idle_clients":%d,"idle_seconds":%d,"plan":[%s]}\n' \
		"$IDLE_N" "$IDLE_S" "$PLAN"
}

report() {
	run_line >>"$RAW"
	python3 tests/bench/stats.py report "$RAW" >"$OUT/results.md"
	say "run.sh: wrote $OUT/results.md"
	python3 tests/bench/plot.py "$RAW" "$OUT"
}

# ------------------------------------------------------------------ main

ENABLED=always
[ "$COMPARE" = 1 ] && ENABLED="$ENABLED compare"

deps
build
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "run.sh: $(nproc) cores, load $LOAD_START, fd limit $FDMAX, $REPEAT run(s) each"
mkdir -p "$OUT"
: >"$RAW"
start_all
fanout_all
loops_all
stop_all
idle_all
report
say "run.sh: done in $(($(date +%s) - T_START)) s; see $OUT/results.md"
