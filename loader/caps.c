// SPDX-License-Identifier: GPL-2.0
/* What the running kernel allows (caps.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "caps.h"

/* The fd of a module's BTF object (e.g. "kvm"), or -1. */
static int module_btf_fd(const char *module)
{
	__u32 id = 0;

	while (!bpf_btf_get_next_id(id, &id)) {
		struct bpf_btf_info info = {};
		__u32 len = sizeof(info);
		char name[64] = "";
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		info.name = (__u64)(unsigned long)name;
		info.name_len = sizeof(name);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.kernel_btf &&
		    !strcmp(name, module))
			return fd;
		close(fd);
	}
	return -1;
}

int caps_open(struct caps *c)
{
	static const enum bpf_attach_type types[] = {
		BPF_TRACE_RAW_TP, BPF_TRACE_FENTRY, BPF_TRACE_FEXIT, BPF_TRACE_ITER,
	};
	size_t i;

	memset(c, 0, sizeof(*c));
	c->module_fd = -1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		c->answers[i] = (struct class_answer){ .type = types[i], .allowed = -1 };
	c->vmlinux = btf__load_vmlinux_btf();
	if (!c->vmlinux)
		return -errno;
	if (!access("/sys/kernel/btf/kvm", R_OK)) {
		c->module = btf__load_module_btf("kvm", c->vmlinux);
		c->module_fd = module_btf_fd("kvm");
	}
	return 0;
}

void caps_close(struct caps *c)
{
	btf__free(c->module);
	btf__free(c->vmlinux);
	if (c->module_fd >= 0)
		close(c->module_fd);
	c->module = c->vmlinux = NULL;
	c->module_fd = -1;
}

/* Find name of kind in vmlinux or the kvm module. *obj_fd: 0 for vmlinux. */
static int btf_find(struct caps *c, const char *name, int kind, int *obj_fd)
{
	int id = btf__find_by_name_kind(c->vmlinux, name, kind);

	*obj_fd = 0;
	if (id > 0)
		return id;
	if (c->module) {
		id = btf__find_by_name_kind(c->module, name, kind);
		if (id > 0) {
			*obj_fd = c->module_fd;
			return id;
		}
	}
	return -ENOENT;
}

/*
 * Each attach type's first answer, reused for the other targets of that type: a kernel
 * refuses fentry, fexit, tp_btf or iterators as a class (EPERM, at load time). For fentry
 * and fexit the first answer is the load's alone: attaching a trampoline and taking it
 * down again cost 0.1-0.2 s each under TCG, before the real ones are attached. If a
 * target of an allowed class still fails to load or attach, the loader starts again with
 * every target loaded and attached on its own (thorough).
 */
static struct class_answer *class_answer(struct caps *c, enum bpf_attach_type type)
{
	for (size_t i = 0; i < sizeof(c->answers) / sizeof(c->answers[0]); i++)
		if (c->answers[i].type == type)
			return &c->answers[i];
	return NULL;
}

/* Load and attach a do-nothing tracing program at name: the kernel's real answer. */
bool caps_tracing_allowed(struct caps *c, const char *name, int kind, enum bpf_attach_type type,
			  const char **why)
{
	const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	struct class_answer *ca = class_answer(c, type);
	int id, obj_fd, fd, link;

	id = btf_find(c, name, kind, &obj_fd);
	if (id < 0) {
		*why = "not in the kernel's BTF (inlined, renamed or absent)";
		return false;
	}
	if (ca && ca->allowed >= 0 && !c->thorough) {
		*why = ca->why;
		return ca->allowed;
	}
	if (ca)
		ca->allowed = 0;
	o.expected_attach_type = type;
	o.attach_btf_id = id;
	o.attach_btf_obj_fd = obj_fd;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "mmuprobe_chk", "GPL", insns, 2, &o);
	if (fd < 0) {
		*why = errno == EPERM ? "the kernel refuses it (EPERM)" : "the kernel refuses it";
		if (ca)
			ca->why = *why;
		return false;
	}
	if ((type == BPF_TRACE_FENTRY || type == BPF_TRACE_FEXIT) && !c->thorough) {
		close(fd);
		if (ca)
			ca->allowed = 1;
		return true;
	}
	if (type == BPF_TRACE_ITER)
		link = bpf_link_create(fd, 0, BPF_TRACE_ITER, NULL);
	else
		link = bpf_raw_tracepoint_open(NULL, fd);
	close(fd);
	if (link < 0) {
		*why = errno == EPERM ? "attaching is refused (EPERM)" : "attaching fails";
		if (ca)
			ca->why = *why;
		return false;
	}
	close(link);
	if (ca)
		ca->allowed = 1;
	return true;
}

bool tracepoint_exists(const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s", event);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s", event);
	return !access(path, F_OK);
}

/*
 * Tracepoint attachment finds the tracepoints' ids in tracefs, which a host without
 * systemd may not have mounted: mount it, as root may.
 */
int tracefs_ensure(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) || !access("/sys/kernel/debug/tracing/events", F_OK))
		return 0;
	if (mount("none", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		int err = -errno;

		fprintf(stderr, "mmuprobe: error: tracefs is not mounted and mounting it failed (%s): "
			"mount -t tracefs none /sys/kernel/tracing\n", strerror(-err));
		return err;
	}
	fprintf(stderr, "mmuprobe: tracefs was not mounted: mounted it at /sys/kernel/tracing\n");
	return 0;
}
