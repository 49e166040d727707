#!/bin/sh
# run.sh NAME:MAXLEN... - runs each libFuzzer target that `make fuzz` built
# into build/fuzz/ (the Makefile's FUZZ_TARGETS table gives the names and
# the largest input tried): replays the inputs that once crashed it
# (tests/fuzz/regress/<target>/), then fuzzes it for FUZZ_SECONDS (default
# 60) on a copy of its seed corpus, with its dictionary if it has one, and
# prints its executions. Exits non-zero if a target is missing, fails a
# replay or crashes; the crashing input is then build/fuzz/<target>-crash-*
# (fix the bug, and keep the input in tests/fuzz/regress/<target>/).
set -u
cd "$(dirname "$0")/../.."

SECS=${FUZZ_SECONDS:-60}
OUT=build/fuzz
[ $# -gt 0 ] || { echo "usage: $0 NAME:MAXLEN... (make fuzz passes them)"; exit 2; }

fail=0

# replay NAME - runs every kept crashing input once; sets $kept.
replay() {
	dir=tests/fuzz/regress/$1
	kept=0
	[ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || return 0
	kept=$(ls "$dir" | wc -l)
	"$OUT/$1" "$dir"/* >"$OUT/$1.regress.log" 2>&1 ||
		{ tail -30 "$OUT/$1.regress.log"; return 1; }
}

# fuzz NAME MAXLEN - fuzzes on a fresh copy of the seed corpus.
fuzz() {
	corpus=$OUT/corpus/$1
	dict=tests/fuzz/$1.dict
	rm -rf "$corpus" && mkdir -p "$corpus" &&
		cp tests/fuzz/corpus/"$1"/* "$corpus"/ || return 1
	[ -f "$dict" ] && set -- "$1" "$2" "-dict=$dict"
	"$OUT/$1" -max_total_time="$SECS" -max_len="$2" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$OUT/$1-" ${3:+"$3"} \
		"$corpus" >"$OUT/$1.log" 2>&1
}

for target in "$@"; do
	name=${target%%:*}
	maxlen=${target#*:}
	case $maxlen in '' | *[!0-9]*) echo "$target: not NAME:MAXLEN"; fail=1; continue ;; esac
	if [ ! -x "$OUT/$name" ]; then
		echo "$name: NOT BUILT (make fuzz builds $OUT/$name)"; fail=1
		continue
	fi
	if ! replay "$name"; then
		echo "$name: REGRESSION (see $OUT/$name.regress.log)"; fail=1
		continue
	fi
	if fuzz "$name" "$maxlen"; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
			"$OUT/$name.log")
		units=$(ls "$OUT/corpus/$name" | wc -l)
		echo "$name: ${execs:-?} executions in ${SECS}s, corpus" \
			"$units inputs, $kept regress inputs ok, no crash"
	else
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*: Assertion)' \
			"$OUT/$name.log" | head -5
		echo "$name: CRASH (see $OUT/$name.log and $OUT/$name-crash-*)"
		fail=1
	fi
done
exit $fail
