# Workload drivers built on the KVM selftests library of the tree under test. Read after
# the selftests' own Makefile (make -f Makefile -f this), so CFLAGS, LDFLAGS and
# LIBKVM_OBJS are exactly those of the upstream tests; testhost/build-selftests runs it.
MMUSCOPE_WORKLOADS ?= $(error MMUSCOPE_WORKLOADS is not set)

$(OUTPUT)/mmuscope/harvest: $(MMUSCOPE_WORKLOADS)/harvest.c $(MMUSCOPE_WORKLOADS)/median.h \
		$(MMUSCOPE_WORKLOADS)/../include/cli.h $(MMUSCOPE_WORKLOADS)/../include/monoclock.h \
		$(MMUSCOPE_WORKLOADS)/../include/insns-mark.h $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wextra -Wno-sign-compare -Wno-unused-parameter -Wno-type-limits $(CPPFLAGS) $(LDFLAGS) \
		$(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@
