#!/bin/sh
# install-conf.sh - writes a web server snippet for the installed fcgichat to
# stdout, made at `make install` time from the snippets in conf/ with the
# installed paths, so that conf/ stays the one source:
#   install-conf.sh lighttpd SNIPPET BIN STATEDIR PROCS HTDOCS ERRORS
#     -> /etc/lighttpd/conf-available/50-fcgichat.conf
#        (lighty-enable-mod fcgichat): the paths and one WebSocket socket
#        per worker process (lighttpd-ws.sh), then the snippet itself
#   install-conf.sh apache SNIPPET BIN STATEDIR HTDOCS
#     -> /etc/apache2/conf-available/fcgichat*.conf (a2enconf): Defines
#        that the snippet's <IfDefine !...> defaults give way to, then the
#        whole snippet (conf/apache-*.conf, its notes included), then the
#        page under /chat/ and the Authorization header for /api/stats
set -eu

# The snippet without its leading comment block (how to include it by
# hand, which the installed file replaces).
body() {
	sed '1,/^$/d' "$1"
}

lighttpd() {
	snippet=$1 bin=$2 state=$3 procs=$4 htdocs=$5 errors=$6
	cat <<EOF
# 50-fcgichat.conf - fcgichat (real-time chat) for this lighttpd, made by
# \`make install\` from $(basename "$snippet"). Enable it with
#   lighty-enable-mod fcgichat && systemctl reload lighttpd
# The page is at /chat/, the API at /api/. $state must exist, owned by
# www-data, mode 0700, with the database made by
#   runuser -u www-data -- env FCGICHAT_DB=$state/chat.db $bin --init
# Settings (man 8 fcgichat): add FCGICHAT_* variables to "bin-environment"
# below, or to lighttpd's own environment (systemctl edit lighttpd), which
# "bin-copy-environment" passes on. This file is yours to edit.

var.fcgichat_bin = "$bin"
var.fcgichat_var = "$state"
var.fcgichat_procs = $procs
var.fcgichat_errors = "$errors"
# WebSocket: one socket per worker process (as many as fcgichat_procs),
# in the state directory; each worker takes a free one.
$(sh "$(dirname "$0")/lighttpd-ws.sh" "$state" "$procs")

EOF
	body "$snippet"
	cat <<EOF

# The chat page.
server.modules += ( "mod_alias" )
alias.url += ( "/chat/" => "$htdocs/" )
EOF
}

apache() {
	snippet=$1 bin=$2 state=$3 htdocs=$4
	cat <<EOF
# fcgichat (real-time chat) for this Apache, made by \`make install\` from
# $(basename "$snippet"). Enable one fcgichat conf, by its name without
# .conf:  a2enconf NAME && systemctl reload apache2  (the notes below say
# which modules and services it needs). The page is at /chat/, the API at
# /api/. $state must exist, owned by www-data, mode 0700 (man 8
# fcgichat). This file is yours to edit.
Define FCGICHAT_BIN $bin
Define FCGICHAT_DB $state/chat.db
Define FCGICHAT_WS_DIR $state

EOF
	cat "$snippet"
	cat <<EOF

# The chat page.
Alias /chat/ "$htdocs/"
<Directory "$htdocs">
    Require all granted
    Options None
    AllowOverride None
</Directory>
EOF
}

kind=$1
shift
case $kind in
lighttpd) [ $# -eq 6 ] && lighttpd "$@" ;;
apache) [ $# -eq 4 ] && apache "$@" ;;
*) echo "usage: install-conf.sh lighttpd|apache ..." >&2; exit 2 ;;
esac
