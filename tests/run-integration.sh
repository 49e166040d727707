#!/bin/sh
# run-integration.sh [DIR...] - runs node test files (default: integration/)
# against real servers, with FCGICHAT_BIN the worker to test. With
# FCGICHAT_ASAN=1 the sanitizer reports of every worker go to files, and
# any report fails the run. Prints "<name>: N passed, N failed".
set -u
cd "$(dirname "$0")"
name=${SUITE_NAME:-integration}
[ $# -eq 0 ] && set -- integration/
out=$(mktemp -d /tmp/fcgichat-run.XXXXXX)
if [ "${FCGICHAT_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS="log_path=$out/asan:abort_on_error=0:detect_leaks=1"
	export UBSAN_OPTIONS="log_path=$out/ubsan:print_stacktrace=1:halt_on_error=1"
fi
node --test --test-concurrency=1 --test-reporter=spec "$@" > "$out/report" 2>&1
rc=$?
grep -vE '^\s*$' "$out/report" | grep -E '✖|✔|ℹ (tests|pass|fail)' | grep -v '✔' | head -100
pass=$(sed -n 's/^ℹ pass \([0-9]*\)/\1/p' "$out/report")
fail=$(sed -n 's/^ℹ fail \([0-9]*\)/\1/p' "$out/report")
if [ "${pass:-}" = "" ]; then
	tail -50 "$out/report"; fail=$(( ${fail:-0} + 1 ))
fi
if [ $rc -ne 0 ] && [ "${fail:-0}" = 0 ]; then
	tail -50 "$out/report"; fail=1
fi
[ "${fail:-0}" != 0 ] && sed -n '/^✖ failing tests/,$p' "$out/report" | head -150
# LeakSanitizer's exit-time check warns when it could not stop a thread
# (it may then report false leaks, never fewer): a file with nothing but
# such warnings is not a finding, and is shown without failing the run.
notice='^==[0-9]+==Running thread [0-9]+ was not suspended\. False leaks are possible\.$'
for f in $(ls "$out" | grep -E '^(a|ub)san' || true); do
	if ! grep -qvE "$notice" "$out/$f"; then
		echo "$name: note, not a finding: $(head -1 "$out/$f") ($(wc -l < "$out/$f") lines)"
		rm -f "$out/$f"
	fi
done
reports=$(ls "$out" | grep -E '^(a|ub)san' || true)
if [ -n "$reports" ]; then
	echo "$name: sanitizer reports from the worker:"
	for f in $reports; do cat "$out/$f"; done | head -200
	fail=$((${fail:-0} + 1))
fi
echo "$name: ${pass:-0} passed, ${fail:-0} failed"
rm -rf "$out"
[ "${fail:-0}" = 0 ]
