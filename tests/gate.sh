# The gate's tests (check_gate), sourced by tests/run; needs its expect, $OUTPUT and the
# repository as the working directory. No VM: result sets of the ci profile's shape drawn by
# tests/fixtures/gate/gen from tests/fixtures/gate/ci-shape.spec, compared by build/bin/compare.

# gate_inject SRC DST MODE/WORKLOAD JQ_PATH FACTOR: DST is a copy of the result set SRC with
# JQ_PATH (e.g. .result.job.seconds) of that workload's repetitions multiplied by FACTOR:
# the [gate] issue's injected regression, on a fixture or a real results/<run>/<kernel>.
gate_inject() {
	local src=$1 dst=$2 wl=$3 path=$4 factor=$5 f
	rm -rf "$dst" && cp -r "$src" "$dst" || return 1
	for f in "$dst/$wl"/*.json; do
		jq -c "$path *= $factor" "$f" >"$f.tmp" && mv "$f.tmp" "$f" || return 1
	done
}

# gate_row REPORT METRIC WORKLOAD: the gate table's row of that metric ("| verdict | ...").
gate_row() {
	grep -E "^\| [A-Za-z/ ]+ \| $2 \| $3 \| " "$1" | head -n 1
}

# gate_case DIR NAME SEED FACTOR_SPEC METRIC MODE/WORKLOAD STATUS VERDICT: one injected
# change at exact noise against the same draws without it; compare's exit is STATUS, the
# metric's verdict VERDICT, and a regression or possible one is named on stderr.
gate_case() {
	local t=$1 name=$2 seed=$3 inj=$4 metric=$5 wl=$6 want=$7 verdict=$8 out status rc=0
	tests/fixtures/gate/gen -x tests/fixtures/gate/ci-shape.spec "$seed" "$t/$name" "$inj" || return 1
	out=$("$OUTPUT/bin/compare" -m analysis/metrics.conf -r "$t/$name.md" "$t/exact" "$t/$name" 2>&1 >/dev/null)
	status=$?
	echo "$name: exit $status; $(gate_row "$t/$name.md" "$metric" "${wl#*/}")"
	expect "$name: exit $want, got $status: $out" test "$status" -eq "$want" || rc=1
	expect "$name: $metric in $wl is '$verdict'" grep -q "^| $verdict | $metric | ${wl#*/} | 3/3 | " "$t/$name.md" || rc=1
	case $verdict in
	REGRESSION) expect "$name: the regression named" grep -q "^compare: regression: $metric in $wl: " <<<"$out" || rc=1 ;;
	"possible regression") expect "$name: named as possible" grep -q "^compare: possible regression: $metric in $wl: " <<<"$out" || rc=1 ;;
	*) expect "$name: nothing named" test -z "$(grep -E '^compare: (possible )?regression: ' <<<"$out")" || rc=1 ;;
	esac
	return $rc
}

check_gate() {
	local t rc=0 out status rows gen=tests/fixtures/gate/gen spec=tests/fixtures/gate/ci-shape.spec
	local cmp="$OUTPUT/bin/compare -m analysis/metrics.conf" f
	t=$(mktemp -d /var/tmp/mmuscope-gate.XXXXXX)
	$gen "$spec" 1 "$t/base" && $gen "$spec" 2 "$t/aa" && $gen -x "$spec" 3 "$t/exact" || return 1

	# A/A: one kernel against itself re-sampled (other draws, the same means and noise).
	out=$($cmp -r "$t/aa.md" -t "$t/aa.tsv" "$t/base" "$t/aa" 2>&1 >/dev/null); status=$?
	echo "$out"
	expect "A/A: exit 0, got $status" test $status -eq 0 || rc=1
	expect "A/A: no regression" test -z "$(grep '^compare: regression: ' <<<"$out")" || rc=1
	rows=$(awk '/^## All metrics/ {a = 1} a && /^\| [a-z]/' "$t/aa.md" | wc -l)
	expect "A/A: a fixture the size of the ci profile (40+ rows), got $rows" test "$rows" -ge 40 || rc=1
	expect "A/A: both modes compared" grep -q '^### tdp-legacy MMU' "$t/aa.md" || rc=1
	expect "A/A: the verdict leads the report" \
		test "$(awk '/^## / {print; exit}' "$t/aa.md" | cut -c1-22)" = "## Gate: no regression" || rc=1
	expect "a small gated family: 1-3 gated metrics per workload" \
		awk -F'\t' '!/^#/ && $10 == 1 {n[$2 "/" $3]++} END {for (k in n) if (n[k] > 3) exit 1; exit !length(n)}' "$t/aa.tsv" || rc=1
	expect "every gated metric with its interval, threshold and detectable change" \
		awk -F' \\| ' '/^\| (ok|better|possible regression|REGRESSION) \|/ {g++; if ($6 !~ /^\[/ || $7 !~ /%$/ || $8 !~ /%/) bad++} END {exit !(g >= 10 && !bad)}' "$t/aa.md" || rc=1
	expect "only gated metrics in the Holm column" \
		grep -q '| probe_mmu_recycled | shadow | shadow-fork | 3/3 | .* | not gated |' "$t/aa.md" || rc=1

	# Injected changes at the noise the [gate] issue measured (n = 3): fork_job_seconds sd 3%,
	# dlpt-manual's get-dirty-log sd 21%.
	gate_case "$t" fork-1.3 3 shadow/shadow-fork/result.job.seconds=1.3 fork_job_seconds shadow/shadow-fork 1 REGRESSION || rc=1
	gate_case "$t" dlpt-2 3 shadow/dlpt-manual/result.get_dirty_log_avg_ns=2 dlpt_get_dirty_log shadow/dlpt-manual 1 REGRESSION || rc=1
	gate_case "$t" dlpt-1.3 3 shadow/dlpt-manual/result.get_dirty_log_avg_ns=1.3 dlpt_get_dirty_log shadow/dlpt-manual 0 "possible regression" || rc=1
	gate_case "$t" fork-1.1 3 shadow/shadow-fork/result.job.seconds=1.1 fork_job_seconds shadow/shadow-fork 0 ok || rc=1
	# a rate: lower is worse
	gate_case "$t" rate-0.6 3 shadow/harvest/result.windows.harvest.pages_per_s=0.6 harvest_update_rate shadow/harvest 1 REGRESSION || rc=1

	# What the gate could not have caught, in a line ci/bench greps (ci/README.md).
	out=$($cmp "$t/exact" "$t/fork-1.3" 2>&1 >/dev/null)
	expect "underpowered: the 21%-noise metric, in ci/bench's format: $out" \
		grep -Eq '^compare: warning: underpowered: dlpt_get_dirty_log in shadow/dlpt-manual: detectable \+[0-9.]+% at n=3/3 \(sd 21\.0%/21\.0%\), threshold \+10%: reps=[0-9]+$' <<<"$out" || rc=1
	expect "underpowered: not the 3%-noise one" test -z "$(grep 'underpowered: fork_job_seconds' <<<"$out")" || rc=1

	# No events is no value: fio and the fork job make no get-dirty-log call (count 0).
	expect "a latency with no events is no row, not 0 ± 0" \
		test -z "$(grep -E '\| probe_get_dirty_log_mean \| shadow \| (fio-randwrite|shadow-fork) \|' "$t/aa.md")" || rc=1
	gate_inject "$t/aa" "$t/nolock" shadow/dlpt-get .probe.vms[0].latency.lock_hold_write_dirty_log.count 0 || rc=1
	out=$($cmp "$t/base" "$t/nolock" 2>&1)
	expect "a side with no events: n/a" grep -q '| probe_lock_hold_dirty_log_max | shadow | dlpt-get | 3/0 | [0-9.e+]* ± [0-9.e+]* | n/a |' <<<"$out" || rc=1

	# VMs by role: migrate lists its destination first and the source second.
	expect "role=source: the source's get-dirty-log, wherever it is listed" awk -F'\t' -v want="$(
		jq -s '[.[].probe.vms[] | select(.role == "source") | .latency.get_dirty_log.mean_ns] | add / length' "$t"/base/shadow/migrate/*.json)" \
		'$1 == "probe_get_dirty_log_mean" && $3 == "migrate" {f = 1; d = $4 / want - 1; exit !(d < 1e-6 && d > -1e-6)} END {if (!f) exit 1}' "$t/aa.tsv" || rc=1
	expect "sum: recycled pages of every VM" awk -F'\t' -v want="$(
		jq -s '[.[] | [.probe.vms[].counters.recycled] | add] | add / length' "$t"/base/shadow/migrate/*.json)" \
		'$1 == "probe_mmu_recycled" && $3 == "migrate" {f = 1; d = $4 / want - 1; exit !(d < 1e-6 && d > -1e-6)} END {if (!f) exit 1}' "$t/aa.tsv" || rc=1
	# Documents from before roles: one VM is that VM; two cannot be told apart.
	cp -r "$t/aa" "$t/noroles"
	for f in "$t"/noroles/shadow/{dlpt-manual,migrate}/*.json; do
		jq -c 'del(.probe.vms[].role)' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
	done
	out=$($cmp "$t/base" "$t/noroles" 2>&1)
	expect "no roles, one VM: still compared" grep -q '| probe_get_dirty_log_mean | shadow | dlpt-manual | 3/3 | [^|]* | [0-9]' <<<"$out" || rc=1
	expect "no roles, two VMs: n/a, not an arbitrary VM" grep -q '| probe_get_dirty_log_mean | shadow | migrate | 3/0 |' <<<"$out" || rc=1
	expect "no roles, two VMs: said once" test "$(grep -c "2 VMs and none has the 'role' that \[role=vm|source\]" <<<"$out")" -eq 1 || rc=1

	# Two destinations (migrate-cancel-thp): one role names no single VM; a sum adds them.
	printf '%s\n' 'dest_one migrate-cancel-thp probe.vms[role=destination].counters.recycled lower -' \
		'dest_sum migrate-cancel-thp probe.vms[sum:role=destination].counters.recycled lower -' >"$t/m0"
	out=$("$OUTPUT/bin/compare" -m "$t/m0" "$t/base" "$t/aa" 2>&1)
	expect "a role two VMs hold: n/a, said once per result set" test "$(grep -c '2 VMs match \[role=destination\]: n/a' <<<"$out")" -eq 2 || rc=1
	expect "... and no row" test -z "$(grep '| dest_one |' <<<"$out")" || rc=1
	expect "[sum:role=destination]: their sum" grep -q '| dest_sum | tdp-legacy | migrate-cancel-thp | 3/3 | 0 ± 0 |' <<<"$out" || rc=1

	# The ratio plot: the gated family only, on a log axis.
	mkdir -p "$t/plots"
	$cmp -t "$t/plots/rows.tsv" "$t/exact" "$t/dlpt-2" >/dev/null 2>&1
	out=$("$OUTPUT/bin/plot" "$t/exact" "$t/dlpt-2" "$t/plots" 2>&1); status=$?
	expect "plot: exit 0, got $status: $out" test $status -eq 0 || rc=1
	expect "plot: one line per gated metric of the mode" test "$(grep -vc '^#' "$t/plots/ratios-shadow.dat")" -eq \
		"$(awk -F'\t' '$2 == "shadow" && $10 == 1' "$t/plots/rows.tsv" | wc -l)" || rc=1
	expect "plot: a log axis" grep -q '^set logscale x' "$t/plots/ratios-shadow.gp" || rc=1
	expect "plot: the regression marked" grep -q 'dlpt-manual: dlpt_get_dirty_log (REGRESSION)' "$t/plots/ratios-shadow.dat" || rc=1
	expect "plot: SVG and PNG" test -s "$t/plots/ratios-shadow.svg" -a -s "$t/plots/ratios-tdp-legacy.png" || rc=1

	# metrics.conf: a gated metric needs a threshold; a bad selector is named.
	sed 's/^\(fork_job_seconds .* lower  *\)10\( .*\)$/\1-\2/' analysis/metrics.conf >"$t/m1"
	out=$("$OUTPUT/bin/compare" -m "$t/m1" "$t/base" "$t/aa" 2>&1); status=$?
	expect "gate without a threshold: exit 2 naming the fix, got $status: $out" \
		test $status -eq 2 -a "$(wc -l <<<"$out")" -eq 1 || rc=1
	expect "... naming the fix" grep -q 'fork_job_seconds is gated: give it a THRESHOLD' <<<"$out" || rc=1
	sed 's/vms\[sum\]\.counters\.recycled/vms[sum.counters.recycled/' analysis/metrics.conf >"$t/m2"
	out=$("$OUTPUT/bin/compare" -m "$t/m2" "$t/base" "$t/aa" 2>&1); status=$?
	expect "a malformed selector: exit 2, got $status: $out" test $status -eq 2 -a "$(wc -l <<<"$out")" -eq 1 || rc=1
	gate_insns "$t" || rc=1
	[ $rc -eq 0 ] && rm -rf "$t"
	return $rc
}

# gate_insns DIR: check_gate's [insns] cases, on ci-shaped result sets whose repetitions carry
# insns documents (tests/fixtures/gate/ci-insns.spec appended to ci-shape.spec; counts with
# sd 0.3%): a workload is gated on its gate-insns metrics when both sets carry instruction
# counts, else on its gate-wall ones, and the report says which and why.
gate_insns() {
	local t=$1 rc=0 out status w f gen=tests/fixtures/gate/gen spec=$1/insns.spec
	local cmp="$OUTPUT/bin/compare -m analysis/metrics.conf"
	cat tests/fixtures/gate/ci-shape.spec tests/fixtures/gate/ci-insns.spec >"$spec"
	$gen "$spec" 1 "$t/ibase" && $gen "$spec" 2 "$t/iaa" && $gen -x "$spec" 3 "$t/iexact" || return 1

	# (b) A/A with instruction counts on both sides: passes, every workload on its instruction
	# rows (1-3 of them), no wall-clock row gated.
	out=$($cmp -r "$t/iaa.md" -t "$t/iaa.tsv" "$t/ibase" "$t/iaa" 2>&1 >/dev/null); status=$?
	echo "$out"
	expect "insns A/A: exit 0, got $status" test $status -eq 0 || rc=1
	expect "insns A/A: no regression" test -z "$(grep '^compare: regression: ' <<<"$out")" || rc=1
	expect "insns A/A: the verdict leads the report" \
		test "$(awk '/^## / {print; exit}' "$t/iaa.md" | cut -c1-22)" = "## Gate: no regression" || rc=1
	for w in dlpt-manual dlpt-get harvest cancel-fixed shadow-fork migrate migrate-cancel-thp kernbench fio-randwrite; do
		expect "insns A/A: $w gated on instruction counts, and says why" \
			grep -qxF -- "- $w: instruction counts (\`gate-insns\`): both sets carry insns (3/3 base, 3/3 new repetitions)" "$t/iaa.md" || rc=1
	done
	expect "insns A/A: cancel-thp (time-driven: no fixed-work instruction row) on wall clock" \
		grep -qxF -- '- cancel-thp: wall clock (`gate-wall`): no `gate-insns` metric applies to this workload' "$t/iaa.md" || rc=1
	expect "insns A/A: every other workload's gated family is 1-3 instruction rows" \
		awk -F'\t' '!/^#/ && $10 == 1 && $3 != "cancel-thp" {n[$2 "/" $3]++; if ($1 !~ /_insns_/) bad++} END {for (k in n) if (n[k] > 3) exit 1; exit !(length(n) == 9 && !bad)}' "$t/iaa.tsv" || rc=1
	expect "insns A/A: the wall-clock rows still reported, not gated" \
		grep -q '^| dlpt_get_dirty_log | shadow | dlpt-manual | 3/3 | .* | not gated |' "$t/iaa.md" || rc=1
	expect "insns A/A: the instruction rows in the report like any other" \
		grep -q '^| dlpt_insns_per_fault | shadow | dlpt-manual | 3/3 | ' "$t/iaa.md" || rc=1

	# (a) +5% of one workload's KVM instructions (every bucket of dlpt-manual x1.05): a
	# regression at n = 3, both on a copy of one set (the [gate] issue's experiment) and
	# against independent draws; no other workload named.
	gate_inject "$t/iexact" "$t/ikvm5" shadow/dlpt-manual '.insns.buckets[]' 1.05 &&
		gate_inject "$t/iaa" "$t/iaa5" shadow/dlpt-manual '.insns.buckets[]' 1.05 || return 1
	for f in "$t/iexact $t/ikvm5" "$t/ibase $t/iaa5"; do
		out=$($cmp -r "$t/kvm5.md" $f 2>&1 >/dev/null); status=$?
		echo "$f: exit $status; $(gate_row "$t/kvm5.md" dlpt_insns_kvm dlpt-manual)"
		expect "+5% KVM instructions ($f): exit 1, got $status: $out" test $status -eq 1 || rc=1
		expect "+5% KVM instructions ($f): REGRESSION in the gate's table" \
			grep -q '^| REGRESSION | dlpt_insns_kvm | dlpt-manual | 3/3 | ' "$t/kvm5.md" || rc=1
		expect "+5% KVM instructions ($f): named, and nothing else" \
			test "$(grep -E '^compare: (possible )?regression: ' <<<"$out" | cut -d: -f3 | sort -u)" = " dlpt_insns_kvm in shadow/dlpt-manual" || rc=1
	done

	# (c) Instruction counts in one set only for dlpt-get (a run without --insns on one
	# kernel): that workload falls back to its wall-clock family and says so, in the report
	# and on stderr; the others keep theirs.
	cp -r "$t/iaa" "$t/ihalf"
	for f in "$t"/ihalf/shadow/dlpt-get/*.json; do
		jq -c '.insns = null' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
	done
	out=$($cmp -r "$t/ihalf.md" -t "$t/ihalf.tsv" "$t/ibase" "$t/ihalf" 2>&1 >/dev/null); status=$?
	echo "$out"
	expect "insns in one set: exit 0, got $status" test $status -eq 0 || rc=1
	expect "insns in one set: dlpt-get on wall clock, saying why" \
		grep -qxF -- '- dlpt-get: wall clock (`gate-wall`): insns in one set only (3/3 base, 0/3 new repetitions with insns; 2 a side needed)' "$t/ihalf.md" || rc=1
	expect "insns in one set: said on stderr" \
		grep -qxF 'compare: warning: shadow/dlpt-get gated on wall clock: insns in one set only (3/3 base, 0/3 new repetitions with insns; 2 a side needed)' <<<"$out" || rc=1
	expect "insns in one set: dlpt-get's gated rows are its wall-clock ones" test "$(awk -F'\t' \
		'$3 == "dlpt-get" && $10 == 1 {print $1}' "$t/ihalf.tsv" | sort | tr '\n' ' ')" = "dlpt_dirty_memory dlpt_get_dirty_log " || rc=1
	expect "insns in one set: dlpt-manual still on instruction counts" test "$(awk -F'\t' \
		'$3 == "dlpt-manual" && $10 == 1 {print $1}' "$t/ihalf.tsv" | sort | tr '\n' ' ')" = "dlpt_insns_kernel dlpt_insns_kvm " || rc=1
	# ... and a wall-clock regression there is caught again: x1.5 on its 5%-noise dirty pass
	gate_inject "$t/ihalf" "$t/ihalf2" shadow/dlpt-get .result.dirty_memory_avg_ns 1.5 || return 1
	out=$($cmp "$t/ibase" "$t/ihalf2" 2>&1 >/dev/null); status=$?
	expect "insns in one set: the wall-clock gate works there (exit 1), got $status: $out" test $status -eq 1 || rc=1
	expect "... naming the wall-clock metric" grep -q '^compare: regression: dlpt_dirty_memory in shadow/dlpt-get: ' <<<"$out" || rc=1

	# (d) perf's counts on a real machine (source perf: totals, no buckets) in both sets:
	# reported, not gated (on hardware they leave out the guest's kernel and no threshold was
	# measured for them): every workload on wall clock, saying why, no warning.
	cp -r "$t/iaa" "$t/iperf" && cp -r "$t/ibase" "$t/iperfb"
	for f in "$t"/iperf/*/*/*.json "$t"/iperfb/*/*/*.json; do
		jq -c '.insns = {schema: "mmuscope.insns/1", source: "perf", total: .insns.total, buckets: null, vcpus: null}' \
			"$f" >"$f.tmp" && mv "$f.tmp" "$f"
	done
	out=$($cmp -r "$t/iperf.md" -t "$t/iperf.tsv" "$t/iperfb" "$t/iperf" 2>&1 >/dev/null); status=$?
	expect "perf counts: exit 0, got $status" test $status -eq 0 || rc=1
	expect "perf counts: dlpt-get on wall clock, saying why" \
		grep -qxF -- '- dlpt-get: wall clock (`gate-wall`): perf'"'"'s instruction counts (a host booted into the kernel: totals only), reported, not gated' "$t/iperf.md" || rc=1
	expect "perf counts: no gated instruction row" test -z "$(awk -F'\t' '$10 == 1 && $1 ~ /_insns_/' "$t/iperf.tsv")" || rc=1
	expect "perf counts: no warning" test -z "$(grep 'gated on wall clock' <<<"$out")" || rc=1
	# (e) the plugin's counts in both sets, but the workload's gated instruction row without a
	# value in one (its phase missing: a workload that lost its markers): wall clock, warned.
	cp -r "$t/iaa" "$t/inophase"
	for f in "$t"/inophase/shadow/harvest/*.json; do
		jq -c '.insns.phases = null' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
	done
	out=$($cmp "$t/ibase" "$t/inophase" 2>&1 >/dev/null); status=$?
	expect "a gated instruction row valued in one set: exit 0 on wall clock, warned, got $status: $out" \
		grep -qxF 'compare: warning: shadow/harvest gated on wall clock: its `gate-insns` rows have values in one set only (2 repetitions a side needed)' <<<"$out" || rc=1

	# Plain `gate`: gated whichever family the workload's sets choose; an unknown flag is an error.
	sed 's/^\(dlpt_get_dirty_log .*\) gate-wall$/\1 gate/' analysis/metrics.conf >"$t/m4"
	"$OUTPUT/bin/compare" -m "$t/m4" -t "$t/gate-i.tsv" "$t/ibase" "$t/iaa" >/dev/null 2>&1
	"$OUTPUT/bin/compare" -m "$t/m4" -t "$t/gate-w.tsv" "$t/base" "$t/aa" >/dev/null 2>&1
	expect "plain gate: beside the instruction rows" test "$(awk -F'\t' \
		'$3 == "dlpt-manual" && $10 == 1 {print $1}' "$t/gate-i.tsv" | sort | tr '\n' ' ')" = "dlpt_get_dirty_log dlpt_insns_kernel dlpt_insns_kvm " || rc=1
	expect "plain gate: beside the wall-clock rows" test "$(awk -F'\t' \
		'$3 == "dlpt-manual" && $10 == 1 {print $1}' "$t/gate-w.tsv" | sort | tr '\n' ' ')" = "dlpt_dirty_memory dlpt_get_dirty_log " || rc=1
	sed 's/^\(dlpt_dirty_memory .*\) gate-wall$/\1 gate-walls/' analysis/metrics.conf >"$t/m5"
	out=$("$OUTPUT/bin/compare" -m "$t/m5" "$t/ibase" "$t/iaa" 2>&1); status=$?
	expect "an unknown flag: exit 2 in one line naming the flags, got $status: $out" \
		test $status -eq 2 -a "$(wc -l <<<"$out")" -eq 1 || rc=1
	expect "... naming the flags" grep -q 'gate|gate-insns|gate-wall' <<<"$out" || rc=1

	# (d) The PATH language's no-value cases on these sets (tests/unit/test_metricpath.c has
	# the rest): no bucket matched, insns null, a ratio whose denominator is 0 or missing.
	printf '%s\n' \
		'kvm_all * insns.buckets[sum:*] lower -' \
		'spin * insns.buckets[sum:*_lock_slowpath] lower -' \
		'kvm_only * insns.buckets[sum:!*_lock_slowpath] lower -' \
		'two_globs * insns.buckets[sum:paging64_*|*_lock_slowpath] lower -' \
		'no_bucket * insns.buckets[sum:no_such_bucket*] lower -' \
		'per_call * ratio(insns.buckets[sum:*],probe.vms[role=vm|source].latency.get_dirty_log.count) lower -' \
		'per_nothing * ratio(insns.total.kernel,result.no_such_count) lower -' >"$t/m3"
	out=$("$OUTPUT/bin/compare" -m "$t/m3" -r "$t/paths.md" -t "$t/paths.tsv" "$t/ibase" "$t/ihalf" 2>&1); status=$?
	expect "paths: exit 0, got $status" test $status -eq 0 || rc=1
	expect "no bucket matched: no value, no row" test -z "$(grep '| no_bucket |' "$t/paths.md")" || rc=1
	expect "a ratio over a missing count: no row" test -z "$(grep '| per_nothing |' "$t/paths.md")" || rc=1
	expect "insns null: n/a on that side" grep -q '^| kvm_all | shadow | dlpt-get | 3/0 | [0-9.e+]* ± [0-9.e+]* | n/a |' "$t/paths.md" || rc=1
	expect "insns null: a ratio over it n/a too" grep -q '^| per_call | shadow | dlpt-get | 3/0 |' "$t/paths.md" || rc=1
	expect "a ratio over a count of 0 (the fork job and fio make no dirty-log call): no row" \
		test -z "$(grep -E '^\| per_call \| shadow \| (shadow-fork|fio-randwrite) \|' "$t/paths.md")" || rc=1
	expect "... while those workloads have their instruction counts" \
		grep -q '^| kvm_all | shadow | shadow-fork | 3/3 |' "$t/paths.md" || rc=1
	# the values: means over the repetitions of what jq adds up and divides
	paths_mean() {	# METRIC WORKLOAD JQ: the TSV's base mean against jq's on ibase
		awk -F'\t' -v m="$1" -v w="$2" -v want="$(jq -s "[.[] | $3] | add / length" "$t"/ibase/shadow/"$2"/*.json)" \
			'$1 == m && $3 == w {f = 1; d = $4 / want - 1; exit !(d < 1e-6 && d > -1e-6)} END {if (!f) exit 1}' "$t/paths.tsv"
	}
	expect "[sum:*]: every bucket" paths_mean kvm_all dlpt-manual '.insns.buckets | add' || rc=1
	expect "[sum:*_lock_slowpath]: the lock slow paths" paths_mean spin dlpt-manual \
		'.insns.buckets | to_entries | map(select(.key | endswith("_lock_slowpath")) | .value) | add' || rc=1
	expect "[sum:!GLOB]: all but the lock slow paths" paths_mean kvm_only dlpt-manual \
		'.insns.buckets | to_entries | map(select(.key | endswith("_lock_slowpath") | not) | .value) | add' || rc=1
	expect "[sum:A|B]: either glob" paths_mean two_globs migrate \
		'.insns.buckets | to_entries | map(select(.key | test("^paging64_|_lock_slowpath$")) | .value) | add' || rc=1
	expect "ratio(): per repetition, then the mean" paths_mean per_call harvest \
		'(.insns.buckets | add) / .probe.vms[0].latency.get_dirty_log.count' || rc=1
	return $rc
}
