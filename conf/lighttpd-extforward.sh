#!/bin/sh
# lighttpd-extforward.sh - for conf/lighttpd.conf's include_shell: when
# FCGICHAT_TRUSTED_PROXIES (space-separated addresses or CIDR ranges) is
# set, prints the lighttpd lines that trust them as reverse proxies
# (conf/lighttpd-extforward.conf); else nothing. Installed setups write
# these lines by hand (conf/DEPLOYING.md).
set -eu
list=""
for a in ${FCGICHAT_TRUSTED_PROXIES:-}; do
	case $a in
	*[!0-9A-Fa-f.:/]*)
		echo "lighttpd-extforward.sh: not an address: $a" >&2
		exit 1 ;;
	esac
	list="$list${list:+, }\"$a\" => \"trust\""
done
[ -n "$list" ] || exit 0
echo "var.fcgichat_forwarders = ( $list )"
echo "include \"$(cd "$(dirname "$0")" && pwd)/lighttpd-extforward.conf\""
