#!/bin/sh
# run-unit.sh DIR TEST... - runs each cmocka unit test program in DIR and
# prints "<name>: N passed, N failed" (counted in test cases; name is
# SUITE_NAME, default unit).
name=${SUITE_NAME:-unit}
dir=$1; shift
pass=0; fail=0
for t in "$@"; do
	out=$("$dir/$t" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR) |^\[  PASSED  \]|^\[==========\]' | sed "s/^/$t: /"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ] && [ -z "$f" ]; then
		printf '%s\n' "$out" | tail -20
		echo "$t: exited with $rc"; fail=$((fail + 1))
	fi
done
echo "$name: $pass passed, $fail failed"
[ $fail -eq 0 ]
