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
	[ $rc -eq 0 ] && rm -rf "$t"
	return $rc
}
