/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel allows: its BTF (vmlinux and kvm's module BTF), whether it
 * loads and attaches a tracing program of each kind at a target, whether a trace event
 * exists. The kernel's answers, not guesses from its config.
 */
#ifndef MMUSCOPE_CAPS_H
#define MMUSCOPE_CAPS_H

#include <stdbool.h>
#include <bpf/libbpf.h>

struct btf;

struct class_answer {
	enum bpf_attach_type type;
	int allowed;		/* -1 not asked yet */
	const char *why;
};

struct caps {
	struct btf *vmlinux;
	struct btf *module;	/* kvm's split BTF, NULL when KVM is built in */
	int module_fd;		/* its fd, -1 without */
	/* Ask about every target on its own instead of reusing each attach type's first
	 * answer: set when a target of an allowed class failed to load or attach. */
	bool thorough;
	struct class_answer answers[4];
};

/* The kernel's BTF, and kvm's module BTF where KVM is a module. -errno on failure. */
int caps_open(struct caps *c);
void caps_close(struct caps *c);

/*
 * Whether the kernel loads (and, except for fentry/fexit outside thorough mode, attaches)
 * a tracing program of this type at name, a BTF_KIND_FUNC or the BTF_KIND_TYPEDEF
 * btf_trace_<tracepoint>. When not, *why says why.
 */
bool caps_tracing_allowed(struct caps *c, const char *name, int kind, enum bpf_attach_type type,
			  const char **why);

/* Whether a trace event ("category/name") exists. */
bool tracepoint_exists(const char *event);

/* tracefs where tracepoint attachment looks for it, mounted if need be (root may). 0, or
 * -errno after saying what failed. */
int tracefs_ensure(void);

#endif
