#!/bin/sh
# demo-users.sh FILE USER... - writes an htpasswd file (mode 0600) in
# which each USER's password is the user name: a DEMO login for `make
# run-auth`, never for a real site (make real ones with `htpasswd -B`,
# apache2-utils). The lines are {SHA} (unsalted SHA-1, base64), which
# lighttpd's htpasswd backend and Apache's AuthUserFile both read; made
# with coreutils alone.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 FILE USER..." >&2; exit 2; }
file=$1
shift
umask 077
: > "$file.tmp"
for u in "$@"; do
	hex=$(printf '%s' "$u" | sha1sum | cut -c1-40)
	# hex -> bytes, by octal escapes (POSIX printf has no \x).
	bin=""
	for h in $(echo "$hex" | sed 's/../& /g'); do
		bin="$bin\\$(printf '%03o' "0x$h")"
	done
	printf '%s:{SHA}%s\n' "$u" "$(printf "$bin" | base64)" >> "$file.tmp"
done
mv "$file.tmp" "$file"
