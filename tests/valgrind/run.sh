#!/bin/sh
# run.sh - `make valgrind`: the worker (cgi-bin/fcgichat.fcgi, the normal
# build) runs under valgrind --leak-check=full behind the project's real
# lighttpd for a short scenario of every kind of request (scenario.mjs),
# then lighttpd stops it with SIGTERM, so that main returns and memcheck
# checks for leaks at exit. Passes when every worker's log says
# "definitely lost: 0" (or that no leaks are possible) and reports no
# memory errors. The logs stay in build/valgrind/.
set -u
cd "$(dirname "$0")/../.."
bin=$PWD/cgi-bin/fcgichat.fcgi
out=$PWD/build/valgrind
rm -rf "$out" && mkdir -p "$out" || exit 1

# lighttpd passes the worker only the variables its config names, so the
# wrapper it starts has the paths written in.
cat > "$out/worker.sh" <<WRAP
#!/bin/sh
exec valgrind --leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite --track-origins=yes --num-callers=30 \\
	--log-file="$out/vg.%p" "$bin" "\$@"
WRAP
chmod 0755 "$out/worker.sh"

FCGICHAT_BIN="$out/worker.sh" node tests/valgrind/scenario.mjs || {
	echo "valgrind: the scenario failed"; exit 1; }

fail=0
n=0
for log in "$out"/vg.*; do
	[ -f "$log" ] || continue
	n=$((n + 1))
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d ,)
	if grep -q 'All heap blocks were freed -- no leaks are possible' "$log"; then
		lost=0
	fi
	echo "valgrind: $(basename "$log"): definitely lost: ${lost:-?} bytes, ${errors:-?} errors"
	if [ "${lost:-x}" != 0 ] || [ "${errors:-x}" != 0 ]; then
		fail=1
		sed -n '1,200p' "$log"
	fi
done
if [ "$n" -lt 3 ]; then
	echo "valgrind: expected logs of --init and two workers, found $n"; fail=1
fi
[ $fail = 0 ] && echo "valgrind: passed ($n processes, definitely lost: 0)"
exit $fail
