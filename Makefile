# Octopus Supervisor: octoBrain (the head) and octoTentacle (on every host).
#
#   make            build both programs (build/octoBrain, build/octoTentacle)
#   make test       install missing packages, then unit and system tests,
#                   normal build and under AddressSanitizer + UBSan,
#                   and a 10 s smoke run of every fuzz target
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (tests/fuzz/)
#   make demo       a brain and two tentacles on loopback
#   make install    install under $(PREFIX) (DESTDIR honoured)
#   make clean

PREFIX	?= /usr/local
DESTDIR	?=
VERSION	 = 0.1.0
PYTHON	 = /usr/bin/python3

# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer into
# build/asan, so both builds can sit side by side.
ifeq ($(SAN),1)
BUILD	?= build/asan
OPT	 = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined
LDSAN	 = -fsanitize=address,undefined
else
BUILD	?= build
OPT	 = -O2 -g -D_FORTIFY_SOURCE=2
LDSAN	 =
endif

CC	?= gcc
PKGS	 = openssl sqlite3 libevent libevent_openssl jansson libbsd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS	+= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 \
	   -Wno-unused-parameter -fstack-protector-strong -fPIE $(OPT) \
	   -iquote common -DOCTO_VERSION='"$(VERSION)"' \
	   -DOCTO_WEB_ROOT='"$(PREFIX)/share/octopus/web"' \
	   -DOCTO_SCRIPTS_DIR='"$(PREFIX)/lib/octopus/scripts"' \
	   -DOCTO_CHECKS_FILE='"$(PREFIX)/share/octopus/audit/CHECKS"' \
	   $(PKG_CFLAGS)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now $(LDSAN)
LDLIBS	+= $(PKG_LIBS) -lpthread
# The brain's children confine themselves with seccomp (brain/confine.c).
BRAIN_LIBS = -lseccomp

COMMON_SRC	= $(wildcard common/*.c)
BRAIN_SRC	= $(wildcard brain/*.c)
TENTACLE_SRC	= $(wildcard tentacle/*.c)
UNIT_SRC	= $(wildcard tests/unit/test_*.c)

COMMON_OBJ	= $(COMMON_SRC:%.c=$(BUILD)/%.o)
BRAIN_OBJ	= $(BRAIN_SRC:%.c=$(BUILD)/%.o)
TENTACLE_OBJ	= $(TENTACLE_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN	= $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Brain objects a test_brain_* unit test links: all but the maestro's
# (main() and the files that share its state, brain/maestro.h).
MAESTRO_OBJ	= $(addprefix $(BUILD)/brain/,maestro.o api.o fleet.o runs.o \
		  results.o startup.o users.o proofs.o keepalive.o \
		  fleetaddrs.o scripts.o scriptkey.o push.o events.o \
		  metrics.o ledgercheck.o groups.o schedules.o \
		  lists.o compliance.o)
BRAIN_LIB_OBJ	= $(filter-out $(MAESTRO_OBJ),$(BRAIN_OBJ))
# Tentacle objects a test_tentacle_* unit test links: all but main().
TENTACLE_LIB_OBJ = $(filter-out $(BUILD)/tentacle/tentacle.o,$(TENTACLE_OBJ))


.PHONY: bench
.PHONY: all deps test unit-test system-test check-sanitized demo install \
	install-brain install-tentacle install-conf-man uninstall clean

all: $(BUILD)/octoBrain $(BUILD)/octoTentacle $(BUILD)/tests/scriptpush

deps:
	@./scripts/deps

$(BUILD)/%.o: %.c $(wildcard common/*.h brain/*.h tentacle/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/octoBrain: $(BRAIN_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(BRAIN_LIBS)

$(BUILD)/octoTentacle: $(TENTACLE_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_brain_%: tests/unit/test_brain_%.c $(COMMON_OBJ) \
    $(BRAIN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -iquote brain $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(BRAIN_LIBS) -lcmocka

# make bench's ledger cost (issue 17): the brain's database code alone.
$(BUILD)/tests/bench_ledger: tests/bench/ledger.c $(COMMON_OBJ) \
    $(BRAIN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -iquote brain $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(BRAIN_LIBS)

$(BUILD)/tests/test_tentacle_%: tests/unit/test_tentacle_%.c $(COMMON_OBJ) \
    $(TENTACLE_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -iquote tentacle $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The system tests' stand-in for the brain's push of managed scripts.
$(BUILD)/tests/scriptpush: tests/system/scriptpush.c $(COMMON_OBJ) \
    $(BUILD)/tentacle/enrolment.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -iquote tentacle $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit-test: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# System tests drive the real binaries of $(BUILD); -rs: why a test
# skipped, if one did.
system-test: all
	OCTO_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -rs tests/system

# The whole suite: packages, then both builds, unit then system tests.
test: deps
	$(MAKE) all unit-test
	$(MAKE) fuzz-smoke
	$(MAKE) system-test
	$(MAKE) SAN=1 all unit-test
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) SAN=1 system-test

# libFuzzer targets (tests/fuzz/, see its README): clang builds the
# project's objects again into build/fuzz under ASan + UBSan with coverage,
# and links each tests/fuzz/fuzz_<name>.c with -fsanitize=fuzzer.
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_JOBS=2] [FUZZ_TARGETS="wire ipc"]
#   make fuzz-smoke     replay tests/fuzz/regressions/, then 10 s each
#   make fuzz-corpus    rewrite tests/fuzz/corpus/ with the encoders
FUZZ_BUILD	 = build/fuzz
FUZZ_CC		 = clang
FUZZ_SECONDS	?= 60
FUZZ_JOBS	?= 2
FUZZ_TARGETS	?=
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	 = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
		   -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -iquote common \
		   -iquote brain -iquote tentacle -DOCTO_VERSION='"$(VERSION)"' \
		   $(PKG_CFLAGS)
FUZZ_SRC	 = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN	 = $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
# The pure parsers outside common/ that a target calls.
FUZZ_LIB_SRC	 = brain/webpath.c brain/apibody.c brain/apicall.c \
		   brain/listargs.c \
		   brain/apiops.c brain/ipcmsg.c brain/findings.c brain/utf8.c \
		   brain/totp.c brain/groupbody.c brain/cron.c brain/histo.c \
		   tentacle/enrolment.c \
		   tentacle/spool.c tentacle/privsep.c tentacle/run.c \
		   tentacle/managed.c tentacle/inventory.c
FUZZ_LIB_OBJ	 = $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(COMMON_SRC) \
		   $(FUZZ_LIB_SRC))
FUZZ_RUN	 = $(PYTHON) tests/fuzz/run.py --bin $(FUZZ_BUILD) \
		   --jobs $(FUZZ_JOBS)

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-corpus

$(FUZZ_BUILD)/%.o: %.c $(wildcard common/*.h brain/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libocto.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) \
    $(FUZZ_BUILD)/libocto.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_BUILD)/libocto.a $(PKG_LIBS)

$(FUZZ_BUILD)/gen_corpus: tests/fuzz/gen_corpus.c $(wildcard tests/fuzz/*.h) \
    $(FUZZ_BUILD)/libocto.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -o $@ $< \
	    $(FUZZ_BUILD)/libocto.a $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	$(FUZZ_RUN) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	$(FUZZ_RUN) --replay $(FUZZ_TARGETS)
	$(FUZZ_RUN) --seconds 10 $(FUZZ_TARGETS)

fuzz-corpus: $(FUZZ_BUILD)/gen_corpus
	$(FUZZ_BUILD)/gen_corpus tests/fuzz/corpus

# deps first, then a fresh make: pkg-config may only exist after deps.
demo: deps
	$(MAKE) all
	./scripts/demo

# Install (FHS): programs in sbin, the dashboard under share/, the audit
# pack under lib/ (only the executable files of scripts/audit/, never the
# dev helpers), the pack's list of checks (scripts/audit/CHECKS) with the
# brain under share/, man pages, systemd units; configuration in /etc/octopus
# (installed only when absent, never overwritten), state in
# /var/lib/octopus/{brain,tentacle} (0700). PREFIX=/usr for the Debian
# packages. With DESTDIR, install only copies files; as root without
# DESTDIR, scripts/install-setup then creates the user octopus and hands it
# the brain's state directory. The daemons make their keys at first start.
SBINDIR		= $(PREFIX)/sbin
WEBDIR		= $(PREFIX)/share/octopus/web
AUDITDIR	= $(PREFIX)/lib/octopus/scripts
CHECKSDIR	= $(PREFIX)/share/octopus/audit
CHECKS_FILE	 = $(wildcard scripts/audit/CHECKS)
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= $(PREFIX)/lib/systemd/system
CONFDIR		?= /etc/octopus
STATEDIR	?= /var/lib/octopus
AUDIT_SCRIPTS	 = $(shell find scripts/audit -maxdepth 1 -type f -perm -u+x \
		     2>/dev/null | sort)
# Units and sample configurations are written for PREFIX=/usr/local.
SUBST_PREFIX	 = sed -e 's,/usr/local/,$(PREFIX)/,g'
# The tentacle's `user` (privilege separation), set in the tentacle.conf
# that install writes when there is none: octopus as root without DESTDIR
# (scripts/install-setup then creates that system user) and for the Debian
# packages (debian/rules; their postinst creates it); empty otherwise.
TENTACLE_USER	?= $(if $(DESTDIR),,$(if $(filter 0,$(shell id -u)),octopus))
HASH		:= \#
SUBST_USER	 = $(if $(TENTACLE_USER),-e 's|^$(HASH)user =$$|user = $(TENTACLE_USER)|')

install: install-brain install-tentacle

# The page both programs share, installed once: with make -j (debhelper
# runs make -j2 install) two copies of it raced, one install chmod-ing the
# file the other was replacing.
install-conf-man:
	install -d $(DESTDIR)$(MANDIR)/man5
	install -m 0644 common/octopus.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/octopus.conf.5

install-brain: $(BUILD)/octoBrain install-conf-man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(WEBDIR) \
	    $(DESTDIR)$(CHECKSDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(STATEDIR)
	install -d -m 0700 $(DESTDIR)$(STATEDIR)/brain
	install -m 0755 $(BUILD)/octoBrain $(DESTDIR)$(SBINDIR)/octoBrain
	install -m 0644 $(wildcard web/*.*) $(DESTDIR)$(WEBDIR)/
	$(if $(CHECKS_FILE),install -m 0644 $(CHECKS_FILE) \
	    $(DESTDIR)$(CHECKSDIR)/CHECKS)
	install -m 0644 brain/octoBrain.8 $(DESTDIR)$(MANDIR)/man8/octoBrain.8
	$(SUBST_PREFIX) scripts/systemd/octobrain.service \
	    >$(DESTDIR)$(UNITDIR)/octobrain.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/octobrain.service
	@f=$(DESTDIR)$(CONFDIR)/brain.conf; if [ -e $$f ]; then \
	    echo "$$f exists: kept"; else echo "installing $$f"; \
	    $(SUBST_PREFIX) brain/brain.conf >$$f && chmod 0644 $$f; fi
	$(if $(DESTDIR),,./scripts/install-setup brain $(STATEDIR) $(CONFDIR))

install-tentacle: $(BUILD)/octoTentacle install-conf-man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(AUDITDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(STATEDIR)
	install -d -m 0700 $(DESTDIR)$(STATEDIR)/tentacle
	install -m 0755 $(BUILD)/octoTentacle $(DESTDIR)$(SBINDIR)/octoTentacle
	$(if $(AUDIT_SCRIPTS),install -m 0755 $(AUDIT_SCRIPTS) \
	    $(DESTDIR)$(AUDITDIR)/)
	install -m 0644 tentacle/octoTentacle.8 \
	    $(DESTDIR)$(MANDIR)/man8/octoTentacle.8
	$(SUBST_PREFIX) scripts/systemd/octotentacle.service \
	    >$(DESTDIR)$(UNITDIR)/octotentacle.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/octotentacle.service
	@f=$(DESTDIR)$(CONFDIR)/tentacle.conf; if [ -e $$f ]; then \
	    echo "$$f exists: kept"; else echo "installing $$f"; \
	    $(SUBST_PREFIX) $(SUBST_USER) tentacle/tentacle.conf >$$f && \
	    chmod 0644 $$f; fi
	$(if $(DESTDIR),,./scripts/install-setup tentacle $(STATEDIR) $(CONFDIR))

# Removes what install copied; keeps the configuration in $(CONFDIR) and
# the state in $(STATEDIR) (keys, database, enrolment), as apt's remove.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/octoBrain $(DESTDIR)$(SBINDIR)/octoTentacle \
	    $(DESTDIR)$(MANDIR)/man8/octoBrain.8 \
	    $(DESTDIR)$(MANDIR)/man8/octoTentacle.8 \
	    $(DESTDIR)$(MANDIR)/man5/octopus.conf.5 \
	    $(DESTDIR)$(UNITDIR)/octobrain.service \
	    $(DESTDIR)$(UNITDIR)/octotentacle.service
	rm -rf $(DESTDIR)$(WEBDIR) $(DESTDIR)$(CHECKSDIR) $(DESTDIR)$(AUDITDIR)
	rmdir $(DESTDIR)$(PREFIX)/share/octopus $(DESTDIR)$(PREFIX)/lib/octopus \
	    2>/dev/null || true
	@echo "kept $(DESTDIR)$(CONFDIR) and $(DESTDIR)$(STATEDIR): remove" \
	    "them by hand to forget the configuration, keys and enrolment"

# Debian packages octopus-brain, octopus-tentacle and octopus-common from a
# copy of the working tree (debian/), into $(DEB_OUT); lintian must report
# no error.
DEB_OUT		?= build/deb
DEB_SRC		 = $(DEB_OUT)/octopus-$(VERSION)

.PHONY: deb
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude-vcs --exclude=./demo-run \
	    --exclude=__pycache__ --exclude=.pytest_cache --exclude='./certs/*.crt' \
	    --exclude='./certs/*.key' --exclude='./certs/*.pem' \
	    . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc
	lintian --fail-on error $(DEB_OUT)/*.changes

# The figures of issue 4 and of the compliance matrix (issue 16) on this
# machine (printed, never asserted):
# make bench [N=1000]
N	?= 200
bench: all $(BUILD)/tests/bench_ledger
	N=$(N) OCTO_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/bench.py
	OCTO_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/bench_export.py
	$(BUILD)/tests/bench_ledger
	OCTO_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/retention.py
	OCTO_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/compliance.py
	OCTO_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/roundtrip.py

clean:
	rm -rf build
