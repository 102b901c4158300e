// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for analysis/metricpath.c, the PATH language of analysis/metrics.conf: its
 * syntax (what compare refuses at load), bucket sums by glob over an insns document
 * (tcgplugin/insns-json.md), ratio(PATH,PATH), every way a path has no value, and the
 * nodes plot reads by the same walk. The expected sums are the document's numbers added by
 * hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metricpath.h"

/* A repetition as workloads/run writes it, with an insns document (buckets as named by
 * tcgplugin/insns-ranges, one with a dot as kallsyms has them) and one VM's probe. */
static const char rep_json[] =
	"{\"workload\": \"dlpt-manual\", \"rep\": 1,"
	" \"result\": {\"iterations\": 3, \"zero\": 0, \"nothing\": null, \"text\": \"x\"},"
	" \"probe\": {\"vms\": [{\"role\": \"vm\", \"counters\": {\"page_faults\": 40000},"
	"   \"latency\": {\"get_dirty_log\": {\"count\": 4, \"mean_ns\": 1000},"
	"                 \"collapse\": {\"count\": 0, \"mean_ns\": 0, \"sum_ns\": 0}}}]},"
	" \"insns\": {\"schema\": \"mmuscope.insns/1\", \"window\": 2,"
	"   \"total\": {\"user\": 5000000000, \"kernel\": 1900000000, \"all\": 6900000000},"
	"   \"buckets\": {\"kvm_mmu_page_fault\": 11000000, \"paging64_page_fault\": 62000000,"
	"     \"kvm_vm_ioctl\": 1200000, \"mmu_spte_age.isra.0\": 300,"
	"     \"queued_spin_lock_slowpath\": 1000, \"native_queued_spin_lock_slowpath\": 0,"
	"     \"queued_write_lock_slowpath\": 250000, \"queued_read_lock_slowpath\": 20}}}";

static struct json_object *doc(void)
{
	struct json_object *o = json_tokener_parse(rep_json);

	assert_non_null(o);
	return o;
}

/* The value of expr in the document, or NAN for no value. */
static double value(struct json_object *o, const char *expr)
{
	double v = -12345.0;

	assert_true(metricpath_valid(expr, NULL));
	if (!metricpath_value(o, expr, "rep.json", &v))
		return NAN;
	return v;
}

static void syntax(void **state)
{
	static const char *const good[] = {
		"result.iterations",
		"result.job.jobs.0.write.iops",
		"probe.vms[role=vm|source].latency.get_dirty_log.mean_ns",
		"probe.vms[sum].counters.recycled",
		"probe.vms[sum:role=destination].counters.recycled",
		"insns.buckets[sum:*]",
		"insns.buckets[sum:*_lock_slowpath]",
		"insns.buckets[sum:kvm_*|paging64_*]",
		"insns.buckets[sum:*.isra.*]",	/* dots inside a selector */
		"insns.buckets[sum]",
		"insns.total.kernel",
		"ratio(insns.buckets[sum:*],probe.vms[role=vm|source].latency.get_dirty_log.count)",
		"ratio(insns.total.kernel,result.iterations)",
	};
	static const char *const bad[] = {
		"",
		"result..iterations",
		".result",
		"result.",
		"probe.vms[sum.counters.recycled",	/* the selector never closes */
		"probe.vms[sum]counters",		/* no dot after the selector */
		"probe.vms[]",
		"probe.vms[role=]",
		"probe.vms[=vm]",
		"probe.vms[role=vm|]",
		"insns.buckets[*]",			/* a glob selects only to add up */
		"insns.buckets[sum:]",
		"insns.buckets[sum:a||b]",
		"insns.buckets[sum:[a-z]*]",		/* no [...] classes in globs */
		"insns]buckets",
		"ratio(insns.total.kernel)",		/* one path */
		"ratio(insns.total.kernel,)",
		"ratio(,result.iterations)",
		"ratio(insns.total.kernel,result.iterations",
		"ratio(ratio(a,b),c)",			/* no ratio in a ratio */
		"ratio(a,ratio(b,c))",
		"insns.total(kernel)",
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = NULL;
		if (!metricpath_valid(good[i], &why))
			fail_msg("'%s' refused: %s", good[i], why);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (metricpath_valid(bad[i], &why))
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(why);
	}
}

static void bucket_sums(void **state)
{
	struct json_object *o = doc();

	(void)state;
	/* every bucket: KVM's functions and the lock slow paths */
	assert_true(value(o, "insns.buckets[sum:*]") ==
		    11000000.0 + 62000000 + 1200000 + 300 + 1000 + 0 + 250000 + 20);
	assert_true(value(o, "insns.buckets[sum]") == value(o, "insns.buckets[sum:*]"));
	/* the spinning: the five slow-path names of tcgplugin/insns-ranges, a 0 among them */
	assert_true(value(o, "insns.buckets[sum:*_lock_slowpath]") == 1000.0 + 0 + 250000 + 20);
	assert_true(value(o, "insns.buckets[sum:*lock_slowpath*]") == 1000.0 + 0 + 250000 + 20);
	/* several globs: a bucket matching two counts once */
	assert_true(value(o, "insns.buckets[sum:*page_fault|kvm_*]") == 11000000.0 + 62000000 + 1200000);
	assert_true(value(o, "insns.buckets[sum:queued_write_lock_slowpath]") == 250000.0);
	/* !GLOB excludes: KVM's functions without the spinning; with a positive glob, both */
	assert_true(value(o, "insns.buckets[sum:!*_lock_slowpath]") ==
		    11000000.0 + 62000000 + 1200000 + 300);
	assert_true(value(o, "insns.buckets[sum:kvm_*|!*_lock_slowpath]") ==
		    value(o, "insns.buckets[sum:kvm_*]"));
	assert_true(isnan(value(o, "insns.buckets[sum:!*]")));	/* everything excluded */
	/* a name with dots, by a glob with a dot */
	assert_true(value(o, "insns.buckets[sum:*.isra.*]") == 300.0);
	/* a matched bucket of 0 is a value, 0 */
	assert_true(value(o, "insns.buckets[sum:native_*]") == 0.0);
	assert_true(value(o, "insns.total.kernel") == 1900000000.0);
	json_object_put(o);
}

/* The plugin's phases (tcgplugin/insns-json.md): an object keyed by the phase's number. */
static void phases(void **state)
{
	struct json_object *o = json_tokener_parse(
		"{\"insns\": {\"phases\": {"
		"\"0\": {\"entered\": 2, \"buckets\": {\"kvm_a\": 5, \"queued_spin_lock_slowpath\": 7}},"
		"\"1\": {\"entered\": 1, \"buckets\": {\"kvm_a\": 100, \"kvm_b\": 20}},"
		"\"2\": {\"entered\": 1, \"buckets\": {\"kvm_b\": 3000, \"queued_spin_lock_slowpath\": 9}},"
		"\"12\": {\"entered\": 1, \"buckets\": {\"kvm_a\": 40000}}}},"
		"\"result\": {\"pages\": 10}}");

	(void)state;
	assert_non_null(o);
	assert_true(value(o, "insns.phases.1.buckets[sum:!*_lock_slowpath]") == 120.0);
	/* phases 1 and 2 together, not 12 */
	assert_true(value(o, "insns.phases[sum:1|2].buckets[sum:!*_lock_slowpath]") == 3120.0);
	assert_true(value(o, "insns.phases[sum].buckets[sum:*_lock_slowpath]") == 16.0);
	assert_true(value(o, "ratio(insns.phases[sum:1|2].buckets[sum:kvm_*],result.pages)") == 312.0);
	assert_true(isnan(value(o, "insns.phases.3.buckets[sum:*]")));	/* a phase not entered */
	json_object_put(o);
}

static void ratios(void **state)
{
	struct json_object *o = doc();

	(void)state;
	assert_true(fabs(value(o, "ratio(insns.buckets[sum:*],probe.vms[role=vm|source].latency.get_dirty_log.count)") -
			 74451320.0 / 4) < 1e-6);
	assert_true(fabs(value(o, "ratio(insns.total.kernel,probe.vms[sum].counters.page_faults)") -
			 1900000000.0 / 40000) < 1e-6);
	assert_true(value(o, "ratio(result.zero,result.iterations)") == 0.0);
	json_object_put(o);
}

/* Every way to no value: n/a, never 0. */
static void no_value(void **state)
{
	struct json_object *o = doc(), *nulled;

	(void)state;
	assert_true(isnan(value(o, "insns.buckets[sum:no_such_bucket*]")));	/* no bucket matched */
	assert_true(isnan(value(o, "insns.buckets[sum:nope|neither]")));
	assert_true(isnan(value(o, "insns.buckets[sum:*].count")));		/* numbers, no members */
	assert_true(isnan(value(o, "probe.vms[sum:*].counters.page_faults")));	/* globs on an array */
	assert_true(isnan(value(o, "insns.buckets[role=vm]")));		/* one element, of an object */
	assert_true(isnan(value(o, "insns.total.nothing")));
	assert_true(isnan(value(o, "result.nothing")));				/* null */
	assert_true(isnan(value(o, "result.text")));				/* not a number */
	assert_true(isnan(value(o, "probe.vms[role=vm].latency.collapse.mean_ns")));	/* no events */
	/* ratios: the denominator 0 or missing, the numerator missing */
	assert_true(isnan(value(o, "ratio(insns.total.kernel,result.zero)")));
	assert_true(isnan(value(o, "ratio(insns.total.kernel,probe.vms[role=vm].latency.collapse.count)")));
	assert_true(isnan(value(o, "ratio(insns.total.kernel,result.nothing)")));
	assert_true(isnan(value(o, "ratio(insns.total.kernel,result.missing)")));
	assert_true(isnan(value(o, "ratio(insns.buckets[sum:nope*],result.iterations)")));
	assert_true(isnan(value(o, "ratio(result.nothing,result.iterations)")));
	json_object_put(o);

	/* insns null (a run without testhost --insns): every insns path and ratio has none */
	nulled = json_tokener_parse("{\"result\": {\"iterations\": 3}, \"insns\": null}");
	assert_non_null(nulled);
	assert_true(isnan(value(nulled, "insns.buckets[sum:*]")));
	assert_true(isnan(value(nulled, "insns.buckets[sum]")));
	assert_true(isnan(value(nulled, "insns.total.kernel")));
	assert_true(isnan(value(nulled, "ratio(insns.buckets[sum:*],result.iterations)")));
	assert_true(isnan(value(nulled, "ratio(result.iterations,insns.total.kernel)")));
	assert_true(value(nulled, "result.iterations") == 3.0);
	json_object_put(nulled);
	/* no insns member at all (a result from before the plugin) */
	nulled = json_tokener_parse("{\"result\": {\"iterations\": 3}}");
	assert_true(isnan(value(nulled, "insns.buckets[sum:*]")));
	json_object_put(nulled);
	/* an empty buckets object (no ranges file): no bucket, no value */
	nulled = json_tokener_parse("{\"insns\": {\"buckets\": {}}}");
	assert_true(isnan(value(nulled, "insns.buckets[sum:*]")));
	json_object_put(nulled);
}

/* The selectors compare relied on before the globs: unchanged. */
static void array_selectors(void **state)
{
	struct json_object *o = json_tokener_parse(
		"{\"probe\": {\"vms\": [{\"role\": \"destination\", \"counters\": {\"recycled\": 40}},"
		" {\"role\": \"source\", \"counters\": {\"recycled\": 260}},"
		" {\"role\": \"destination\", \"counters\": {\"recycled\": 2}}]}}");

	(void)state;
	assert_non_null(o);
	assert_true(value(o, "probe.vms[role=vm|source].counters.recycled") == 260.0);
	assert_true(value(o, "probe.vms[sum].counters.recycled") == 302.0);
	assert_true(value(o, "probe.vms[sum:role=destination].counters.recycled") == 42.0);
	assert_true(isnan(value(o, "probe.vms[role=destination].counters.recycled")));	/* two */
	assert_true(value(o, "probe.vms.1.counters.recycled") == 260.0);
	json_object_put(o);
}

/* metricpath_node(): what plot reads (arrays to draw, a string), by the same walk. */
static void nodes(void **state)
{
	struct json_object *o = doc(), *two, *n;

	(void)state;
	n = metricpath_node(o, "probe.vms", "rep.json");
	assert_true(json_object_is_type(n, json_type_array) && json_object_array_length(n) == 1);
	n = metricpath_node(o, "probe.vms[role=vm|source].latency.get_dirty_log", "rep.json");
	assert_true(json_object_is_type(n, json_type_object));
	n = metricpath_node(o, "result.text", "rep.json");
	assert_string_equal(json_object_get_string(n), "x");
	assert_ptr_equal(metricpath_node(o, "", "rep.json"), o);
	assert_null(metricpath_node(o, "result.nothing", "rep.json"));	/* null */
	assert_null(metricpath_node(o, "result.missing", "rep.json"));
	assert_null(metricpath_node(o, "probe.vms[role=destination]", "rep.json"));
	assert_null(metricpath_node(o, "insns.buckets[sum:*]", "rep.json"));	/* a sum: no node */
	json_object_put(o);

	/* the rules of the values: an index; the one VM of a document without roles; two
	 * without roles are none (said with a file, not without one) */
	two = json_tokener_parse("{\"vms\": [{\"pid\": 7, \"t\": [1, 2]}, {\"pid\": 8}]}");
	assert_non_null(two);
	assert_int_equal(json_object_get_int(metricpath_node(two, "vms.1.pid", NULL)), 8);
	assert_int_equal(json_object_get_int(metricpath_node(two, "vms.0.t.1", NULL)), 2);
	assert_null(metricpath_node(two, "vms.2", NULL));
	assert_null(metricpath_node(two, "vms[role=vm|source]", NULL));
	json_object_array_del_idx(json_object_object_get(two, "vms"), 1, 1);
	assert_int_equal(json_object_get_int(metricpath_node(two, "vms[role=vm|source].pid", NULL)), 7);
	json_object_put(two);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(syntax),
		cmocka_unit_test(bucket_sums),
		cmocka_unit_test(phases),
		cmocka_unit_test(ratios),
		cmocka_unit_test(no_value),
		cmocka_unit_test(array_selectors),
		cmocka_unit_test(nodes),
	};

	return cmocka_run_group_tests_name("metricpath", tests, NULL, NULL);
}
