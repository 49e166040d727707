#!/bin/sh
# run.sh - builds each libFuzzer target into build/fuzz/, replays the inputs
# that once crashed it (tests/fuzz/regress/<target>/), then fuzzes it for
# FUZZ_SECONDS (default 60) on a copy of its seed corpus and prints its
# executions. Exits non-zero if a target fails to build or crashes; the
# crashing input is then build/fuzz/<target>-crash-* (fix the bug, and keep
# the input in tests/fuzz/regress/<target>/).
set -u
cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang}
SECS=${FUZZ_SECONDS:-60}
OUT=build/fuzz
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined \
-fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -Isrc -Ibuild \
-Wall -Wextra -Werror -Wno-missing-field-initializers"

# The worker's sources but main.c (the command line; fuzz_fcgi runs worker_serve).
LIBSRC=$(ls src/*.c | grep -v '^src/main\.c$' | tr '\n' ' ')

# target, largest input tried, the sources it tests
TARGETS="\
fuzz_utf8 4096 src/utf8.c
fuzz_validate 9000 src/validate.c src/utf8.c
fuzz_query 5000 src/query.c
fuzz_last_event_id 256 src/query.c
fuzz_json_send 20000 src/json.c src/json_encode.c src/validate.c src/utf8.c src/buf.c src/chat.c
fuzz_import 20000 src/csv.c src/json.c src/query.c src/validate.c src/utf8.c src/buf.c src/chat.c
fuzz_fcgi 20000 $LIBSRC build/sql_migrations.c -lfcgi -lsqlite3 -lpthread"

fail=0

# build NAME SRC... - compiles the target; returns non-zero on failure.
build() {
	name=$1; shift
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$OUT/$name" "tests/fuzz/$name.c" "$@" -lcjson \
		>"$OUT/$name.build.log" 2>&1 ||
		{ cat "$OUT/$name.build.log"; return 1; }
}

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

mkdir -p "$OUT" || exit 1
while read -r name maxlen srcs; do
	# shellcheck disable=SC2086
	if ! build "$name" $srcs; then
		echo "$name: BUILD FAILED"; fail=1; continue
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
done <<EOF
$TARGETS
EOF
exit $fail
