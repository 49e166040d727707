#!/bin/sh
# run-all.sh - what `make test` runs after building: unit tests, then the
# integration suite against real servers, then both again with the
# AddressSanitizer+UBSan build, then the integration suite behind Apache
# (mod_proxy_fcgi, mod_fcgid) and the front ends side by side, then the
# browser tests in Chromium; ends with one line "total: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/fcgichat-test.XXXXXX)
one=$(mktemp /tmp/fcgichat-suite.XXXXXX)
failures=$(mktemp /tmp/fcgichat-failures.XXXXXX)
# Runs one suite; a failed one's failures (without stack frames) are kept
# to be told again at the end, where a CI log's tail shows them.
run() {
	name=$1
	echo "== $name"
	shift
	"$@" 2>&1 | tee "$one"
	cat "$one" >> "$log"
	if ! grep -qE '^[a-z-]+: [0-9]+ passed, 0 failed$' "$one"; then
		{
			echo "== $name"
			if grep -q '^✖ failing tests' "$one"; then
				sed -n '/^✖ failing tests/,$p' "$one"
			else
				tail -20 "$one"
			fi | grep -vE '^\s+(at |generatedMessage:|code:|operator:)|^\s*}?$|^✖ failing tests' | head -40
		} >> "$failures"
	fi
}
run "unit tests" sh tests/run-unit.sh build/tests $(cd tests/unit && ls test_*.c | sed 's/\.c$//')
run "unit tests, ASan+UBSan" sh tests/run-unit.sh build/asan/tests $(cd tests/unit && ls test_*.c | sed 's/\.c$//')
run "integration (lighttpd)" env SUITE_NAME=integration FCGICHAT_FRONTEND=lighttpd \
	FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh
run "integration (lighttpd), ASan+UBSan worker" env SUITE_NAME=integration-asan \
	FCGICHAT_FRONTEND=lighttpd FCGICHAT_BIN="$PWD/build/asan/fcgichat.fcgi" FCGICHAT_ASAN=1 sh tests/run-integration.sh
# The same integration suite behind Apache (conf/apache.conf), both ways,
# then the three front ends side by side (same answers, one database,
# 60-s holds, mod_fcgid's cap, systemd socket activation).
run "integration (Apache + mod_proxy_fcgi)" env SUITE_NAME=integration-apache-proxy \
	FCGICHAT_FRONTEND=apache-proxy \
	FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh
run "integration (Apache + mod_fcgid)" env SUITE_NAME=integration-apache-fcgid \
	FCGICHAT_FRONTEND=apache-fcgid \
	FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh
run "front ends side by side" env SUITE_NAME=frontends \
	FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh frontends/
# make install / uninstall, and the installed snippets on copies of the
# system's lighttpd and Apache configurations.
run "ops (install, Debian web servers)" env SUITE_NAME=ops \
	FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh ops/
# Faults (workers killed, disk full, read-only, lock storm, leaks, slow
# readers, restarts) and hostile input, against lighttpd.
run "faults (lighttpd)" env SUITE_NAME=faults \
	FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh faults/
# Hostile input, slow readers and held descriptors again with the
# sanitized worker (the other fault tests measure memory or kill workers).
run "faults (lighttpd), ASan+UBSan worker" env SUITE_NAME=faults-asan \
	FCGICHAT_BIN="$PWD/build/asan/fcgichat.fcgi" FCGICHAT_ASAN=1 \
	sh tests/run-integration.sh faults/bad-input.test.mjs \
	faults/slow.test.mjs faults/held.test.mjs
if [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then
	run "browser (Chromium)" env SUITE_NAME=browser \
		FCGICHAT_BIN="$PWD/cgi-bin/fcgichat.fcgi" sh tests/run-integration.sh browser/
fi
pass=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | awk '{p += $2} END {print p + 0}')
fail=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | awk '{f += $4} END {print f + 0}')
suites=$(grep -cE '^[a-z-]+: [0-9]+ passed, [0-9]+ failed$' "$log")
rm -f "$log" "$one"
if [ -s "$failures" ]; then
	echo
	echo "failures, again:"
	head -120 "$failures"
fi
rm -f "$failures"
echo
echo "total: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$suites" -ge 9 ]
