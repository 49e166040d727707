#!/bin/sh
# run.sh - fcgichat's benchmark driver.
#   make bench          ->  sh tests/bench/run.sh            (~5 min, 2 cores)
#   make bench-compare  ->  sh tests/bench/run.sh --compare  (~8 min)
#   sh tests/bench/run.sh --quick [--compare]   N = 100, 1000, one run each
#
# What it measures (each figure is the median of BENCH_REPEAT=3 runs; the
# servers are measured in turns, run by run, so they see the same load):
#  fan-out  N clients wait in one room (long-poll `?since=&wait=30`, then
#           Server-Sent Events), N = 100, 1000, 5000, 10000 (BENCH_SIZES);
#           one sender posts BENCH_MESSAGES=20 messages one at a time, each
#           after every client got the previous one (plus a 200 ms gap in
#           which long-pollers ask again). Reported: latency from send to
#           each client's receipt (p50/p90/p99/max), deliveries per second
#           while a message fans out, and a check that every client got
#           every message exactly once, in order, with no HTTP error, reset
#           or timeout. Plot: p99 against N (fanout.svg).
#  send     BENCH_CLIENTS=16 keep-alive clients posting for BENCH_SECONDS=5 s:
#           committed messages/s (2xx answers) and their latency.
#  poll     16 keep-alive clients reading the newest 20 messages of a room.
#  floor    the same send and poll against tests/bench/floor.c, a libfcgi
#           responder that answers a fixed JSON body, behind lighttpd with
#           fcgichat's settings: what lighttpd + FastCGI cost by themselves
#           (fcgichat/floor ratio); "static" is lighttpd serving index.html.
#  idle     BENCH_IDLE_CLIENTS=5000 clients parked for BENCH_IDLE_SECONDS=8 s
#           on a freshly started server: memory (PSS of the server and its
#           workers, growth per waiting client) and CPU used while waiting.
#  --compare  the same fan-out, send and idle runs against nginx + Nchan
#           (tests/bench/nchan.conf, same URLs; fcgichat/Nchan ratios), and
#           nginx answering a fixed body (Nchan's floor).
# Output: tests/output/bench/results.md (tables), results.jsonl (one JSON
# line per run, as printed by loadgen), fanout.svg + fanout.dat (plot).
#
# fcgichat runs with conf/lighttpd.conf as shipped, except that its
# per-address limits are lifted (FCGICHAT_SEND_RATE=0, FCGICHAT_MAX_WAITING=0,
# both overridable from the environment): every load client here comes from
# 127.0.0.1, and the benchmark measures capacity, not the limiter.
#
# Everything runs on 127.0.0.1, on free ports, in a temporary directory;
# the servers started here are stopped by their PIDs on exit. Every load
# run is bounded by loadgen's own deadline and by timeout(1). A front end
# needs file descriptors per waiting client (lighttpd: 2, nginx: 1); sizes
# that do not fit the hard RLIMIT_NOFILE (`ulimit -Hn`) are skipped and
# reported as such. The machine's cores and load are in the report: the
# figures are only comparable between runs on a quiet machine.
set -eu

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
	pk="gcc libc6-dev libfcgi-dev lighttpd gnuplot-nox procps"
	[ "$COMPARE" = 1 ] && pk="$pk nginx libnginx-mod-nchan"
	# shellcheck disable=SC2086
	sh tests/deps.sh $pk
}

build() {
	mkdir -p "$BUILD" "$OUT"
	cflags="-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror"
	# shellcheck disable=SC2086
	cc $cflags -o "$LG" tests/bench/loadgen.c tests/bench/http_parse.c
	# shellcheck disable=SC2086
	cc $cflags -o "$BUILD/floor.fcgi" tests/bench/floor.c -lfcgi -lpthread
	"$LG" selftest >/dev/null
	[ -x cgi-bin/fcgichat.fcgi ] ||
		make --no-print-directory cgi-bin/fcgichat.fcgi
}

# -------------------------------------------------------------- servers
# start_SERVER sets SRV_PID and SRV_PORT.

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
		FCGICHAT_BIN=$ROOT/cgi-bin/fcgichat.fcgi FCGICHAT_PROCS=$PROCS \
		FCGICHAT_LOG_LEVEL=${FCGICHAT_LOG_LEVEL:-info} \
		FCGICHAT_SEND_RATE=${FCGICHAT_SEND_RATE:-0} \
		FCGICHAT_MAX_WAITING=${FCGICHAT_MAX_WAITING:-0} \
		/usr/sbin/lighttpd -D -f "$ROOT/conf/lighttpd.conf" \
		>"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
	wait_ready "$SRV_PORT" /api/health "$d/server.log"
}

start_floor() {
	d=$(mktemp -d "$TMP/floor.XXXX")
	SRV_PORT=$("$LG" freeport)
	PORT=$SRV_PORT FLOOR_VAR=$d FLOOR_BIN=$BUILD/floor.fcgi \
		FLOOR_PROCS=$PROCS \
		/usr/sbin/lighttpd -D -f "$ROOT/tests/bench/floor-lighttpd.conf" \
		>"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
	wait_ready "$SRV_PORT" /api/floor "$d/server.log"
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

# Port of a running server by name (set by start_all).
port_of() { eval "echo \${PORT_$1}"; }

start_all() {
	for s in $SERVERS; do
		"start_$s"
		eval "PORT_$s=$SRV_PORT PID_$s=$SRV_PID"
	done
}

stop_all() {
	for s in $SERVERS; do
		stop_pid "$(eval "echo \${PID_$s}")"
	done
}

# ------------------------------------------------------------- load runs

# lg SCENARIO SERVER ARGS...: runs loadgen against SERVER, keeps the JSON
# line in results.jsonl and shows the human line.
lg() {
	scen=$1
	srv=$2
	shift 2
	extra=""
	[ "$srv" = nchan ] && [ "$scen" != poll ] && [ "$scen" != send ] &&
		extra="--nchan"
	f=$TMP/lg.out
	# shellcheck disable=SC2086
	timeout -k 5 900 "$LG" "$scen" --port "$(port_of "$srv")" \
		--label "$srv" $extra "$@" >"$f" 2>>"$TMP/loadgen.err" || true
	grep '^{' "$f" >>"$RAW" || say "  (no result: see the loadgen output)"
	grep '^# ' "$f" | sed 's/^# /  /' >&2 || true
}

last_aborted() { tail -1 "$RAW" | grep -q '"aborted":true'; }

# Can this server's front end hold N waiting clients in the fd limit?
fits() {
	[ "$FDMAX" = unlimited ] && return 0
	per=2
	[ "$1" = nchan ] && per=1
	[ $((per * $2 + 200)) -le "$FDMAX" ]
}

fanout_all() {
	for n in $SIZES; do
		for t in longpoll sse; do
			fanout_size "$n" "$t"
		done
	done
}

fanout_size() { # N transport
	for s in $FANOUT_SERVERS; do
		fits "$s" "$1" && continue
		say "fanout $s $2 N=$1: skipped, needs more than $FDMAX descriptors"
		echo "{\"scenario\":\"fanout\",\"server\":\"$s\",\"transport\":\"$2\",\"clients\":$1,\"skipped\":\"fd limit $FDMAX\"}" >>"$RAW"
	done
	given_up=""
	r=1
	while [ $r -le "$REPEAT" ]; do
		for s in $FANOUT_SERVERS; do
			fits "$s" "$1" || continue
			case " $given_up " in *" $s "*) continue ;; esac
			say "fanout $s $2 N=$1 run $r/$REPEAT"
			lg fanout "$s" --transport "$2" --clients "$1" \
				--messages "$MESSAGES" --room "f$2$1r$r-$$"
			# A run that gave up will fail again: spare the time.
			last_aborted && given_up="$given_up $s"
		done
		r=$((r + 1))
	done
}

loops_all() {
	r=1
	while [ $r -le "$REPEAT" ]; do
		for s in $SEND_SERVERS; do
			say "send $s run $r/$REPEAT"
			lg send "$s" --clients "$CLIENTS" --seconds "$SECONDS_LOOP" \
				--room "send-$$"
		done
		say "poll fcgichat, floor, static run $r/$REPEAT"
		lg poll fcgichat --clients "$CLIENTS" --seconds "$SECONDS_LOOP" \
			--path "/api/rooms/send-$$/messages?limit=20"
		lg poll floor --clients "$CLIENTS" --seconds "$SECONDS_LOOP" \
			--path "/api/rooms/send-$$/messages?limit=20"
		lg poll fcgichat --clients "$CLIENTS" --seconds "$SECONDS_LOOP" \
			--path / --label static
		if [ "$COMPARE" = 1 ]; then
			lg poll nchan --clients "$CLIENTS" --seconds "$SECONDS_LOOP" \
				--path /api/floor --label nginx
		fi
		r=$((r + 1))
	done
}

# "PSS_KB CPU_TICKS" of a server and the processes it started.
sample() {
	for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null || true); do
		[ -r "/proc/$p/stat" ] || continue
		m=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null ||
			true)
		[ -n "$m" ] || m=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")
		t=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
		echo "${m:-0} ${t:-0}"
	done | awk '{m += $1; t += $2} END {print m + 0, t + 0}'
}

# idle_one SERVER TRANSPORT RUN: a fresh server, N clients parked, samples.
idle_one() {
	"start_$1"
	eval "PORT_$1=$SRV_PORT"
	sleep 0.5
	# shellcheck disable=SC2046 # "PSS TICKS" become $4 $5
	set -- "$1" "$2" "$3" $(sample "$SRV_PID")
	rf=$TMP/ready
	rm -f "$rf"
	say "idle $1 $2 N=$IDLE_N run $3/$REPEAT"
	lg idle "$1" --transport "$2" --clients "$IDLE_N" \
		--seconds "$IDLE_S" --ready-file "$rf" --room "idle$3-$$" &
	lgpid=$!
	i=0
	while [ ! -s "$rf" ] && kill -0 $lgpid 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -s "$rf" ]; then
		idle_measure "$@"
	fi
	wait $lgpid || true
	stop_pid "$SRV_PID"
}

idle_measure() { # server transport run base_kb base_ticks
	t0=$(date +%s%N)
	# shellcheck disable=SC2046 # "PSS TICKS" become $6 $7, then $8 $9
	set -- "$@" $(sample "$SRV_PID")
	sleep $((IDLE_S > 4 ? IDLE_S - 3 : 1))
	t1=$(date +%s%N)
	# shellcheck disable=SC2046
	set -- "$@" $(sample "$SRV_PID")
	awk -v s="$1" -v t="$2" -v n="$IDLE_N" -v b="$4" -v m0="$6" \
	    -v c0="$7" -v m1="$8" -v c1="$9" -v t0="$t0" -v t1="$t1" \
	    -v hz="$(getconf CLK_TCK)" 'BEGIN {
		cpu = (c1 - c0) / hz / ((t1 - t0) / 1e9) * 100
		printf "{\"scenario\":\"idle_cost\",\"server\":\"%s\",", s
		printf "\"transport\":\"%s\",\"clients\":%d,", t, n
		printf "\"pss_base_kb\":%d,\"pss_kb\":%d,", b, m1
		printf "\"kb_per_client\":%.2f,\"cpu_pct\":%.2f}\n",
		    (m1 - b) / n, cpu
	}' >>"$RAW"
	say "  $(tail -1 "$RAW")"
}

idle_all() {
	r=1
	while [ $r -le "$REPEAT" ]; do
		for s in $FANOUT_SERVERS; do
			for t in longpoll sse; do
				fits "$s" "$IDLE_N" && idle_one "$s" "$t" "$r"
			done
		done
		r=$((r + 1))
	done
}

# ---------------------------------------------------------------- report

# agg FIELD SCENARIO SERVER [TRANSPORT [CLIENTS]]: prints
# "MEDIAN OKRUNS RUNS SKIPPED" over the matching lines of results.jsonl.
agg() {
	awk -v f="$1" -v sc="$2" -v sv="$3" -v tr="${4:-}" -v n="${5:-}" '
	function get(k,   s) {
		if (!match($0, "\"" k "\":(\"[^\"]*\"|[^,}]*)"))
			return ""
		s = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
		gsub(/"/, "", s)
		return s
	}
	get("scenario") != sc || get("server") != sv { next }
	tr != "" && get("transport") != tr { next }
	n != "" && get("clients") != n { next }
	get("skipped") != "" { skipped = 1; next }
	{ v[++c] = get(f) + 0; runs++; if (get("ok") != "false") ok++ }
	END {
		if (!c) { printf "- 0 0 %d\n", skipped; exit }
		for (i = 2; i <= c; i++) {
			x = v[i]
			for (j = i - 1; j >= 1 && v[j] > x; j--)
				v[j + 1] = v[j]
			v[j + 1] = x
		}
		m = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
		printf "%s %d %d %d\n", m, ok, runs, skipped
	}' "$RAW"
}

# med FIELD ...: the median alone, formatted; "-" when there is none.
# shellcheck disable=SC2046 # agg prints four words
med() { set -- $(agg "$@"); fmt "$1"; }

fmt() {
	awk -v x="$1" 'BEGIN {
		if (x == "-") print "-"
		else if (x + 0 >= 100) printf "%.0f\n", x
		else if (x + 0 >= 10) printf "%.1f\n", x
		else printf "%.2f\n", x
	}'
}

ratio() { # a b -> "a/b", or "-"
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b
	}'
}

checks() { # FIELD SCENARIO SERVER TRANSPORT CLIENTS -> "3/3 ok"
	# shellcheck disable=SC2046
	set -- $(agg "$@")
	if [ "$4" = 1 ] && [ "$3" = 0 ]; then
		echo "skipped (fds)"
	elif [ "$3" = 0 ]; then
		echo "-"
	else
		echo "$2/$3 ok"
	fi
}

report_fanout() {
	echo "## Fan-out: N waiting clients, one sender, $MESSAGES messages"
	echo
	echo "Latency from send to receipt, in ms; deliveries/s while a message"
	echo "fans out; checks: runs in which every client got every message"
	echo "exactly once, in order, with no error."
	echo
	if [ "$COMPARE" = 1 ]; then
		echo "| transport | N | p50 | p90 | p99 | max | deliveries/s | checks | Nchan p50 | Nchan p99 | Nchan deliveries/s | Nchan checks | p99 fcgichat/Nchan |"
		echo "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"
	else
		echo "| transport | N | p50 | p90 | p99 | max | deliveries/s | checks |"
		echo "|---|---:|---:|---:|---:|---:|---:|---|"
	fi
	for t in longpoll sse; do
		for n in $SIZES; do
			report_fanout_row "$t" "$n"
		done
	done
	echo
}

# shellcheck disable=SC2086 # $k and $q are split into arguments on purpose
report_fanout_row() { # transport N
	k="fanout fcgichat $1 $2"
	line="| $1 | $2 | $(med p50_ms $k) | $(med p90_ms $k) | $(med p99_ms $k) | $(med max_ms $k) | $(med deliveries_per_s $k) | $(checks ok $k) |"
	if [ "$COMPARE" = 1 ]; then
		q="fanout nchan $1 $2"
		p99f=$(agg p99_ms $k | cut -d' ' -f1)
		p99n=$(agg p99_ms $q | cut -d' ' -f1)
		line="$line $(med p50_ms $q) | $(med p99_ms $q) | $(med deliveries_per_s $q) | $(checks ok $q) | $(ratio "$p99f" "$p99n") |"
	fi
	echo "$line"
}

report_loops() {
	echo "## Throughput: $CLIENTS keep-alive clients, ${SECONDS_LOOP} s"
	echo
	echo "| scenario | server | per s | p50 ms | p99 ms | checks | fcgichat/this |"
	echo "|---|---|---:|---:|---:|---|---:|"
	sf=$(agg per_s send fcgichat | cut -d' ' -f1)
	pf=$(agg per_s poll fcgichat | cut -d' ' -f1)
	for s in $SEND_SERVERS; do
		v=$(agg per_s send "$s" | cut -d' ' -f1)
		r="-"
		[ "$s" = fcgichat ] || r=$(ratio "$sf" "$v")
		echo "| send (committed messages) | $s | $(fmt "$v") | $(med p50_ms send "$s") | $(med p99_ms send "$s") | $(checks ok send "$s") | $r |"
	done
	pollers="fcgichat floor static"
	[ "$COMPARE" = 1 ] && pollers="$pollers nginx"
	for s in $pollers; do
		v=$(agg per_s poll "$s" | cut -d' ' -f1)
		r="-"
		[ "$s" = fcgichat ] || r=$(ratio "$pf" "$v")
		echo "| poll | $s | $(fmt "$v") | $(med p50_ms poll "$s") | $(med p99_ms poll "$s") | $(checks ok poll "$s") | $r |"
	done
	echo
	echo "poll: fcgichat and floor read \`/api/rooms/R/messages?limit=20\`;"
	echo "static is lighttpd serving \`/\` (index.html) with fcgichat's config;"
	echo "nginx is nginx answering a fixed body at \`/api/floor\`."
	echo
}

report_idle() {
	echo "## Idle cost: $IDLE_N clients waiting for ${IDLE_S} s"
	echo
	echo "Growth of the server's memory (PSS of the front end and its"
	echo "workers) per waiting client, and the CPU they use while waiting."
	echo
	echo "| server | transport | KB per waiting client | CPU % while idle | total PSS MB |"
	echo "|---|---|---:|---:|---:|"
	for s in $FANOUT_SERVERS; do
		for t in longpoll sse; do
			mb=$(agg pss_kb idle_cost "$s" "$t" | cut -d' ' -f1)
			mb=$(awk -v k="$mb" 'BEGIN { if (k == "-") print "-"; else printf "%.1f\n", k / 1024 }')
			echo "| $s | $t | $(med kb_per_client idle_cost "$s" "$t") | $(med cpu_pct idle_cost "$s" "$t") | $mb |"
		done
	done
	echo
}

plot() {
	dat=$OUT/fanout.dat
	{
		echo "# N fcgichat-longpoll fcgichat-sse nchan-longpoll nchan-sse (p99 ms)"
		for n in $SIZES; do
			row=$n
			for k in "fcgichat longpoll" "fcgichat sse" "nchan longpoll" "nchan sse"; do
				# shellcheck disable=SC2086
				row="$row $(agg p99_ms fanout $k "$n" | cut -d' ' -f1)"
			done
			echo "$row"
		done
	} >"$dat"
	command -v gnuplot >/dev/null || { say "run.sh: no gnuplot, no plot"; return 0; }
	plots=""
	col=2
	for title in "fcgichat long-poll" "fcgichat SSE" "Nchan long-poll" "Nchan SSE"; do
		if awk -v c=$col '!/^#/ && $c != "-" {f = 1} END {exit !f}' "$dat"; then
			plots="$plots${plots:+, }'$dat' using 1:$col with linespoints lw 2 pt 7 ps 0.8 title '$title'"
		fi
		col=$((col + 1))
	done
	[ -n "$plots" ] || return 0
	gnuplot <<EOF
set terminal svg size 800,500 dynamic font 'sans,12'
set output '$OUT/fanout.svg'
set title 'fan-out: p99 delivery latency vs waiting clients ($(nproc) cores, median of $REPEAT)'
set xlabel 'waiting clients in one room (N)'
set ylabel 'p99 latency, send to receipt (ms)'
set logscale xy
set grid
set key top left
set datafile missing '-'
plot $plots
EOF
}

report() {
	md=$OUT/results.md
	{
		echo "# fcgichat benchmark"
		echo
		echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - T_START)) s"
		echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
		echo "- cores: $(nproc), $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
		echo "- load (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "- $(/usr/sbin/lighttpd -v 2>&1 | head -1), $PROCS worker processes"
		[ "$COMPARE" = 1 ] && echo "- $(nginx -v 2>&1), Nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)"
		echo "- runs per figure: $REPEAT (median); descriptors (hard limit): $FDMAX"
		echo "- the load generator (tests/bench/loadgen.c, one thread) runs on the"
		echo "  same cores as the servers; its CPU time is in results.jsonl"
		echo
		report_fanout
		echo "![p99 delivery latency vs waiting clients](fanout.svg)"
		echo
		report_loops
		report_idle
		echo "Raw runs: \`results.jsonl\`. Method: \`tests/bench/run.sh\`."
	} >"$md"
	say "run.sh: wrote $md"
}

# ------------------------------------------------------------------ main

SERVERS="fcgichat floor"
FANOUT_SERVERS="fcgichat"
SEND_SERVERS="fcgichat floor"
if [ "$COMPARE" = 1 ]; then
	SERVERS="$SERVERS nchan"
	FANOUT_SERVERS="$FANOUT_SERVERS nchan"
	SEND_SERVERS="$SEND_SERVERS nchan"
fi

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
plot
say "run.sh: done in $(($(date +%s) - T_START)) s; see $OUT/results.md"
