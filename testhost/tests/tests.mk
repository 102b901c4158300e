# mmuscope's own KVM selftests (testhost/tests/*_test.c) on the selftests library of the tree
# under test. Read after the selftests' own Makefile (make -f Makefile -f this), so CFLAGS,
# LDFLAGS and LIBKVM_OBJS are exactly those of the upstream tests; testhost/build-selftests
# runs it for the mmuscope/*_test lines of testhost/selftests.list.
MMUSCOPE_TESTS ?= $(error MMUSCOPE_TESTS is not set)

$(OUTPUT)/mmuscope/%_test: $(MMUSCOPE_TESTS)/%_test.c $(MMUSCOPE_TESTS)/../../include/monoclock.h $(LIBKVM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wextra -Wno-sign-compare -Wno-unused-parameter -Wno-type-limits $(CPPFLAGS) $(LDFLAGS) \
		$(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@
