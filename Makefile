# fcgichat - real-time web chat as a FastCGI program.
# `make run` starts the chat on http://127.0.0.1:8080/, `make test` tests it.

PORT ?= 8080
PROCS ?= 2
CC ?= cc
PKGS := libfcgi libsqlite3 libcjson nettle libpq
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-missing-field-initializers
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Isrc -Ibuild -I/usr/include/postgresql
LDLIBS := -lfcgi -lsqlite3 -lpq -lcjson -lnettle -lpthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
# The sanitizer build uses clang: its UBSan writes reports where
# UBSAN_OPTIONS=log_path says (gcc 12's goes to stderr only), and a second
# compiler's warnings are worth having.
ASAN_CC ?= clang

SRC := $(filter-out src/main.c,$(wildcard src/*.c))
SQL := $(sort $(wildcard sql/[0-9]*.sql))
SQL_PG := $(sort $(wildcard sql/pg/[0-9]*.sql))
UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

# Two builds of everything: build/ (normal) and build/asan/ (sanitizers).
OBJ := $(SRC:src/%.c=build/%.o) build/sql_migrations.o build/sql_pg_migrations.o
ASAN_OBJ := $(SRC:src/%.c=build/asan/%.o) build/asan/sql_migrations.o \
	build/asan/sql_pg_migrations.o

BIN := cgi-bin/fcgichat.fcgi
ASAN_BIN := build/asan/fcgichat.fcgi

.PHONY: all run deps deps-run test unit unit-asan integration \
	integration-asan fuzz bench clean init-db check-tools

all: $(BIN)

build build/asan build/tests build/asan/tests:
	mkdir -p $@

build/sql_migrations.c: src/embed-sql.sh $(SQL) | build
	sh src/embed-sql.sh $(SQL) > $@.tmp && mv $@.tmp $@
build/sql_pg_migrations.c: src/embed-sql.sh $(SQL_PG) | build
	sh src/embed-sql.sh -n store_pg_migrations $(SQL_PG) > $@.tmp && \
		mv $@.tmp $@

build/%.o: src/%.c src/*.h | build
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<
build/sql_migrations.o build/sql_pg_migrations.o: build/%.o: build/%.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
build/asan/%.o: src/%.c src/*.h | build/asan
	$(ASAN_CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(SAN) -c -o $@ $<
build/asan/sql_migrations.o build/asan/sql_pg_migrations.o: \
		build/asan/%.o: build/%.c | build/asan
	$(ASAN_CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

build/libchat.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^
build/asan/libchat.a: $(ASAN_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN): build/main.o build/libchat.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(ASAN_BIN): build/asan/main.o build/asan/libchat.a
	$(ASAN_CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# Unit tests: one program per module, cmocka, linked with the library.
build/tests/%: tests/unit/%.c build/libchat.a | build/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-prototypes -o $@ $^ \
		-lcmocka $(LDLIBS)
build/asan/tests/%: tests/unit/%.c build/asan/libchat.a | build/asan/tests
	$(ASAN_CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-prototypes $(SAN) \
		-o $@ $^ -lcmocka $(LDLIBS)

# Programs the fault tests run next to the worker.
build/tests/fdhold: tests/faults/fdhold.c | build/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $<

# --- running -------------------------------------------------------------

# Debian packages: what `make run` needs, and what the tests add.
DEPS_RUN := gcc make pkg-config libc6-dev libfcgi-dev libsqlite3-dev \
	libcjson-dev nettle-dev libpq-dev sqlite3 lighttpd
DEPS_TEST := $(DEPS_RUN) libcmocka-dev clang libclang-rt-14-dev \
	apache2 libapache2-mod-fcgid chromium curl postgresql

deps-run:
	@sh tests/deps.sh $(DEPS_RUN)
deps:
	@sh tests/deps.sh $(DEPS_TEST)
	@sh tests/deps.sh --npm

var:
	mkdir -m 0700 -p var

init-db: $(BIN) | var
	FCGICHAT_DB=$(CURDIR)/var/chat.db $(BIN) --init

# Foreground lighttpd on 127.0.0.1:$(PORT) with the project's config;
# Ctrl-C stops lighttpd and the workers it spawned.
run: deps-run
	@$(MAKE) --no-print-directory init-db
	@echo "fcgichat: http://127.0.0.1:$(PORT)/  (Ctrl-C stops)"
	FCGICHAT_ROOT=$(CURDIR) FCGICHAT_VAR=$(CURDIR)/var \
		FCGICHAT_BIN=$(CURDIR)/$(BIN) FCGICHAT_PROCS=$(PROCS) \
		PORT=$(PORT) exec /usr/sbin/lighttpd -D -f conf/lighttpd.conf

# `make run` behind a Basic login (conf/lighttpd-auth.conf) over a DEMO
# password file, var/users.htpasswd: alice, bob and carol, each with the
# password equal to the name. Messages they send carry "user" (API.md).
DEMO_USERS := alice bob carol
.PHONY: run-auth
run-auth: deps-run | var
	@sh conf/demo-users.sh var/users.htpasswd $(DEMO_USERS)
	@echo "fcgichat: DEMO login only - users $(DEMO_USERS), each with the password equal to the name"
	@FCGICHAT_AUTH_FILE=$(CURDIR)/var/users.htpasswd $(MAKE) --no-print-directory run

# The same behind Apache (conf/apache.conf; the system's Apache untouched):
# run-apache proxies to a worker it starts (mod_proxy_fcgi), run-fcgid has
# Apache spawn the workers (mod_fcgid). Ctrl-C stops all they started.
.PHONY: run-apache run-fcgid
run-apache run-fcgid: deps-run
	@sh tests/deps.sh apache2 libapache2-mod-fcgid
	@$(MAKE) --no-print-directory init-db
	@echo "fcgichat: http://127.0.0.1:$(PORT)/  (Ctrl-C stops)"
	FCGICHAT_ROOT=$(CURDIR) FCGICHAT_VAR=$(CURDIR)/var \
		FCGICHAT_BIN=$(CURDIR)/$(BIN) PORT=$(PORT) exec sh \
		conf/run-apache.sh $(if $(filter run-fcgid,$@),fcgid,proxy)

# Two hosts on one PostgreSQL database (conf/run-pg.sh): a throwaway
# cluster and two lighttpd on $(PORT) and $(PORT)+1. Ctrl-C stops all.
.PHONY: run-pg
run-pg: deps-run
	@sh tests/deps.sh postgresql
	@$(MAKE) --no-print-directory $(BIN)
	FCGICHAT_ROOT=$(CURDIR) FCGICHAT_BIN=$(CURDIR)/$(BIN) \
		FCGICHAT_PROCS=$(PROCS) PORT=$(PORT) exec sh conf/run-pg.sh

# --- tests ---------------------------------------------------------------

unit: $(UNIT:%=build/tests/%)
	@sh tests/run-unit.sh build/tests $(UNIT)
unit-asan: $(UNIT:%=build/asan/tests/%)
	@sh tests/run-unit.sh build/asan/tests $(UNIT)

integration: $(BIN)
	FCGICHAT_BIN=$(CURDIR)/$(BIN) sh tests/run-integration.sh
integration-asan: $(ASAN_BIN)
	FCGICHAT_BIN=$(CURDIR)/$(ASAN_BIN) FCGICHAT_ASAN=1 \
		sh tests/run-integration.sh

# Everything, normal and sanitized, then one summary line.
test: $(BIN) $(ASAN_BIN) $(UNIT:%=build/tests/%) \
		$(UNIT:%=build/asan/tests/%) build/tests/fdhold
	@sh tests/run-all.sh

# --- fuzzing -------------------------------------------------------------
# The libFuzzer targets, one line each: name (tests/fuzz/<name>.c, seeded
# from tests/fuzz/corpus/<name>/, with tests/fuzz/<name>.dict if there is
# one) and the largest input tried. `make fuzz` builds them into
# build/fuzz/ with clang, linked with the library compiled once for
# fuzzing, then tests/fuzz/run.sh replays each one's inputs that once
# crashed it (tests/fuzz/regress/<name>/) and fuzzes it for FUZZ_SECONDS.
FUZZ_TARGETS := \
	fuzz_utf8:4096 \
	fuzz_validate:9000 \
	fuzz_query:5000 \
	fuzz_last_event_id:256 \
	fuzz_json_send:20000 \
	fuzz_json_room:20000 \
	fuzz_import:20000 \
	fuzz_ws_frame:70000 \
	fuzz_http_head:20000 \
	fuzz_forwarded:4096 \
	fuzz_fcgi:20000
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJ := $(SRC:src/%.c=build/fuzz/%.o) build/fuzz/sql_migrations.o \
	build/fuzz/sql_pg_migrations.o
FUZZ_BIN := $(foreach t,$(FUZZ_TARGETS),build/fuzz/$(firstword $(subst :, ,$(t))))

build/fuzz:
	mkdir -p $@
build/fuzz/%.o: src/%.c src/*.h | build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) \
		-c -o $@ $<
build/fuzz/sql_migrations.o build/fuzz/sql_pg_migrations.o: \
		build/fuzz/%.o: build/%.c | build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build/fuzz/libchat.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libchat.a src/*.h
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) \
		-Wno-missing-prototypes -o $@ $< build/fuzz/libchat.a $(LDLIBS)

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BIN)
fuzz:
	@sh tests/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

# The worker under valgrind behind lighttpd.
.PHONY: valgrind
valgrind: $(BIN)
	@sh tests/deps.sh valgrind
	sh tests/valgrind/run.sh

# --- installing ----------------------------------------------------------
# GNU/Debian layout, described in conf/INSTALL.md and fcgichat(8):
#   make install [PREFIX=/usr/local] [DESTDIR=] [INSTALL_ETC=yes|no]
# The program is not put in a cgi-bin directory: a web server running it as
# a CGI program would pass query strings as command-line arguments.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib/fcgichat
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share/fcgichat
DOCDIR ?= $(PREFIX)/share/doc/fcgichat
MANDIR ?= $(PREFIX)/share/man
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/fcgichat
WEB_USER ?= www-data
# The Debian web server snippets also go to $(SYSCONFDIR) (conf-available,
# not enabled) when installing into /usr, or when asked.
INSTALL_ETC ?= $(if $(filter /usr,$(PREFIX)),yes,no)

INST_BIN = $(LIBDIR)/fcgichat.fcgi
INST_CONF = $(wildcard conf/*.conf conf/fcgichat.socket conf/fcgichat.service)
INST_DOCS = $(wildcard README.md API.md conf/INSTALL.md conf/DEPLOYING.md)
LIGHTTPD_AVAIL = $(SYSCONFDIR)/lighttpd/conf-available/50-fcgichat.conf
APACHE_AVAIL = $(SYSCONFDIR)/apache2/conf-available
# conf/apache-X.conf -> conf-available/fcgichat-X.conf; proxy-fcgi, the
# setup for many clients, is plain fcgichat.conf.
APACHE_SNIPPETS = $(wildcard conf/apache-proxy-fcgi.conf conf/apache-fcgid.conf)
apache_name = $(patsubst fcgichat-proxy-fcgi.conf,fcgichat.conf,$(patsubst \
	conf/apache-%,fcgichat-%,$(1)))
# Paths in the systemd units, as written for a /usr/local build.
UNIT_SED = -e 's|[^ =]*/lib/[a-z-]*/fcgichat\.fcgi|$(INST_BIN)|g' \
	-e 's|/var/lib/fcgichat|$(STATEDIR)|g'

.PHONY: install install-var uninstall

install: $(BIN)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(DATADIR)/sql/pg $(DESTDIR)$(DATADIR)/conf/errors \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BIN) $(DESTDIR)$(INST_BIN)
	ln -sf $(INST_BIN) $(DESTDIR)$(SBINDIR)/fcgichat
	cd htdocs && find . -type f ! -name '.*' | while read -r f; do \
		install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/htdocs/$$f" \
		|| exit 1; done
	install -m 0644 $(SQL) sql/README.md $(DESTDIR)$(DATADIR)/sql/
	install -m 0644 $(SQL_PG) sql/pg/README.md $(DESTDIR)$(DATADIR)/sql/pg/
	install -m 0644 $(INST_CONF) $(DESTDIR)$(DATADIR)/conf/
	install -m 0644 conf/errors/*.html $(DESTDIR)$(DATADIR)/conf/errors/
	install -m 0644 src/fcgichat.8 $(DESTDIR)$(MANDIR)/man8/fcgichat.8
	install -m 0644 $(INST_DOCS) $(DESTDIR)$(DOCDIR)/
	sh conf/install-conf.sh lighttpd conf/lighttpd-fcgichat.conf \
		$(INST_BIN) $(STATEDIR) $(PROCS) $(DATADIR)/htdocs \
		$(DATADIR)/conf/errors > $(DESTDIR)$(DATADIR)/conf/50-fcgichat.conf
	$(foreach f,$(APACHE_SNIPPETS),sh conf/install-conf.sh apache $(f) \
		$(INST_BIN) $(STATEDIR) $(DATADIR)/htdocs \
		> $(DESTDIR)$(DATADIR)/conf/$(call apache_name,$(f)) &&) true
	for u in $(wildcard conf/fcgichat.socket conf/fcgichat.service); do \
		install -d $(DESTDIR)$(SYSTEMDDIR) && sed $(UNIT_SED) "$$u" \
		> $(DESTDIR)$(SYSTEMDDIR)/$${u#conf/} || exit 1; done
ifeq ($(INSTALL_ETC),yes)
	install -D -m 0644 $(DESTDIR)$(DATADIR)/conf/50-fcgichat.conf \
		$(DESTDIR)$(LIGHTTPD_AVAIL)
	$(foreach f,$(APACHE_SNIPPETS),install -D -m 0644 \
		$(DESTDIR)$(DATADIR)/conf/$(call apache_name,$(f)) \
		$(DESTDIR)$(APACHE_AVAIL)/$(call apache_name,$(f)) &&) true
endif

# The database's directory, owned by the web server's user (run as root,
# not for packages: their postinst does it), and the database itself.
install-var:
	install -d -m 0700 -o $(WEB_USER) -g $(WEB_USER) $(DESTDIR)$(STATEDIR)
	runuser -u $(WEB_USER) -- env FCGICHAT_DB=$(DESTDIR)$(STATEDIR)/chat.db \
		$(DESTDIR)$(INST_BIN) --init

# Leaves $(STATEDIR) (the messages) alone. Snippets it installed in
# $(SYSCONFDIR) are disabled (their conf-enabled links removed) first, so
# that no web server is left with a link to nothing: reload them after.
uninstall:
	rm -f $(DESTDIR)$(INST_BIN) $(DESTDIR)$(SBINDIR)/fcgichat \
		$(DESTDIR)$(MANDIR)/man8/fcgichat.8 \
		$(DESTDIR)$(SYSTEMDDIR)/fcgichat.socket \
		$(DESTDIR)$(SYSTEMDDIR)/fcgichat.service
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(LIBDIR)
ifeq ($(INSTALL_ETC),yes)
	rm -f $(DESTDIR)$(LIGHTTPD_AVAIL) \
		$(DESTDIR)$(SYSCONFDIR)/lighttpd/conf-enabled/50-fcgichat.conf \
		$(foreach f,$(APACHE_SNIPPETS),\
		$(DESTDIR)$(APACHE_AVAIL)/$(call apache_name,$(f)) \
		$(DESTDIR)$(SYSCONFDIR)/apache2/conf-enabled/$(call apache_name,$(f)))
endif

# Speed, see tests/bench/run.sh: fcgichat behind lighttpd, the stack's floor,
# and with bench-compare nginx + Nchan in the same run.
.PHONY: bench bench-compare
bench: $(BIN)
	sh tests/bench/run.sh
bench-compare: $(BIN)
	sh tests/bench/run.sh --compare

clean:
	rm -rf build $(BIN)
