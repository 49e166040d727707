#!/bin/sh
# lighttpd-auth.sh - for conf/lighttpd.conf's include_shell: when
# FCGICHAT_AUTH_FILE names a password file (htpasswd format), prints the
# lines that put conf/lighttpd-auth.conf (Basic authentication) in front
# of the chat; otherwise nothing, and the chat is open as before.
set -eu
file=${FCGICHAT_AUTH_FILE:-}
[ -n "$file" ] || exit 0
case $file in
*'"'* | *'\'*) echo "lighttpd-auth.sh: FCGICHAT_AUTH_FILE has a quote or backslash" >&2; exit 1 ;;
esac
if [ ! -r "$file" ]; then
	echo "lighttpd-auth.sh: cannot read FCGICHAT_AUTH_FILE $file" >&2
	exit 1
fi
echo "var.fcgichat_auth_file = \"$file\""
echo "include \"$(cd "$(dirname "$0")" && pwd)/lighttpd-auth.conf\""
