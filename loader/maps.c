// SPDX-License-Identifier: GPL-2.0
/* Reading what the BPF side recorded (maps.h). */
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksyms.h"
#include "maps.h"
#include "mmuprobe.skel.h"

int maps_kvm_stats(struct mmuprobe_bpf *skel, struct bpf_link *iter,
		   struct mmuprobe_kvm_stat *out, int max, bool include_gone)
{
	int map = bpf_map__fd(skel->maps.kvm_stats), fd, n = 0, have;
	__u64 key, *prev = NULL;
	ssize_t r;

	if (iter) {
		fd = bpf_iter_create(bpf_link__fd(iter));
		if (fd < 0)
			return -1;
		while (n < max && (r = read(fd, &out[n], sizeof(out[n]))) == sizeof(out[n]))
			n++;
		close(fd);
		if (!include_gone)
			return n;
	}
	/* VMs the iterator no longer sees (destroyed), or no iterator at all: the copies the
	 * probes refreshed at the VMs' last ioctls. */
	have = n;
	while (n < max && !bpf_map_get_next_key(map, prev, &key)) {
		bool dup = false;
		int j;

		prev = &key;
		for (j = 0; j < have; j++)
			dup |= out[j].kvm == key;
		if (!dup && !bpf_map_lookup_elem(map, &key, &out[n]))
			n++;
	}
	return n;
}

bool maps_kvm_first(struct mmuprobe_bpf *skel, __u64 kvm, struct mmuprobe_kvm_first *f)
{
	return !bpf_map_lookup_elem(bpf_map__fd(skel->maps.kvm_firsts), &kvm, f);
}

bool maps_vm(struct mmuprobe_bpf *skel, __u32 tgid, struct mmuprobe_vm *vm)
{
	return !bpf_map_lookup_elem(bpf_map__fd(skel->maps.vms), &tgid, vm);
}

__u64 maps_drops(struct mmuprobe_bpf *skel, enum mmuprobe_drop what)
{
	__u32 k = (__u32)what;
	__u64 v = 0;

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.drops), &k, &v);
	return v;
}

void maps_for_each_vm(struct mmuprobe_bpf *skel,
		      void (*fn)(__u32 tgid, const struct mmuprobe_vm *vm, void *ctx), void *ctx)
{
	int fd = bpf_map__fd(skel->maps.vms);
	__u32 tgid, *prev = NULL;
	struct mmuprobe_vm vm;

	while (!bpf_map_get_next_key(fd, prev, &tgid)) {
		prev = &tgid;
		if (!bpf_map_lookup_elem(fd, &tgid, &vm))
			fn(tgid, &vm, ctx);
	}
}

void maps_for_each_zap(struct mmuprobe_bpf *skel,
		       void (*fn)(const struct mmuprobe_zap_key *key, __u64 count, void *ctx), void *ctx)
{
	int fd = bpf_map__fd(skel->maps.zaps);
	struct mmuprobe_zap_key key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		__u64 count = 0;

		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &count))
			fn(&key, count, ctx);
	}
}

void maps_for_each_holder(struct mmuprobe_bpf *skel,
			  void (*fn)(const struct mmuprobe_holder_key *key,
				     const struct mmuprobe_holder *h, void *ctx), void *ctx)
{
	int fd = bpf_map__fd(skel->maps.holders);
	struct mmuprobe_holder_key key, *prev = NULL;
	struct mmuprobe_holder h;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &h))
			fn(&key, &h, ctx);
	}
}

int maps_stack(struct mmuprobe_bpf *skel, const struct ksyms *ksyms, int stackid,
	       const char **frames, int max)
{
	__u64 ips[MMUPROBE_STACK_DEPTH] = {};
	int i, n = 0;

	if (stackid < 0 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.stacks), &stackid, ips))
		return 0;
	for (i = 0; i < MMUPROBE_STACK_DEPTH && ips[i] && n < max; i++) {
		const struct ksym *s = ksyms ? ksyms_find(ksyms, ips[i]) : NULL;

		frames[n++] = s ? s->name : NULL;
	}
	return n;
}
