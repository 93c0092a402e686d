# safesock: `make` builds everything, `make test` runs every test, `make
# unit` the tests that need no root or package. SwiftPM builds the Swift
# parts; this file adds what SwiftPM cannot (the preload library: the C in
# CShim/ and the shared C sources, with the matcher in Embedded Swift) and
# puts the results in build/.

SWIFT  ?= swift
BUILD  := build
CONFIG ?= release
SWIFTFLAGS := -c $(CONFIG)

# Debian packages the tests run for real: tclsh (glob differential, the page's
# example), curl and python3.11 (clients under the library), unshare and mount
# (private /etc/hosts), readelf and nm (the library's shape), ip (verify's
# private network namespace), libc6-dev (libc.a, for the static client the
# kernel backstop is tested with); and the real programs `run --kernel` is
# tried with (KernelProgramsTests): Go (a static client with its own
# resolver), ruby, perl's LWP, wget, git, dig, a JDK for `java Client.java`.
TEST_PACKAGES := tcl curl python3.11 util-linux mount binutils iproute2 libc6-dev \
                 golang-go ruby libwww-perl wget git bind9-dnsutils python3-pip libcap2-bin \
                 dpkg-dev systemd
# (dpkg-dev: dpkg-shlibdeps computes the .deb's Depends; systemd:
# systemd-analyze verifies the unit docs/deploy.md shows.)

CC     ?= cc
LIB    := $(BUILD)/lib/libsafesock.so
MATCH_SOURCES := $(sort $(wildcard Sources/SafesockMatch/*.swift))
SHIM_SOURCES  := $(sort $(wildcard CShim/*.c)) Sources/SafesockABI/abi.c Sources/SafesockCanonical/canonical.c \
                 Sources/SafesockPublication/publication.c Sources/SafesockDecision/decision.c Sources/SafesockDecision/denial.c \
                 Sources/SafesockExec/exec_check.c
# -flto: the small per-family files inline into each other (fewer
# instructions a connect), and stay small files to read.
SHIM_CFLAGS   := -std=c11 -D_GNU_SOURCE -O2 -flto -fPIC -fvisibility=hidden -fstack-protector-strong \
                 -ISources/SafesockABI/include \
                 -Wall -Wextra -Werror
# The matcher, in Embedded Swift: no runtime library, only libc. -O rather
# than -Osize: 12% fewer instructions a decision, and no larger a library.
EMBEDDED_FLAGS := -target x86_64-unknown-linux-gnu -enable-experimental-feature Embedded -wmo \
                  -parse-as-library -O -Xcc -fPIC -Xfrontend -function-sections

TEST_PROGRAMS := $(BUILD)/test/probe $(BUILD)/test/swift_probe \
                 $(BUILD)/test/libsafesock-flipped.so $(BUILD)/test/static_client $(BUILD)/test/client \
                 $(BUILD)/test/go_client $(BUILD)/test/tfo_swap $(BUILD)/test/symbols_check $(BUILD)/test/libchain.so

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all cli lib test-programs test unit bench bench-deps demo deps install deb clean

all: cli lib

# The CLI links the Swift runtime statically: it runs where no toolchain
# is, and starts without ld.so resolving some 20 shared libraries (most of
# `run --kernel`'s start-up before: docs/benchmarks.md). Tests, the bench
# and `make install` all use this one binary. Built in a folder of its own:
# `swift test` builds without --static-swift-stdlib, and sharing .build the
# two would rebuild everything each time the other ran.
CLI_SCRATCH := --scratch-path .build-cli
cli:
	$(SWIFT) build $(SWIFTFLAGS) $(CLI_SCRATCH) --product safesock --static-swift-stdlib
	@mkdir -p $(BUILD)/bin $(BUILD)/share/safesock/profiles
	cp "$$($(SWIFT) build $(SWIFTFLAGS) $(CLI_SCRATCH) --show-bin-path)/safesock" $(BUILD)/bin/safesock
	cp policies/profiles/*.cfg $(BUILD)/share/safesock/profiles/

lib: $(LIB)

$(BUILD)/obj/match.o: $(MATCH_SOURCES)
	@mkdir -p $(@D)
	swiftc $(EMBEDDED_FLAGS) -module-name SafesockMatch -emit-object $(MATCH_SOURCES) -o $@

# The version script is what keeps swift_* symbols from being exported.
# Lazy binding (no -z now): binding every import at load added some 19,000
# instructions to the start of every program; RELRO stays.
$(LIB): $(BUILD)/obj/match.o $(SHIM_SOURCES) $(wildcard CShim/*.h Sources/SafesockABI/include/*.h) CShim/exports.map
	@mkdir -p $(@D)
	$(CC) -shared $(SHIM_CFLAGS) $(SHIM_SOURCES) $(BUILD)/obj/match.o -o $@ \
	  -Wl,--gc-sections -Wl,--version-script=CShim/exports.map -Wl,-z,relro

test-programs: $(TEST_PROGRAMS)

$(BUILD)/test/probe: Tests/programs/probe.c Sources/SafesockABI/include/safesock_name_memory.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -ISources/SafesockABI/include $< -o $@ -pthread

# Static: the preload library cannot see it; the kernel backstop must.
$(BUILD)/test/static_client: Tests/programs/static_client.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -Werror -pthread $< -o $@

# The same client dynamically linked: the preload library sees it too.
$(BUILD)/test/client: Tests/programs/static_client.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Werror -pthread $< -o $@

# A race on the descriptor a call let go on is made with (KernelAttackTests).
$(BUILD)/test/tfo_swap: Tests/programs/tfo_swap.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -pthread $< -o $@

# A Go net/http client, CGO_ENABLED=0: static, with Go's own resolver.
# Offline, with its caches in the build folder (CI may have no HOME).
$(BUILD)/test/go_client: Tests/programs/go_client/main.go Tests/programs/go_client/go.mod
	@mkdir -p $(@D) $(CURDIR)/$(BUILD)/go
	cd Tests/programs/go_client && env -u GOFLAGS GOCACHE=$(CURDIR)/$(BUILD)/go/cache GOPATH=$(CURDIR)/$(BUILD)/go/path \
	  GOENV=off GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod GOTELEMETRY=off CGO_ENABLED=0 \
	  go build -trimpath -o $(CURDIR)/$@ .

# The library's symbol walk, compiled into a program that holds it to dlsym.
$(BUILD)/test/symbols_check: Tests/programs/symbols_check.c CShim/symbols.c CShim/symbols.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -ICShim Tests/programs/symbols_check.c CShim/symbols.c -o $@ -ldl

# A second preload library with its own connect.
$(BUILD)/test/libchain.so: Tests/programs/chain.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -std=c11 -O2 -Wall -Werror $< -o $@ -ldl

# A deliberately broken library (one port's verdict flipped): `verify` must notice.
$(BUILD)/test/libsafesock-flipped.so: $(BUILD)/obj/match.o $(SHIM_SOURCES) $(wildcard CShim/*.h Sources/SafesockABI/include/*.h) CShim/exports.map
	@mkdir -p $(@D)
	$(CC) -shared $(SHIM_CFLAGS) -DSAFESOCK_TEST_FLIP_PORT=1030 $(SHIM_SOURCES) $(BUILD)/obj/match.o -o $@ \
	  -Wl,--gc-sections -Wl,--version-script=CShim/exports.map

# A Swift host program (Foundation, concurrency) for the library to live in.
$(BUILD)/test/swift_probe: Tests/programs/swift_probe.swift
	@mkdir -p $(@D)
	swiftc -O -parse-as-library $< -o $@

# The tests run what `make` built, as a user would: the CLI, the library,
# the test clients. The corruption suite runs again under the address
# sanitizer, in its own build directory. SAFESOCK_TEST_ALL=1: no test may
# be skipped for want of root, a package or a built file; it fails instead
# (Tests/SafesockTestSupport/Requirements.swift).
TEST_ENV := SAFESOCK_BIN="$(CURDIR)/$(BUILD)/bin/safesock" SAFESOCK_LIB="$(CURDIR)/$(LIB)" \
            SAFESOCK_TESTBIN="$(CURDIR)/$(BUILD)/test" SAFESOCK_ROOT="$(CURDIR)" \
            SAFESOCK_INSTALLED="$(CURDIR)/$(BUILD)/test/prefix"
# `make install` is tested on a scratch prefix, installed before the suites
# run (a build inside `swift test` would wait on its lock forever); the
# .deb is built before them too (PackageTests installs it).
test: all test-programs
	rm -rf $(BUILD)/test/prefix
	$(MAKE) -s install PREFIX="$(CURDIR)/$(BUILD)/test/prefix"
	$(MAKE) -s deb
	$(TEST_ENV) SAFESOCK_TEST_ALL=1 $(SWIFT) test $(SWIFTFLAGS) --disable-xctest
	$(TEST_ENV) SAFESOCK_TEST_ALL=1 $(SWIFT) test $(SWIFTFLAGS) --disable-xctest --sanitize=address \
	  --scratch-path .build-asan --filter CorruptionTests

# Every test that needs no root, no Debian package, no namespace and no
# built library: the modules' own suites and the CLI's, in under a minute.
# The end-to-end suites (SafesockEndToEndTests) are left to `make test`;
# a test here that needs a package it cannot find is skipped and says so.
unit: cli
	$(TEST_ENV) $(SWIFT) test $(SWIFTFLAGS) --disable-xctest --skip SafesockEndToEndTests

# Figures as tables, and build/bench.json (docs/benchmarks.md says what they
# mean). The bench's own programs, and the peers it is measured against.
BENCH_PACKAGES := valgrind proxychains4 torsocks util-linux mount python3-venv

$(BUILD)/bench/netbench: Tests/bench/netbench.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Werror $< -o $@

# The same workloads as a static binary: what only `run --kernel` can see.
$(BUILD)/bench/netbench-static: Tests/bench/netbench.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Werror -static $< -o $@

# The floor of run --kernel's design: notification + ADDFD and nothing else.
$(BUILD)/bench/notify_floor: Tests/bench/notify_floor.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Werror $< -o $@

$(BUILD)/bench/empty: Tests/bench/empty.c
	@mkdir -p $(@D)
	$(CC) -O2 $< -o $@

$(BUILD)/bench/empty-preload.so: Tests/bench/empty_preload.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O2 $< -o $@

# Static, so that its own pages do not count in the child's peak RSS.
$(BUILD)/bench/rss: Tests/bench/rss.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -Werror $< -o $@

bench: all bench-deps $(BUILD)/bench/netbench $(BUILD)/bench/netbench-static $(BUILD)/bench/notify_floor $(BUILD)/bench/empty $(BUILD)/bench/empty-preload.so $(BUILD)/bench/rss \
       $(BUILD)/bench/venv/sandlock-0.9.0
	$(SWIFT) build $(SWIFTFLAGS) --product safesock-bench
	$(SWIFT) build $(SWIFTFLAGS) --product safesock  # the dynamic CLI, for the start-up row (CLIStartup)
	"$$($(SWIFT) build $(SWIFTFLAGS) --show-bin-path)/safesock-bench"

# sandlock, `run --kernel`'s closest peer, from PyPI into a venv of the
# bench's own. Without PyPI the bench says so and measures the rest.
$(BUILD)/bench/venv/sandlock-0.9.0:
	@mkdir -p $(BUILD)/bench
	python3 -m venv $(BUILD)/bench/venv && $(BUILD)/bench/venv/bin/pip install -q sandlock==0.9.0 && touch $@ \
	  || echo "note: sandlock 0.9.0 could not be installed: the bench measures without it"

bench-deps:
	@$(MAKE) -s deps TEST_PACKAGES="$(BENCH_PACKAGES)"

# The manual page's example decided, and the home policy enforced in curl.
demo: all
	@Tests/demo.sh

# The CLI in PREFIX/bin (stripped: 14 MB), the library in PREFIX/lib/safesock
# (where `run` looks for it), the man pages in PREFIX/share/man, the
# profiles in PREFIX/share/safesock/profiles (where `--profile` looks). The CLI
# links the Swift runtime statically (see `cli`), so it runs where no
# toolchain is.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/safesock \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/safesock/profiles
	install -m 0755 -s $(BUILD)/bin/safesock $(DESTDIR)$(PREFIX)/bin/safesock
	install -m 0644 policies/profiles/*.cfg $(DESTDIR)$(PREFIX)/share/safesock/profiles/
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/safesock/libsafesock.so
	install -m 0644 docs/man/safesock.1 $(DESTDIR)$(PREFIX)/share/man/man1/safesock.1
	install -m 0644 docs/man/safesock-policy.5 $(DESTDIR)$(PREFIX)/share/man/man5/safesock-policy.5

# build/safesock_VERSION_amd64.deb: the `install` layout under /usr, Depends
# computed from the binaries (packaging/deb.sh says how).
deb: all
	packaging/deb.sh

# Installs the test tools that are missing (needs root, as CI has).
deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "test packages present: $(TEST_PACKAGES)"; fi

clean:
	rm -rf $(BUILD) .build .build-cli .build-asan
