#!/bin/sh
# lighttpd-ws.sh DIR PROCS - prints the lighttpd variables that name one
# WebSocket socket per worker process (conf/lighttpd-fcgichat.conf uses
# them), for conf/lighttpd.conf's include_shell:
#   var.fcgichat_ws_sockets   the list the workers take their socket from
#   var.fcgichat_ws_backends  the same sockets as mod_proxy backends
# Installed setups write these two lines by hand (conf/DEPLOYING.md).
set -eu
dir=$1 procs=$2
list="" backends=""
i=0
while [ "$i" -lt "$procs" ]; do
	list="$list${list:+ }$dir/ws-$i.sock"
	backends="$backends${backends:+, }(\"socket\" => \"$dir/ws-$i.sock\")"
	i=$((i + 1))
done
echo "var.fcgichat_ws_sockets = \"$list\""
echo "var.fcgichat_ws_backends = ( $backends )"
