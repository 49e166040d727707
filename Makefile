# fcgichat - real-time web chat as a FastCGI program.
# `make run` starts the chat on http://127.0.0.1:8080/, `make test` tests it.

PORT ?= 8080
PROCS ?= 2
CC ?= cc
PKGS := libfcgi libsqlite3 libcjson
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-missing-field-initializers
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Isrc -Ibuild
LDLIBS := -lfcgi -lsqlite3 -lcjson -lpthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

SRC := $(filter-out src/main.c,$(wildcard src/*.c))
SQL := $(sort $(wildcard sql/[0-9]*.sql))
UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

# Two builds of everything: build/ (normal) and build/asan/ (sanitizers).
OBJ := $(SRC:src/%.c=build/%.o) build/sql_migrations.o
ASAN_OBJ := $(SRC:src/%.c=build/asan/%.o) build/asan/sql_migrations.o

BIN := cgi-bin/fcgichat.fcgi
ASAN_BIN := build/asan/fcgichat.fcgi

.PHONY: all run deps deps-run test unit unit-asan integration \
	integration-asan fuzz bench clean init-db check-tools

all: $(BIN)

build build/asan build/tests build/asan/tests:
	mkdir -p $@

build/sql_migrations.c: src/embed-sql.sh $(SQL) | build
	sh src/embed-sql.sh $(SQL) > $@.tmp && mv $@.tmp $@

build/%.o: src/%.c src/*.h | build
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<
build/sql_migrations.o: build/sql_migrations.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
build/asan/%.o: src/%.c src/*.h | build/asan
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(SAN) -c -o $@ $<
build/asan/sql_migrations.o: build/sql_migrations.c | build/asan
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

build/libchat.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^
build/asan/libchat.a: $(ASAN_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN): build/main.o build/libchat.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(ASAN_BIN): build/asan/main.o build/asan/libchat.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# Unit tests: one program per module, cmocka, linked with the library.
build/tests/%: tests/unit/%.c build/libchat.a | build/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-prototypes -o $@ $^ \
		-lcmocka $(LDLIBS)
build/asan/tests/%: tests/unit/%.c build/asan/libchat.a | build/asan/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-prototypes $(SAN) \
		-o $@ $^ -lcmocka $(LDLIBS)

# --- running -------------------------------------------------------------

# Debian packages: what `make run` needs, and what the tests add.
DEPS_RUN := gcc make pkg-config libc6-dev libfcgi-dev libsqlite3-dev \
	libcjson-dev sqlite3 lighttpd
DEPS_TEST := $(DEPS_RUN) libcmocka-dev clang libclang-rt-14-dev \
	apache2 libapache2-mod-fcgid chromium curl

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
		$(UNIT:%=build/asan/tests/%)
	@sh tests/run-all.sh

clean:
	rm -rf build $(BIN)
