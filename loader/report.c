// SPDX-License-Identifier: GPL-2.0
/* mmuprobe's document and summary (report.h); the schema is loader/mmuprobe-json.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "atomicfile.h"
#include "hist.h"
#include "maps.h"
#include "mmuprobe.skel.h"
#include "report.h"
#include "supervise.h"
#include "tiers.h"
#include "zapreason.h"

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

void report_init(struct report *r, struct mmuprobe_bpf *skel, struct bpf_link *iter,
		 const struct ksyms *ksyms)
{
	memset(r, 0, sizeof(*r));
	r->skel = skel;
	r->iter = iter;
	r->ksyms = ksyms;
	r->events = json_object_new_array();
	r->series = json_object_new_array();
}

void report_free(struct report *r)
{
	json_object_put(r->events);
	json_object_put(r->series);
	r->events = r->series = NULL;
}

void report_start(struct report *r)
{
	r->t_start = mono_ns();
	r->cpu_at_start = cpu_ns();
	maps_kvm_stats(r->skel, r->iter, (struct mmuprobe_kvm_stat[MAX_STATS]){}, MAX_STATS, false);
}

/* ---- while recording: events[] and series[] --------------------------------------------- */

int report_event(void *ctx, void *data, size_t size)
{
	static const char *const kinds[EV_NR] = {
		[EV_GET_DIRTY_LOG] = "get_dirty_log", [EV_CLEAR_DIRTY_LOG] = "clear_dirty_log",
		[EV_LOG_ENABLE] = "log_enable", [EV_LOG_DISABLE] = "log_disable",
	};
	const struct mmuprobe_event *e = data;
	struct report *r = ctx;
	struct json_object *o;

	if (size < sizeof(*e) || e->kind >= EV_NR)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "t_ns", json_object_new_int64((int64_t)(e->ts - r->t_start)));
	json_object_object_add(o, "pid", json_object_new_int((int)e->tgid));
	json_object_object_add(o, "kind", json_object_new_string(kinds[e->kind]));
	json_object_object_add(o, "latency_ns", json_object_new_int64((int64_t)e->latency));
	json_object_object_add(o, "pages", tier_measured(M_HARVEST) ? json_object_new_int64((int64_t)e->pages) : NULL);
	json_object_object_add(o, "slot", json_object_new_int((int)e->slot));
	json_object_array_add(r->events, o);
	return 0;
}

void report_snapshot(struct report *r)
{
	struct mmuprobe_kvm_stat st[MAX_STATS];
	int n = maps_kvm_stats(r->skel, r->iter, st, MAX_STATS, false), i;
	uint64_t t = mono_ns() - r->t_start;

	for (i = 0; i < n; i++) {
		struct mmuprobe_vm vm = {};
		struct json_object *o = json_object_new_object();
		__u32 tgid = st[i].tgid;

		maps_vm(r->skel, tgid, &vm);
		json_object_object_add(o, "t_ns", json_object_new_int64((int64_t)t));
		json_object_object_add(o, "pid", json_object_new_int((int)tgid));
		json_object_object_add(o, "n_used_mmu_pages", json_object_new_int64((int64_t)st[i].n_used_mmu_pages));
		json_object_object_add(o, "mmu_recycled", json_object_new_int64((int64_t)st[i].mmu_recycled));
		json_object_object_add(o, "mmu_shadow_zapped", json_object_new_int64((int64_t)st[i].mmu_shadow_zapped));
		json_object_object_add(o, "pages_4k", json_object_new_int64((int64_t)st[i].pages_4k));
		json_object_object_add(o, "pages_2m", json_object_new_int64((int64_t)st[i].pages_2m));
		json_object_object_add(o, "probe_zapped", json_object_new_int64((int64_t)vm.zapped));
		json_object_object_add(o, "probe_page_faults", tier_measured(M_FAULTS) ?
				       json_object_new_int64((int64_t)vm.page_faults) : NULL);
		json_object_array_add(r->series, o);
	}
}

/* ---- the final document: per VM ----------------------------------------------------------- */

static const char *const lat_names[LAT_NR] = {
	[LAT_GET_DIRTY_LOG] = "get_dirty_log",
	[LAT_CLEAR_DIRTY_LOG] = "clear_dirty_log",
	[LAT_LOG_ENABLE] = "log_enable",
	[LAT_LOG_DISABLE] = "log_disable",
	[LAT_COLLAPSE] = "collapse",
	[LAT_LOCK_WAIT_WRITE] = "lock_wait_write",
	[LAT_LOCK_WAIT_READ] = "lock_wait_read",
	[LAT_LOCK_HOLD_WRITE] = "lock_hold_write",
	[LAT_LOCK_HOLD_READ] = "lock_hold_read",
	[LAT_PAGE_FAULT] = "page_fault",
	[LAT_LOCK_HOLD_WRITE_DIRTY_LOG] = "lock_hold_write_dirty_log",
};

/* The metric (tier) each latency belongs to: an unmeasured one is null, not a count of 0. */
static const enum metric lat_metric[LAT_NR] = {
	[LAT_GET_DIRTY_LOG] = M_DIRTY_LOG,
	[LAT_CLEAR_DIRTY_LOG] = M_DIRTY_LOG,
	[LAT_LOG_ENABLE] = M_LOG_TOGGLE,
	[LAT_LOG_DISABLE] = M_LOG_TOGGLE,
	[LAT_COLLAPSE] = M_COLLAPSE,
	[LAT_LOCK_WAIT_WRITE] = M_LOCK_WAIT,
	[LAT_LOCK_WAIT_READ] = M_LOCK_WAIT,
	[LAT_LOCK_HOLD_WRITE] = M_LOCK_HOLD,
	[LAT_LOCK_HOLD_READ] = M_LOCK_HOLD,
	[LAT_PAGE_FAULT] = M_FAULT_LAT,
	[LAT_LOCK_HOLD_WRITE_DIRTY_LOG] = M_LOCK_HOLD,
};

static struct json_object *kvm_stat_json(const struct mmuprobe_kvm_stat *s)
{
	struct json_object *o = json_object_new_object();

#define F(x) json_object_object_add(o, #x, json_object_new_int64((int64_t)s->x))
	F(mmu_shadow_zapped); F(mmu_recycled); F(mmu_flooded); F(mmu_pte_write);
	F(mmu_unsync); F(pages_4k); F(pages_2m); F(pages_1g); F(remote_tlb_flush);
	F(n_used_mmu_pages); F(n_max_mmu_pages);
#undef F
	return o;
}

static struct json_object *lat_json(const struct mmuprobe_lat_stat *s)
{
	struct json_object *o = json_object_new_object(), *h = json_object_new_array();
	int i, last = -1;

	json_object_object_add(o, "count", json_object_new_int64((int64_t)s->count));
	json_object_object_add(o, "sum_ns", json_object_new_int64((int64_t)s->sum));
	json_object_object_add(o, "max_ns", json_object_new_int64((int64_t)s->max));
	json_object_object_add(o, "mean_ns", json_object_new_double(s->count ? (double)s->sum / (double)s->count : 0));
	json_object_object_add(o, "p50_ns_le", json_object_new_int64((int64_t)log2_hist_percentile(s->slots, MMUPROBE_SLOTS, 50)));
	json_object_object_add(o, "p99_ns_le", json_object_new_int64((int64_t)log2_hist_percentile(s->slots, MMUPROBE_SLOTS, 99)));
	for (i = 0; i < MMUPROBE_SLOTS; i++)
		if (s->slots[i])
			last = i;
	for (i = 0; i <= last; i++)
		json_object_array_add(h, json_object_new_int64((int64_t)s->slots[i]));
	json_object_object_add(o, "log2_hist", h);
	return o;
}

static struct json_object *stack_json(const char *const *frames, int n)
{
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < n && i < 12; i++)
		json_object_array_add(a, json_object_new_string(frames[i] ? frames[i] : "?"));
	return a;
}

/* Who took the lock: the frame after the lock function (the stack starts in the BPF
 * trampoline, then _raw_{write,read}_lock, then its caller). */
static const char *lock_caller(const char *const *frames, int n)
{
	int i, after = 0;

	for (i = 0; i < n && i < 6; i++)
		if (frames[i] && strstr(frames[i], "_raw_"))
			after = i + 1;
	for (i = after; i < n; i++)
		if (frames[i] && strncmp(frames[i], "bpf_", 4))
			return frames[i];
	return "?";
}

/* One VM's entries of the zaps or holders map, as JSON. */
struct vm_entries {
	struct report *r;
	__u32 tgid;
	struct json_object *arr, *reasons;
};

static void add_zap(const struct mmuprobe_zap_key *key, __u64 count, void *ctx)
{
	struct vm_entries *ve = ctx;
	const char *frames[MMUPROBE_STACK_DEPTH];
	struct json_object *o, *r;
	const char *why;
	int n;

	if (key->tgid != ve->tgid)
		return;
	n = maps_stack(ve->r->skel, ve->r->ksyms, key->stackid, frames, MMUPROBE_STACK_DEPTH);
	why = n ? zap_reason(frames, n) : "unknown_stack";
	o = json_object_new_object();
	json_object_object_add(o, "reason", json_object_new_string(why));
	json_object_object_add(o, "level", json_object_new_int(key->level));
	json_object_object_add(o, "direct", json_object_new_boolean(key->direct));
	json_object_object_add(o, "unsync", json_object_new_boolean(key->unsync));
	json_object_object_add(o, "root", json_object_new_boolean(key->root));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)count));
	json_object_array_add(ve->arr, o);
	if (json_object_object_get_ex(ve->reasons, why, &r))
		json_object_set_int64(r, json_object_get_int64(r) + (int64_t)count);
	else
		json_object_object_add(ve->reasons, why, json_object_new_int64((int64_t)count));
}

static void add_zaps(struct report *r, __u32 tgid, struct json_object *vmo)
{
	struct vm_entries ve = { r, tgid, json_object_new_array(), json_object_new_object() };

	maps_for_each_zap(r->skel, add_zap, &ve);
	json_object_object_add(vmo, "zaps", ve.arr);
	json_object_object_add(vmo, "zap_reasons", ve.reasons);
}

static void add_holder(const struct mmuprobe_holder_key *key, const struct mmuprobe_holder *h, void *ctx)
{
	struct vm_entries *ve = ctx;
	const char *frames[MMUPROBE_STACK_DEPTH];
	struct json_object *o;
	int n;

	if (key->tgid != ve->tgid)
		return;
	n = maps_stack(ve->r->skel, ve->r->ksyms, key->stackid, frames, MMUPROBE_STACK_DEPTH);
	o = json_object_new_object();
	json_object_object_add(o, "function", json_object_new_string(lock_caller(frames, n)));
	json_object_object_add(o, "stack", stack_json(frames, n));
	json_object_object_add(o, "write", json_object_new_boolean(key->write));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)h->count));
	json_object_object_add(o, "sum_ns", json_object_new_int64((int64_t)h->sum));
	json_object_object_add(o, "max_ns", json_object_new_int64((int64_t)h->max));
	json_object_array_add(ve->arr, o);
}

static void add_holders(struct report *r, __u32 tgid, struct json_object *vmo)
{
	struct vm_entries ve = { r, tgid, json_object_new_array(), NULL };

	maps_for_each_holder(r->skel, add_holder, &ve);
	json_object_object_add(vmo, "lock_holders", ve.arr);
}

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The probes' count against KVM's delta for the same VM: they must be equal. */
static void crosscheck(struct json_object *cc, const char *name, uint64_t probe, uint64_t kvm,
		       bool counted)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "probe", json_object_new_int64((int64_t)probe));
	json_object_object_add(o, "kvm", json_object_new_int64((int64_t)kvm));
	json_object_object_add(o, "equal", counted ? json_object_new_boolean(probe == kvm) : NULL);
	json_object_object_add(cc, name, o);
}

/* The VMs of the document, and KVM's last counters of every struct kvm. */
struct vms_ctx {
	struct report *r;
	struct json_object *vms;
	struct mmuprobe_kvm_stat last[MAX_STATS];
	int nlast;
};

static void add_vm(__u32 tgid, const struct mmuprobe_vm *vm, void *ctx)
{
	struct vms_ctx *v = ctx;
	struct json_object *vmo = json_object_new_object(), *lat = json_object_new_object();
	struct json_object *cnt = json_object_new_object(), *ks = json_object_new_array();
	struct json_object *cc = json_object_new_object();
	uint64_t d_zapped = 0, d_recycled = 0, p_zapped = 0, p_recycled = 0;
	struct json_object *reasons, *rr;
	char comm[32];
	int i, nkvm = 0;

	snprintf(comm, sizeof(comm), "%.*s", MMUPROBE_COMM_LEN, vm->comm);
	if (!comm[0])
		comm_of((pid_t)tgid, comm, sizeof(comm));
	json_object_object_add(vmo, "pid", json_object_new_int((int)tgid));
	json_object_object_add(vmo, "comm", json_object_new_string(comm));
#define C(x) json_object_object_add(cnt, #x, json_object_new_int64((int64_t)vm->x))
	C(recycled); C(recycle_calls); C(zapped);
#undef C
	json_object_object_add(cnt, "harvested_pages", tier_measured(M_HARVEST) ?
			       json_object_new_int64((int64_t)vm->harvested_pages) : NULL);
	json_object_object_add(cnt, "page_faults", tier_measured(M_FAULTS) ?
			       json_object_new_int64((int64_t)vm->page_faults) : NULL);
	json_object_object_add(vmo, "counters", cnt);
	for (i = 0; i < LAT_NR; i++)
		json_object_object_add(lat, lat_names[i], tier_measured(lat_metric[i]) ?
				       lat_json(&vm->lat[i]) : NULL);
	json_object_object_add(vmo, "latency", lat);
	add_zaps(v->r, tgid, vmo);
	add_holders(v->r, tgid, vmo);

	/* KVM's own counters of this process's VMs: first sight and now. */
	for (i = 0; i < v->nlast; i++) {
		const struct mmuprobe_kvm_stat *last = &v->last[i];
		struct mmuprobe_kvm_first f;
		struct json_object *o;

		if (last->tgid != tgid || !maps_kvm_first(v->r->skel, last->kvm, &f))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "first", kvm_stat_json(&f.first));
		json_object_object_add(o, "last", kvm_stat_json(last));
		json_object_array_add(ks, o);
		d_zapped += last->mmu_shadow_zapped - f.first.mmu_shadow_zapped;
		d_recycled += last->mmu_recycled - f.first.mmu_recycled;
		p_zapped += last->probe_zapped - f.first.probe_zapped;
		p_recycled += last->probe_recycled - f.first.probe_recycled;
		nkvm++;
	}
	json_object_object_add(vmo, "kvm_stats", ks);
	/* Degraded recycled: the pages of zaps whose stack says recycle, whole run. */
	if (strcmp(tier_status(M_RECYCLED), "exact") &&
	    json_object_object_get_ex(vmo, "zap_reasons", &reasons)) {
		p_recycled = json_object_object_get_ex(reasons, "recycle", &rr) ?
			     (uint64_t)json_object_get_int64(rr) : 0;
		json_object_object_add(cnt, "recycled", json_object_new_int64((int64_t)p_recycled));
	}
	crosscheck(cc, "mmu_shadow_zapped", p_zapped, d_zapped,
		   nkvm > 0 && strcmp(tier_status(M_ZAPS), "unavailable"));
	crosscheck(cc, "mmu_recycled", p_recycled, d_recycled,
		   nkvm > 0 && strcmp(tier_status(M_ZAPS), "unavailable"));
	json_object_object_add(vmo, "crosscheck", cc);
	json_object_array_add(v->vms, vmo);
}

/* ---- VM roles ---------------------------------------------------------------------------- */

/*
 * A workload with several VMMs names what each is in the file $MMUPROBE_ROLES names, one
 * "PID ROLE" line per process (workloads/migrate.c: "source", "destination"), so that a
 * metric reads the same VM in every repetition instead of whichever the map listed first.
 */
#define MAX_ROLES 64
struct roles {
	struct { int pid; char role[16]; } of[MAX_ROLES];
	int n;
};

static void read_roles(const char *path, struct roles *roles)
{
	FILE *f;

	roles->n = 0;
	if (!path || !path[0] || !(f = fopen(path, "r")))
		return;
	while (roles->n < MAX_ROLES &&
	       fscanf(f, "%d %15s", &roles->of[roles->n].pid, roles->of[roles->n].role) == 2)
		roles->n++;
	fclose(f);
}

static const char *role_of(const struct roles *roles, int pid)
{
	for (int i = 0; i < roles->n; i++)
		if (roles->of[i].pid == pid)
			return roles->of[i].role;
	return NULL;
}

static int role_rank(struct json_object *vmo)
{
	static const char *const order[] = { "vm", "source", "destination" };
	struct json_object *r;

	if (!json_object_object_get_ex(vmo, "role", &r))
		return 4;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(json_object_get_string(r), order[i]))
			return (int)i;
	return 3;
}

static int vm_order(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
	int rx = role_rank(x), ry = role_rank(y);

	if (rx != ry)
		return rx - ry;
	return json_object_get_int(json_object_object_get(x, "pid")) -
	       json_object_get_int(json_object_object_get(y, "pid"));
}

/*
 * Each VM's role: the workload's word for it, "vm" for the only VM of a recording, none
 * otherwise; the list in a stable order: vm, source, destination, other roles, none,
 * then by pid.
 */
static void name_and_order_vms(struct json_object *vms, const char *roles_path)
{
	size_t i, n = json_object_array_length(vms);
	struct roles roles;

	read_roles(roles_path, &roles);
	for (i = 0; i < n; i++) {
		struct json_object *vmo = json_object_array_get_idx(vms, i);
		const char *role = role_of(&roles, json_object_get_int(json_object_object_get(vmo, "pid")));

		if (!role && n == 1)
			role = "vm";
		if (role)
			json_object_object_add(vmo, "role", json_object_new_string(role));
	}
	json_object_array_sort(vms, vm_order);
}

/* ---- the final document ------------------------------------------------------------------ */

/*
 * --cost: every loaded program's runs and run time since the stats were enabled (before
 * attaching), from the kernel's own accounting. Iterators count too, but they run on our
 * read(), not on the workload's time.
 */
static struct json_object *self_cost_json(struct report *r, uint64_t wall_ns)
{
	struct json_object *o = json_object_new_object(), *progs = json_object_new_array();
	__u64 runs = 0, ns = 0;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, r->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		struct json_object *p;
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		p = json_object_new_object();
		json_object_object_add(p, "name", json_object_new_string(bpf_program__name(prog)));
		json_object_object_add(p, "runs", json_object_new_int64((int64_t)info.run_cnt));
		json_object_object_add(p, "run_time_ns", json_object_new_int64((int64_t)info.run_time_ns));
		json_object_array_add(progs, p);
		if (bpf_program__type(prog) != BPF_PROG_TYPE_TRACING ||
		    bpf_program__expected_attach_type(prog) != BPF_TRACE_ITER) {
			runs += info.run_cnt;
			ns += info.run_time_ns;
		}
	}
	json_object_object_add(o, "runs", json_object_new_int64((int64_t)runs));
	json_object_object_add(o, "run_time_ns", json_object_new_int64((int64_t)ns));
	json_object_object_add(o, "cpu_share", json_object_new_double(
		wall_ns ? (double)ns / (double)wall_ns : 0.0));
	/* The loader's own CPU time while recording (the iterator's reads, the ring buffer,
	 * the snapshots), and before it (BTF, kallsyms, loading and attaching). */
	json_object_object_add(o, "loader_cpu_ns", json_object_new_int64((int64_t)(cpu_ns() - r->cpu_at_start)));
	json_object_object_add(o, "loader_startup_cpu_ns", json_object_new_int64((int64_t)r->cpu_at_start));
	json_object_object_add(o, "programs", progs);
	return o;
}

/* The workload's resource use: what `perf stat` gives as task-clock, context switches and
 * page faults, without another process to start around each command. */
static struct json_object *rusage_json(const struct rusage *ru)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "user_ns", json_object_new_int64(
		(int64_t)ru->ru_utime.tv_sec * 1000000000 + (int64_t)ru->ru_utime.tv_usec * 1000));
	json_object_object_add(o, "sys_ns", json_object_new_int64(
		(int64_t)ru->ru_stime.tv_sec * 1000000000 + (int64_t)ru->ru_stime.tv_usec * 1000));
	json_object_object_add(o, "voluntary_ctxt_switches", json_object_new_int64(ru->ru_nvcsw));
	json_object_object_add(o, "involuntary_ctxt_switches", json_object_new_int64(ru->ru_nivcsw));
	json_object_object_add(o, "minor_faults", json_object_new_int64(ru->ru_minflt));
	json_object_object_add(o, "major_faults", json_object_new_int64(ru->ru_majflt));
	json_object_object_add(o, "max_rss_kb", json_object_new_int64(ru->ru_maxrss));
	return o;
}

struct json_object *report_doc(struct report *r, uint64_t t_end, const struct workload *w, bool cost)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *tj = json_object_new_object(), *dj = json_object_new_object();
	static const char *const drop_names[DROP_NR] = {
		[DROP_RINGBUF] = "ringbuf", [DROP_VM_MAP] = "vm_map", [DROP_ZAP_MAP] = "zap_map",
		[DROP_HOLDER_MAP] = "holder_map", [DROP_STACK] = "stack", [DROP_INFLIGHT] = "inflight",
		[DROP_SP_RINGBUF] = "sp_ringbuf",
	};
	struct vms_ctx v = { .r = r, .vms = json_object_new_array() };
	struct utsname u;
	int i;

	v.nlast = maps_kvm_stats(r->skel, r->iter, v.last, MAX_STATS, true);
	uname(&u);
	json_object_object_add(doc, "schema", json_object_new_string(MMUPROBE_SCHEMA));
	json_object_object_add(doc, "kernel", json_object_new_string(u.release));
	json_object_object_add(doc, "duration_ns", json_object_new_int64((int64_t)(t_end - r->t_start)));
	if (w) {
		json_object_object_add(doc, "workload_status", json_object_new_int(w->status));
		json_object_object_add(doc, "workload_rusage", rusage_json(&w->ru));
	}
	for (i = 0; i < M_NR; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(tier_status(i)));
		json_object_object_add(o, "how", json_object_new_string(tier_how(i)));
		json_object_object_add(tj, metric_name(i), o);
	}
	json_object_object_add(doc, "tiers", tj);
	for (i = 0; i < DROP_NR; i++)
		json_object_object_add(dj, drop_names[i], json_object_new_int64((int64_t)maps_drops(r->skel, i)));
	json_object_object_add(doc, "drops", dj);
	if (cost)
		json_object_object_add(doc, "self_cost", self_cost_json(r, t_end - r->t_start));

	maps_for_each_vm(r->skel, add_vm, &v);
	name_and_order_vms(v.vms, w ? w->roles_path : NULL);
	json_object_object_add(doc, "vms", v.vms);
	json_object_object_add(doc, "events", json_object_get(r->events));
	json_object_object_add(doc, "series", json_object_get(r->series));
	return doc;
}

int report_write(const char *path, struct json_object *doc)
{
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	struct atomic_file af;

	if (atomic_open(&af, path))
		goto fail;
	fputs(text, af.f);
	fputc('\n', af.f);
	if (atomic_commit(&af))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "mmuprobe: error: cannot write %s: %s\n", path, strerror(errno));
	return -1;
}

void report_print(struct report *r, struct json_object *doc)
{
	struct json_object *vms, *tj;
	size_t i;
	int j;

	json_object_object_get_ex(doc, "tiers", &tj);
	printf("tiers:\n");
	for (j = 0; j < M_NR; j++)
		printf("  %-26s %-11s %s\n", metric_name(j), tier_status(j), tier_how(j));
	if (json_object_object_get_ex(doc, "self_cost", &tj))
		printf("probe cost: %" PRId64 " runs, %.1f ms of BPF run time (%.2f%% of one CPU over "
		       "the recording); the loader: %.1f ms of CPU while recording\n",
		       json_object_get_int64(json_object_object_get(tj, "runs")),
		       (double)json_object_get_int64(json_object_object_get(tj, "run_time_ns")) / 1e6,
		       100.0 * json_object_get_double(json_object_object_get(tj, "cpu_share")),
		       (double)json_object_get_int64(json_object_object_get(tj, "loader_cpu_ns")) / 1e6);
	json_object_object_get_ex(doc, "vms", &vms);
	for (i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i), *o;
		__u32 tgid = (__u32)json_object_get_int(json_object_object_get(vm, "pid"));
		struct mmuprobe_vm v;

		if (!maps_vm(r->skel, tgid, &v))
			continue;
		printf("\nVM pid %u (%s): recycled %llu in %llu calls, zapped %llu",
		       tgid, json_object_get_string(json_object_object_get(vm, "comm")),
		       (unsigned long long)v.recycled, (unsigned long long)v.recycle_calls,
		       (unsigned long long)v.zapped);
		if (tier_measured(M_HARVEST))
			printf(", harvested pages %llu", (unsigned long long)v.harvested_pages);
		if (tier_measured(M_FAULTS))
			printf(", faults %llu", (unsigned long long)v.page_faults);
		printf("\n");
		if (json_object_object_get_ex(vm, "zap_reasons", &o))
			printf("  zap reasons: %s\n", json_object_to_json_string(o));
		if (json_object_object_get_ex(vm, "crosscheck", &o))
			printf("  crosscheck with KVM's stats: %s\n", json_object_to_json_string(o));
		for (j = 0; j < LAT_NR; j++) {
			if (!v.lat[j].count)
				continue;
			printf("\n  %s: %llu calls, mean %.1f us, max %.1f us\n", lat_names[j],
			       (unsigned long long)v.lat[j].count,
			       (double)v.lat[j].sum / (double)v.lat[j].count / 1000.0,
			       (double)v.lat[j].max / 1000.0);
			print_log2_hist(stdout, v.lat[j].slots, MMUPROBE_SLOTS, "nsecs");
		}
	}
}
