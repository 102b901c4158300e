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

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror=implicit-function-declaration
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps tools kernel kernels selftests-build selftests vm test unit-tests clean help

all: tools

help:
	@sed -n '1,12p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Targets: deps tools kernel kernels selftests vm test bench compare clean"
	@echo "Knobs:   VARIANT=baseline|patched CONFIG=bench|debug MODE=shadow|tdp-legacy|tdp CMD=..."

deps:
	$(Q)scripts/install-deps

# --- programs ---------------------------------------------------------------------------
TESTHOST := $(OUTPUT)/bin/testhost
tools: $(TESTHOST)

$(OUTPUT)/obj/testhost/%.o: testhost/%.c testhost/splat.h | $(OUTPUT)/obj/testhost
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DMMUSCOPE_TESTHOST_DIR='"$(abspath testhost)"' -c $< -o $@

$(TESTHOST): $(OUTPUT)/obj/testhost/testhost.o $(OUTPUT)/obj/testhost/splat.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/bin $(OUTPUT)/obj/testhost $(OUTPUT)/obj/tests:
	$(Q)mkdir -p $@

# --- kernels ------------------------------------------------------------------------------
kernel_out = $(MMUSCOPE_CACHE)/kernel/$(1)/linux/out-$(2)
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

# --- tests ----------------------------------------------------------------------------------
UNIT_TESTS := $(OUTPUT)/bin/test_splat

$(OUTPUT)/obj/tests/%.o: tests/unit/%.c | $(OUTPUT)/obj/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itesthost -c $< -o $@

$(OUTPUT)/bin/test_splat: $(OUTPUT)/obj/tests/test_splat.o $(OUTPUT)/obj/testhost/splat.o | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lcmocka -o $@

unit-tests: $(UNIT_TESTS)
	$(Q)for t in $(UNIT_TESTS); do $$t || exit 1; done

# Everything: unit tests, both kernels built and booted, selftests in shadow mode on both.
test: deps
	$(Q)$(MAKE) --no-print-directory tools $(UNIT_TESTS)
	$(Q)tests/run

clean:
	rm -rf $(OUTPUT)
