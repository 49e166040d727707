#!/bin/sh
# run-all.sh - what `make test` runs after building: the suites of the
# table below, one after another (unit tests, the integration suite against
# real servers, both again with the AddressSanitizer+UBSan build, the
# integration suite behind Apache, the front ends side by side, install,
# faults, the browser tests). Each must print one line "NAME: N passed, N
# failed"; a suite whose line is missing counts as one failure and is
# named. Ends with the failures again, then one line "total: N passed, N
# failed", last (CI reads it).
set -u
cd "$(dirname "$0")/.."
BIN=$PWD/cgi-bin/fcgichat.fcgi
ASAN_BIN=$PWD/build/asan/fcgichat.fcgi
UNIT=$(cd tests/unit && ls test_*.c | sed 's/\.c$//' | tr '\n' ' ')
INTEG="sh tests/run-integration.sh"

# name | environment | command - run in this order, each with
# SUITE_NAME=name and FCGICHAT_BIN="$BIN" unless its environment says
# otherwise; the shell expands the fields when the suite runs.
#   integration-apache-*  the integration suite behind conf/apache.conf
#   integration-pg        the integration suite's API, waiting and access
#                         tests on PostgreSQL (a throwaway cluster), and
#                         tests/pg/: two hosts on one database (wake-ups
#                         across hosts, id order, idempotency, retention,
#                         admin, PostgreSQL restarted under load, a host
#                         killed with -9, members cut off across hosts,
#                         access_version read only on access wake-ups)
#   frontends             the three front ends side by side (same answers,
#                         one database, 60-s holds, mod_fcgid's cap,
#                         systemd socket activation)
#   ops                   make install / uninstall, the installed snippets
#                         on copies of the system's lighttpd and Apache
#   faults                workers killed, disk full, read-only, lock storm,
#                         leaks, slow readers, restarts, hostile input
#   faults-asan           those of them that neither measure memory nor
#                         kill workers, with the sanitized worker
#   faults-pg             workers killed and lighttpd restarted under
#                         load, on PostgreSQL (a whole host killed is in
#                         integration-pg: tests/pg/failover.test.mjs)
SUITES='
unit | | sh tests/run-unit.sh build/tests $UNIT
unit-asan | | sh tests/run-unit.sh build/asan/tests $UNIT
integration | FCGICHAT_FRONTEND=lighttpd | $INTEG
integration-asan | FCGICHAT_FRONTEND=lighttpd FCGICHAT_BIN="$ASAN_BIN" FCGICHAT_ASAN=1 | $INTEG
integration-apache-proxy | FCGICHAT_FRONTEND=apache-proxy | $INTEG
integration-apache-fcgid | FCGICHAT_FRONTEND=apache-fcgid | $INTEG
integration-pg | FCGICHAT_FRONTEND=lighttpd FCGICHAT_STORE=postgresql | $INTEG integration/api.test.mjs integration/wait.test.mjs integration/access.test.mjs integration/ops.test.mjs integration/identity.test.mjs integration/private.test.mjs integration/presence.test.mjs pg/
frontends | | $INTEG frontends/
ops | | $INTEG ops/
faults | | $INTEG faults/
faults-asan | FCGICHAT_BIN="$ASAN_BIN" FCGICHAT_ASAN=1 | $INTEG faults/bad-input.test.mjs faults/slow.test.mjs faults/held.test.mjs
faults-pg | FCGICHAT_STORE=postgresql | $INTEG faults/kill.test.mjs faults/restart.test.mjs
browser | | $INTEG browser/
'

one=$(mktemp /tmp/fcgichat-suite.XXXXXX)
failures=$(mktemp /tmp/fcgichat-failures.XXXXXX)
pass=0; fail=0; expected=0; arrived=0; seen=' '

# note NAME WHY - keeps a failed suite's failures (without stack frames)
# to be told again at the end, where a CI log's tail shows them.
note() {
	{
		echo "== $1${2:+: $2}"
		if grep -q '^✖ failing tests' "$one"; then
			sed -n '/^✖ failing tests/,$p' "$one"
		else
			tail -20 "$one"
		fi | grep -vE '^\s+(at |generatedMessage:|code:|operator:)|^\s*}?$|^✖ failing tests' | head -40
	} >> "$failures"
}

# run NAME ENV COMMAND - runs one suite of the table and adds up its
# summary line; stdin is the table's, so the suite gets /dev/null.
run() {
	echo "== $1"
	{ eval "env SUITE_NAME=$1 FCGICHAT_BIN=\"\$BIN\" $2 $3" </dev/null 2>&1; } | tee "$one"
	summary=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed\$" "$one" | tail -1)
	if [ -z "$summary" ]; then
		fail=$((fail + 1))
		note "$1" "no summary line \"$1: N passed, N failed\" (counted as 1 failed)"
		return
	fi
	arrived=$((arrived + 1))
	set -- "$1" $summary
	pass=$((pass + $3)); fail=$((fail + $5))
	[ "$5" -eq 0 ] || note "$1"
}

while IFS='|' read -r name envs cmd; do
	name=$(echo $name)
	[ -n "$name" ] || continue
	# A name makes the summary line's pattern and is told once.
	case $name in *[!a-z-]*) echo "run-all.sh: bad suite name '$name'"; exit 2 ;; esac
	case $seen in *" $name "*) echo "run-all.sh: suite '$name' twice"; exit 2 ;; esac
	seen="$seen$name "
	expected=$((expected + 1))
	run "$name" "$envs" "$cmd"
done <<EOF
$SUITES
EOF

rm -f "$one"
if [ -s "$failures" ]; then
	echo
	echo "failures, again:"
	head -120 "$failures"
fi
rm -f "$failures"
echo
echo "summaries: $arrived of $expected suites"
echo "total: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$arrived" -eq "$expected" ]
