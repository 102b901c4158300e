# mmuscope: the pipeline, one stage per folder.
#
#   kernel-patches/ --build-kernel--> kernels (baseline, patched)
#        --testhost/--> a VM test host booted from one of them, KVM loaded in $(MODE)
#        --workloads/ + loader/--> results/<run>/.../*.json
#        --analysis/--> comparison, plots, report
#
# Fresh machine: `make bench` (main job) or `make test` (tests). Both start with `make deps`.
# Big outputs live in $(MMUSCOPE_CACHE) (kernel trees, builds, ccache) and $(OUTPUT).

ifneq ($(shell uname -m),x86_64)
$(error mmuscope drives the x86 KVM MMU: run it on an x86_64 host)
endif

OUTPUT ?= $(abspath build)
export MMUSCOPE_CACHE ?= /var/cache/mmuscope
VARIANT ?= patched
CONFIG ?= bench
MODE ?= shadow
TIMEOUT ?= 900
# Where a kernel variant's build is (scripts/lib.sh: kernel_out VARIANT CONFIG).
kernel_out = $(MMUSCOPE_CACHE)/kernel/$(1)/linux/out-$(2)

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror=implicit-function-declaration -Iinclude
# The shared headers (include/): every program's exit codes and usage error (cli.h, README.md
# "Exit codes"), the monotonic clock (monoclock.h), and those of the shared helpers in lib/
# (atomicfile.h).
SHARED_H := $(wildcard include/*.h)
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps tools guest kernel kernels kernel-path selftests-build selftests selftests-debug stress vm test unit-tests bench bisect compare clean help

all: tools

help:
	@printf '%s\n' \
	'usage: make [TARGET...] [KNOB=VALUE...]    (README.md: set-up, each stage; ci/README.md: the gate)' \
	'' \
	'Set-up and programs:' \
	'  deps             apt-get install what is missing, and the pinned kernel source (root)' \
	'  tools            every program: build/bin/ (testhost, mmuprobe, compare, plot, ...),' \
	'                   build/guest/ (the workload guest'"'"'s programs), build/lib/insns.so' \
	'  build/bin/NAME   one program, e.g. make build/bin/compare (any $$(OUTPUT)/... path)' \
	'  insns            the TCG plugin (build/lib/insns.so) and its marker' \
	'  unit-tests       build and run the unit tests (cmocka, tests/unit/)' \
	'  test             the whole suite: deps, tools, guest, then tests/run (~30 min warm);' \
	'                   TESTS="unit parsers compare gate profiles" for a subset (names: tests/run)' \
	'  clean            remove $$(OUTPUT)' \
	'Kernels and test hosts:' \
	'  kernel           build VARIANT with CONFIG        kernels: both variants with CONFIG' \
	'  kernel-path      print the bzImage of VARIANT/CONFIG' \
	'  guest            the workload guest'"'"'s kernel and initramfs' \
	'  vm               boot VARIANT/CONFIG in MODE and run CMD inside (TIMEOUT)' \
	'  selftests-build  the KVM selftests of VARIANT/CONFIG' \
	'  selftests        the selftest subset in a test host (VARIANT, CONFIG, MODE)' \
	'  selftests-debug  the subset on the debug build of both kernels (MODE)' \
	'  stress           the rmap stress for SECS seconds (VARIANT, CONFIG, MODE)' \
	'The bench:' \
	'  bench            both kernels, PROFILE'"'"'s workloads, compare, report (HOST=local: here;' \
	'                   TARGET=ssh://user@machine[:port] [ROUNDS=n]: a real machine, kexec, ci/remote)' \
	'  compare          BASE=results/<run>/<kernel> NEW=...: any two result sets' \
	'  bisect           METRIC=... WORKLOAD=... [MODE] [PROFILE] [STRATEGY=auto|linear|bisect]' \
	'                   [REPS]: the patch of the series that moves METRIC (ci/bisect)' \
	'' \
	'Knobs (default):' \
	'  VARIANT=baseline|patched ($(VARIANT))   CONFIG=bench|debug|rt|guest ($(CONFIG))' \
	'  MODE=shadow|tdp-legacy|tdp|none ($(MODE))   TIMEOUT=SECS ($(TIMEOUT))   CMD='"'"'...'"'"'   SECS ($(SECS))' \
	'  PROFILE=ci|quick|full ($(PROFILE))   HOST=local   BASE=DIR NEW=DIR   TESTS="CHECK..."' \
	'  OUTPUT=DIR ($(OUTPUT))   MMUSCOPE_CACHE=DIR ($(MMUSCOPE_CACHE))   V=1: show commands' \
	'' \
	'First time: make deps tools, then e.g. build/bin/compare --help.'

deps:
	$(Q)scripts/install-deps

# The targets below are absolute paths under $(OUTPUT); a path relative to this directory
# (`make build/bin/compare`, as README and --help name them) is the same target.
ifneq ($(patsubst $(CURDIR)/%,%,$(OUTPUT)),$(OUTPUT))
.PHONY: FORCE
$(patsubst $(CURDIR)/%,%,$(OUTPUT))/%: FORCE
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/$*
endif

# --- programs ---------------------------------------------------------------------------
TESTHOST := $(OUTPUT)/bin/testhost
BPF_TOOLS := mmuprobe
# mmuprobe's parts apart from its command line (loader/mmuprobe.c): what the kernel allows,
# each metric's tier, reading the maps, the document, the workload; and the shared helpers.
LOADER_OBJS := caps tiers maps report sptrace supervise ksyms hist zapreason
# ... those that include the skeleton (skel->progs, skel->maps)
SKEL_USERS := tiers maps report sptrace
ANALYSIS := $(OUTPUT)/bin/compare $(OUTPUT)/bin/plot $(OUTPUT)/bin/report_html $(OUTPUT)/bin/bisect_report $(OUTPUT)/bin/spsim $(OUTPUT)/bin/dlpt_parse $(OUTPUT)/bin/json_parse $(OUTPUT)/bin/perfstat_parse
WORKLOAD_TOOLS := $(OUTPUT)/bin/qmp $(OUTPUT)/bin/l2run $(OUTPUT)/bin/migrate
GUEST_PROGS := $(OUTPUT)/guest/forkjob $(OUTPUT)/guest/hotcold $(OUTPUT)/guest/dirtier $(OUTPUT)/guest/kernbench $(OUTPUT)/guest/fio-json
# (insns: the TCG plugin and its marker, last section, for `testhost --insns` and the tests)
tools: $(TESTHOST) $(patsubst %,$(OUTPUT)/bin/%,$(BPF_TOOLS)) $(ANALYSIS) $(WORKLOAD_TOOLS) $(GUEST_PROGS) insns

# The shared helpers: lib/NAME.c, declared in include/NAME.h, linked into every program that
# uses them. Position-independent and hidden: the TCG plugin (a shared object) links them
# too, and exports only the plugin API.
LIB := $(OUTPUT)/obj/lib/atomicfile.o

$(OUTPUT)/obj/lib/%.o: lib/%.c include/%.h | $(OUTPUT)/obj/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(OUTPUT)/obj/testhost/%.o: testhost/%.c testhost/splat.h $(SHARED_H) | $(OUTPUT)/obj/testhost
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DMMUSCOPE_TESTHOST_DIR='"$(abspath testhost)"' -c $< -o $@

$(TESTHOST): $(OUTPUT)/obj/testhost/testhost.o $(OUTPUT)/obj/testhost/splat.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/bin $(OUTPUT)/obj/lib $(OUTPUT)/obj/testhost $(OUTPUT)/obj/tests:
	$(Q)mkdir -p $@

# --- probes: bpf/x.bpf.c -> x.bpf.o -> x.skel.h -> loader/x.c -> bin/x --------------------
# vmlinux.h comes from the 6.12 kernel the project builds, not from the machine that builds:
# the baseline bench kernel's vmlinux plus kvm.ko's BTF (the probes' KVM types, struct kvm,
# kvm_vcpu, kvm_mmu_page and kvm_memory_slot, are all kvm.ko's, none is kvm-amd's or
# kvm-intel's; a KVM built in would have them in vmlinux). So the header is the same on
# every machine and needs no kvm module where it is built; the object is CO-RE, so it loads
# on the 6.12 test host and on the build machine's own kernel alike. Its prerequisite is
# the kernel's build record, which every real build rewrites last: a rebuilt kernel
# regenerates the header, and a kernel not built yet is built first (`make kernel`, ~10 min
# cold). And this Makefile, so that a build directory whose header came from the running
# kernel, as it once did, gets this one.
# The object is stripped of its DWARF as libbpf-tools do (llvm-strip -g): .BTF and .BTF.ext,
# which CO-RE and the skeleton need, stay. llvm-strip is Debian's llvm package (make deps).
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-unused-function
LOADER_LIBS := -lbpf -lelf -lz -ljson-c
BTF_KERNEL := $(call kernel_out,baseline,bench)

$(BTF_KERNEL)/mmuscope-build.env:
	$(Q)$(MAKE) --no-print-directory kernel VARIANT=baseline CONFIG=bench

$(OUTPUT)/bpf/vmlinux.h: $(BTF_KERNEL)/mmuscope-build.env Makefile | $(OUTPUT)/bpf
	$(call msg,BTF,$@)
	$(Q)if [ -f $(BTF_KERNEL)/arch/x86/kvm/kvm.ko ]; then \
		$(BPFTOOL) btf dump file $(BTF_KERNEL)/arch/x86/kvm/kvm.ko -B $(BTF_KERNEL)/vmlinux format c; \
	else $(BPFTOOL) btf dump file $(BTF_KERNEL)/vmlinux format c; fi >$@.tmp
	$(Q)mv $@.tmp $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h $(OUTPUT)/bpf/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -I$(OUTPUT)/bpf -Ibpf -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/bpf/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< >$@.tmp && mv $@.tmp $@

$(OUTPUT)/obj/loader/%.o: loader/%.c $(wildcard loader/*.h) $(SHARED_H) | $(OUTPUT)/obj/loader
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibpf -Iloader -I$(OUTPUT)/bpf -c $< -o $@

$(foreach t,$(BPF_TOOLS),$(OUTPUT)/obj/loader/$(t).o): $(OUTPUT)/obj/loader/%.o: $(OUTPUT)/bpf/%.skel.h
$(patsubst %,$(OUTPUT)/obj/loader/%.o,$(SKEL_USERS)): $(OUTPUT)/bpf/mmuprobe.skel.h

$(OUTPUT)/bin/%: $(OUTPUT)/obj/loader/%.o $(patsubst %,$(OUTPUT)/obj/loader/%.o,$(LOADER_OBJS)) $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LOADER_LIBS) -o $@

$(OUTPUT)/bpf $(OUTPUT)/obj/loader:
	$(Q)mkdir -p $@

# --- analysis ------------------------------------------------------------------------------
$(OUTPUT)/obj/analysis/%.o: analysis/%.c $(wildcard analysis/*.h) $(SHARED_H) | $(OUTPUT)/obj/analysis
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ianalysis -c $< -o $@

# compare finds analysis/metrics.conf wherever it runs from (as testhost finds testhost/).
$(OUTPUT)/obj/analysis/compare.o: CFLAGS += -DMMUSCOPE_METRICS='"$(abspath analysis/metrics.conf)"'

$(OUTPUT)/bin/compare: $(OUTPUT)/obj/analysis/compare.o $(OUTPUT)/obj/analysis/stats.o $(OUTPUT)/obj/analysis/resultset.o \
		$(OUTPUT)/obj/analysis/metricpath.o $(OUTPUT)/obj/analysis/metricsconf.o $(OUTPUT)/obj/analysis/reps.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -lgsl -lgslcblas -lm -o $@

$(OUTPUT)/bin/plot: $(OUTPUT)/obj/analysis/plot.o $(OUTPUT)/obj/analysis/resultset.o \
		$(OUTPUT)/obj/analysis/metricpath.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -o $@

# report_html renders Markdown with cmark-gfm and its table extension (libcmark-gfm-dev,
# libcmark-gfm-extensions-dev: make deps).
$(OUTPUT)/bin/report_html: $(OUTPUT)/obj/analysis/report_html.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmark-gfm-extensions -lcmark-gfm -o $@

# bisect_report finds analysis/metrics.conf where the repository is (its default -m).
$(OUTPUT)/obj/analysis/bisect_report.o: CFLAGS += -DMMUSCOPE_ANALYSIS_DIR='"$(abspath analysis)"'

$(OUTPUT)/bin/bisect_report: $(OUTPUT)/obj/analysis/bisect_report.o $(OUTPUT)/obj/analysis/bisectlogic.o \
		$(OUTPUT)/obj/analysis/metricsconf.o $(OUTPUT)/obj/analysis/reps.o $(OUTPUT)/obj/analysis/stats.o \
		$(OUTPUT)/obj/analysis/resultset.o $(OUTPUT)/obj/analysis/metricpath.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -lgsl -lgslcblas -lm -o $@

# spsim: a run's shadow-page lookups (a trace the probes record) replayed under FIFO, CLOCK,
# LRU and Belady's MIN, beside the traced kernel's own recycles.
$(OUTPUT)/bin/spsim: $(OUTPUT)/obj/analysis/spsim.o $(OUTPUT)/obj/analysis/spsimlogic.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -o $@

# --- workloads' parsers -----------------------------------------------------------------------
$(OUTPUT)/bin/dlpt_parse $(OUTPUT)/bin/json_parse $(OUTPUT)/bin/perfstat_parse: $(OUTPUT)/bin/%: workloads/%.c $(SHARED_H) | $(OUTPUT)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -ljson-c -o $@

$(OUTPUT)/obj/analysis:
	$(Q)mkdir -p $@

# --- workloads: host-side tools, and the workload guest (static programs in an initramfs) ---
# The programs that boot the workload guest (l2run, migrate) share guestvm.c: QEMU's command
# line, the guest's barriers, QMP (qmpc.c) and its console's splats (testhost/splat.c).
$(OUTPUT)/obj/workloads/%.o: workloads/%.c $(wildcard workloads/*.h) testhost/splat.h $(SHARED_H) | $(OUTPUT)/obj/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iworkloads -Itesthost -c $< -o $@

GUESTVM_OBJS := $(OUTPUT)/obj/workloads/guestvm.o $(OUTPUT)/obj/workloads/qmpc.o $(OUTPUT)/obj/testhost/splat.o

$(OUTPUT)/bin/qmp: $(OUTPUT)/obj/workloads/qmp.o $(OUTPUT)/obj/workloads/qmpc.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -o $@

$(OUTPUT)/bin/l2run $(OUTPUT)/bin/migrate: $(OUTPUT)/bin/%: $(OUTPUT)/obj/workloads/%.o $(GUESTVM_OBJS) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljson-c -o $@

$(OUTPUT)/obj/workloads:
	$(Q)mkdir -p $@

$(OUTPUT)/guest/%: workloads/guest/%.c workloads/median.h $(SHARED_H)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static $< -o $@

$(OUTPUT)/guest/fio-json: workloads/guest/fio-json
	$(Q)mkdir -p $(@D)
	$(Q)cp $< $@

# The workload guest: its kernel (kernel-patches/config/guest.config, from the pristine base)
# and its initramfs.
guest: $(GUEST_PROGS)
	$(Q)kernel-patches/build-kernel baseline guest
	$(Q)workloads/guest/build-initramfs $(abspath $(GUEST_PROGS)) >/dev/null

# --- kernels ------------------------------------------------------------------------------
# (kernel_out, as scripts/lib.sh's, is defined at the top: the probes' vmlinux.h needs it)
BZIMAGE = $(call kernel_out,$(VARIANT),$(CONFIG))/arch/x86/boot/bzImage

kernel: deps
	$(Q)kernel-patches/build-kernel $(VARIANT) $(CONFIG)

kernels: deps
	$(Q)kernel-patches/build-kernel baseline $(CONFIG)
	$(Q)kernel-patches/build-kernel patched $(CONFIG)

kernel-path:
	@echo $(BZIMAGE)

# --- test host ----------------------------------------------------------------------------
# make vm VARIANT=patched MODE=shadow CMD='cat /sys/module/kvm/parameters/tdp_mmu'
vm: $(TESTHOST) kernel
	$(Q)$(TESTHOST) -k $(BZIMAGE) -m $(MODE) -t $(TIMEOUT) -- /bin/sh -c '$(CMD)'

selftests-build: kernel
	$(Q)testhost/build-selftests $(VARIANT) $(CONFIG)

# The upstream KVM selftest subset inside the test host; summary in $(OUTPUT)/selftests/.
selftests: $(TESTHOST) selftests-build
	$(Q)mkdir -p $(OUTPUT)/selftests/$(VARIANT)-$(CONFIG)-$(MODE)
	$(Q)$(TESTHOST) -k $(BZIMAGE) -m $(MODE) -t $(TIMEOUT) \
		-s $(OUTPUT)/selftests/$(VARIANT)-$(CONFIG)-$(MODE) -- \
		$(abspath testhost/run-selftests) $(MMUSCOPE_CACHE)/kernel/$(VARIANT)/selftests-$(CONFIG) \
		$(OUTPUT)/selftests/$(VARIANT)-$(CONFIG)-$(MODE)/result.json

# Correctness before numbers: the subset on the lockdep+KASAN debug build of both kernels
# (~9 min build + ~9 min run each here; not part of `make test` to keep CI under an hour).
selftests-debug: $(TESTHOST)
	$(Q)$(MAKE) --no-print-directory selftests VARIANT=baseline CONFIG=debug MODE=$(MODE) TIMEOUT=1800
	$(Q)$(MAKE) --no-print-directory selftests VARIANT=patched CONFIG=debug MODE=$(MODE) TIMEOUT=1800

# The rmap stress (testhost/stress): rmaps walked concurrently with faults and zaps for SECS
# seconds, every write of the guest checked. make stress VARIANT=patched CONFIG=debug SECS=300
SECS ?= 300
STRESS_OUT = $(OUTPUT)/stress/$(VARIANT)-$(CONFIG)-$(MODE)
stress: $(TESTHOST) kernel tools guest
	$(Q)kernel-patches/build-kernel baseline bench
	$(Q)mkdir -p $(STRESS_OUT)
	$(Q)$(TESTHOST) -k $(BZIMAGE) -m $(MODE) -t $$(($(SECS) + 1800)) -s $(STRESS_OUT) -- \
		$(abspath testhost/stress) $(SECS) $(STRESS_OUT)/result.json

# --- tests ----------------------------------------------------------------------------------
UNIT_TESTS := $(OUTPUT)/bin/test_splat $(OUTPUT)/bin/test_loader $(OUTPUT)/bin/test_stats $(OUTPUT)/bin/test_metricpath $(OUTPUT)/bin/test_metricsconf \
	$(OUTPUT)/bin/test_bisect $(OUTPUT)/bin/test_atomicfile $(OUTPUT)/bin/test_guestvm $(OUTPUT)/bin/test_spsim
TEST_PROGS := $(OUTPUT)/bin/dirtylog_vmm

$(OUTPUT)/obj/tests/%.o: tests/unit/%.c | $(OUTPUT)/obj/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itesthost -c $< -o $@

$(OUTPUT)/bin/test_splat: $(OUTPUT)/obj/tests/test_splat.o $(OUTPUT)/obj/testhost/splat.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -o $@

# the workload guest's launcher; its guest consoles in tests/fixtures/guestvm/
$(OUTPUT)/obj/tests/test_guestvm.o: CFLAGS += -Iworkloads -DMMUSCOPE_FIXTURES='"$(abspath tests/fixtures)"'
$(OUTPUT)/obj/tests/test_guestvm.o: workloads/guestvm.h workloads/qmpc.h

$(OUTPUT)/bin/test_guestvm: $(OUTPUT)/obj/tests/test_guestvm.o $(GUESTVM_OBJS) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -ljson-c -o $@

$(OUTPUT)/bin/test_loader: $(OUTPUT)/obj/tests/test_loader.o $(OUTPUT)/obj/loader/hist.o $(OUTPUT)/obj/loader/zapreason.o \
		$(OUTPUT)/obj/loader/ksyms.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -o $@

$(OUTPUT)/obj/tests/test_loader.o: CFLAGS += -Iloader
$(OUTPUT)/obj/tests/test_stats.o $(OUTPUT)/obj/tests/test_metricpath.o $(OUTPUT)/obj/tests/test_metricsconf.o \
		$(OUTPUT)/obj/tests/test_bisect.o $(OUTPUT)/obj/tests/test_spsim.o: CFLAGS += -Ianalysis

$(OUTPUT)/bin/test_stats: $(OUTPUT)/obj/tests/test_stats.o $(OUTPUT)/obj/analysis/stats.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -lgsl -lgslcblas -lm -o $@

$(OUTPUT)/bin/test_metricpath: $(OUTPUT)/obj/tests/test_metricpath.o $(OUTPUT)/obj/analysis/metricpath.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -ljson-c -o $@

$(OUTPUT)/bin/test_metricsconf: $(OUTPUT)/obj/tests/test_metricsconf.o $(OUTPUT)/obj/analysis/metricsconf.o \
		$(OUTPUT)/obj/analysis/metricpath.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -ljson-c -o $@

$(OUTPUT)/bin/test_bisect: $(OUTPUT)/obj/tests/test_bisect.o $(OUTPUT)/obj/analysis/bisectlogic.o \
		$(OUTPUT)/obj/analysis/stats.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -lgsl -lgslcblas -lm -o $@

$(OUTPUT)/bin/test_spsim: $(OUTPUT)/obj/tests/test_spsim.o $(OUTPUT)/obj/analysis/spsimlogic.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -o $@

$(OUTPUT)/bin/test_atomicfile: $(OUTPUT)/obj/tests/test_atomicfile.o $(LIB) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -o $@

# A tiny VMM that the probe tests check the probes against.
$(OUTPUT)/bin/dirtylog_vmm: tests/dirtylog_vmm.c $(SHARED_H) | $(OUTPUT)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

unit-tests: $(UNIT_TESTS)
	$(Q)for t in $(UNIT_TESTS); do $$t || exit 1; done

# Everything: unit tests, both kernels built and booted, selftests in shadow mode on both.
# tools builds the baseline bench kernel first where it is missing (the probes' vmlinux.h
# comes from it): tests/run's build_baseline then finds it up to date.
test: deps
	$(Q)$(MAKE) --no-print-directory tools guest $(UNIT_TESTS) $(TEST_PROGS)
	$(Q)tests/run

# --- the main job ---------------------------------------------------------------------------
PROFILE ?= ci
# HOST=local: this machine is the test host, booted into the kernel under test.
# The baseline bench kernel first: the probes' vmlinux.h comes from it (tools would build it
# anyway; this keeps the log in the order things happen).
# TARGET=ssh://user@machine[:port]: a real test machine, kexec'd into each kernel (ci/remote).
ifneq ($(TARGET),)
bench: deps
	$(Q)kernel-patches/build-kernel baseline bench
	$(Q)$(MAKE) --no-print-directory tools guest
	$(Q)kernel-patches/build-kernel patched bench
	$(Q)testhost/build-selftests baseline bench
	$(Q)ci/remote $(if $(ROUNDS),--rounds $(ROUNDS)) $(TARGET) $(PROFILE)
else ifeq ($(HOST),local)
bench: deps
	$(Q)kernel-patches/build-kernel baseline bench
	$(Q)$(MAKE) --no-print-directory tools guest
	$(Q)testhost/build-selftests baseline bench
	$(Q)ci/bench-local $(PROFILE)
else
bench: deps
	$(Q)kernel-patches/build-kernel baseline bench
	$(Q)$(MAKE) --no-print-directory tools guest
	$(Q)kernel-patches/build-kernel patched bench
	$(Q)testhost/build-selftests baseline bench
	$(Q)testhost/build-selftests patched bench
	$(Q)ci/bench $(PROFILE)
endif

# Which patch of the series moves a metric (ci/bisect): the kernel at each prefix of the
# series, WORKLOAD of PROFILE in MODE on each, the metric per prefix and the patch named.
#   make bisect METRIC=dlpt_insns_kvm WORKLOAD=dlpt-get MODE=shadow [PROFILE=ci] [STRATEGY=auto] [REPS=n] [INSNS=0]
bisect: deps
	$(Q)test -n "$(METRIC)" -a -n "$(WORKLOAD)" || { echo "usage: make bisect METRIC=name WORKLOAD=name [MODE=shadow] [PROFILE=ci] [STRATEGY=linear|bisect|auto] [REPS=n] [INSNS=0]" >&2; exit 2; }
	$(Q)$(MAKE) --no-print-directory tools guest
	$(Q)kernel-patches/build-kernel baseline bench
	$(Q)testhost/build-selftests baseline bench
	$(Q)$(if $(REPS),BISECT_REPS=$(REPS)) ci/bisect --strategy $(or $(STRATEGY),auto) $(if $(filter 0,$(INSNS)),--no-insns) \
		$(METRIC) $(WORKLOAD) $(MODE) $(PROFILE)

# Any two result sets: make compare BASE=results/<run>/baseline NEW=results/<run2>/patched
compare: $(OUTPUT)/bin/compare
	$(Q)test -n "$(BASE)" -a -n "$(NEW)" || { echo "usage: make compare BASE=dir NEW=dir" >&2; exit 2; }
	$(Q)$(OUTPUT)/bin/compare -m analysis/metrics.conf $(BASE) $(NEW)

clean:
	rm -rf $(OUTPUT)

# --- TCG plugin: instruction counts of the emulated test host (tcgplugin/, issue [insns]) ----
# insns.so is built against the qemu-plugin.h of the installed QEMU (fetched by make deps)
# after checking that its plugin API is one that QEMU accepts; insns-mark (static) marks a
# window in the guest; insns-loop and insns-calls are the plugin tests' programs (tests/insns.sh).
QEMU_PLUGIN_DIR ?= $(MMUSCOPE_CACHE)/qemu-src
INSNS_PLUGIN := $(OUTPUT)/lib/insns.so
INSNS_MARK := $(OUTPUT)/bin/insns-mark
INSNS_LOOP := $(OUTPUT)/bin/insns-loop
INSNS_CALLS := $(OUTPUT)/bin/insns-calls
.PHONY: insns insns-api
insns: $(INSNS_PLUGIN) $(INSNS_MARK) $(INSNS_LOOP) $(INSNS_CALLS)

insns-api $(QEMU_PLUGIN_DIR)/qemu-plugin.h $(QEMU_PLUGIN_DIR)/qemu-plugin.env:
	$(Q)tcgplugin/check-api $(QEMU_PLUGIN_DIR)

$(INSNS_PLUGIN): tcgplugin/insns.c $(LIB) $(SHARED_H) $(QEMU_PLUGIN_DIR)/qemu-plugin.h $(QEMU_PLUGIN_DIR)/qemu-plugin.env | insns-api
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fPIC -shared -fvisibility=hidden -I$(QEMU_PLUGIN_DIR) $< $(LIB) -lpthread -o $@

$(INSNS_MARK): tcgplugin/insns-mark.c $(SHARED_H) | $(OUTPUT)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -static $< -o $@

# insns-loop's code sits at 0x10000000, not at 0x400000 with every other static program
# (insns-mark's): in a test host a bucket of its addresses counts it alone.
$(INSNS_LOOP): tests/insns/loop.c $(SHARED_H) | $(OUTPUT)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -static -Wl,-Ttext-segment=0x10000000 $< -o $@

# insns-calls (the inclusive counts' call tree, tests/insns.sh) at 0x10800000, for the same
# reason; every call in its source stays a call (noinline functions, no sibling calls).
$(INSNS_CALLS): tests/insns/calls.c $(SHARED_H) | $(OUTPUT)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fno-optimize-sibling-calls -static \
		-Wl,-Ttext-segment=0x10800000 $< -lpthread -o $@
