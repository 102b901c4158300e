# bisect_report's tests (check_bisect_report), sourced by tests/run; needs its expect,
# $OUTPUT and the repository as the working directory. No VM, no kernel: the result sets of
# a series' prefixes are drawn by tests/fixtures/gate/gen from tests/fixtures/bisect/
# dlpt-get.spec (dlpt-get in shadow mode with instruction counts; the metric is the real
# dlpt_insns_kvm of analysis/metrics.conf, threshold 3%), and bisect_report must name the
# patch that moves it, refuse to when a prefix is too noisy, drive a bisection with -n, and
# stop on bad input.

# bisect_prefix DIR SEED FACTOR [CV]: one prefix's result set in DIR, 3 repetitions: the KVM
# buckets (every bucket but the lock slow paths) x FACTOR, each with noise CV (default the
# spec's 0.01%), exact (gen -x: the set's mean and sd are the spec's).
bisect_prefix() {
	local dir=$1 seed=$2 factor=$3 cv=${4:-} spec=tests/fixtures/bisect/dlpt-get.spec b inj=()
	if [ -n "$cv" ]; then
		awk -v cv="$cv" '!/^#/ && $3 ~ /^insns\.buckets\./ && $3 !~ /_lock_slowpath$/ {$5 = cv} {print}' \
			"$spec" >"$dir.spec" || return 1
		spec=$dir.spec
	fi
	for b in $(awk '!/^#/ && $3 ~ /^insns\.buckets\./ && $3 !~ /_lock_slowpath$/ {print $3}' "$spec"); do
		inj+=("shadow/dlpt-get/$b=$factor")
	done
	tests/fixtures/gate/gen -x "$spec" "$seed" "$dir" "${inj[@]}"
}

# bisect_bad DESCRIPTION TEXT ARGS...: bisect_report ARGS exits 2 with one line on stderr
# that holds TEXT.
bisect_bad() {
	local what=$1 want=$2 out status
	shift 2
	out=$("$OUTPUT/bin/bisect_report" "$@" 2>&1 >/dev/null)
	status=$?
	echo "$what: exit $status: $out"
	expect "$what: exit 2, got $status" test $status -eq 2 || return 1
	expect "$what: one line, got $(wc -l <<<"$out")" test "$(wc -l <<<"$out")" -eq 1 -a -n "$out" || return 1
	expect "$what: says '$want'" grep -qF -- "$want" <<<"$out" || return 1
	expect "$what: prefixed" grep -q '^bisect_report: error: ' <<<"$out"
}

check_bisect_report() {
	local t rc=0 out status k seq br="$OUTPUT/bin/bisect_report" args nine args9 _
	t=$(mktemp -d /var/tmp/mmuscope-bisect.XXXXXX)
	# A 3-patch series: patch 1 and 2 beside it (2's subject folded over two lines), 3 not.
	mkdir -p "$t/s"
	printf '%s\n' '# a fixture series' 0001-first.patch '' 0002-step.patch '  0003-last.patch' >"$t/s/series"
	printf 'From 0 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/3] KVM: x86/mmu: First, harmless\n\nbody\n' \
		>"$t/s/0001-first.patch"
	printf 'From 0 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 2/3] KVM: x86/mmu: The step, whose subject\n is folded\n\nSubject: not this one\n' \
		>"$t/s/0002-step.patch"
	bisect_prefix "$t/p0" 1 1 && bisect_prefix "$t/p1" 2 1 && bisect_prefix "$t/p2" 3 1.1 &&
		bisect_prefix "$t/p3" 4 1.1 && bisect_prefix "$t/p1noisy" 5 1 0.05 || return 1
	args=(-M dlpt_insns_kvm -w dlpt-get -o shadow -S "$t/s/series")

	# (a) +10% at patch 2, 0.01% noise: patch 2 named, exit 0; the table, TSV and plot.
	"$br" -m analysis/metrics.conf "${args[@]}" -r "$t/a.md" -t "$t/a.tsv" -p "$t/a.png" \
		0="$t/p0" 1="$t/p1" 2="$t/p2" 3="$t/p3" >"$t/a.out" 2>"$t/a.err"
	status=$?
	cat "$t/a.out" "$t/a.err"
	expect "step at 2: exit 0, got $status" test $status -eq 0 || rc=1
	expect "step at 2: nothing on stderr" test ! -s "$t/a.err" || rc=1
	expect "step at 2: patch 2 named by its subject, up, a regression" grep -qF -e \
		'- **First move: patch 2 (KVM: x86/mmu: The step, whose subject is folded) moves dlpt_insns_kvm up by +10.00% [' "$t/a.out" || rc=1
	expect "step at 2: ... a regression" grep -q '^- \*\*First move: .* against the base: a regression\*\* (prefix 1 is within ±3%' "$t/a.out" || rc=1
	expect "step at 2: the only step is patch 2's" grep -qE \
		'^- Steps beyond ±3% [^:]*: patch 2 \(KVM[^)]*\) moves it up by \+10\.00% \[\+[0-9.]+%, \+[0-9.]+%\], a regression\.$' "$t/a.out" || rc=1
	expect "step at 2: a table row per prefix" test "$(grep -cE '^\| [0-9]+ \| ' "$t/a.out")" -eq 4 || rc=1
	expect "step at 2: the line naming metric, workload, mode, threshold, direction" \
		grep -q '^Metric `dlpt_insns_kvm` (`insns.buckets\[sum:!\*_lock_slowpath\]`, lower is better), workload dlpt-get, mode shadow; threshold ±3% ' "$t/a.out" || rc=1
	expect "step at 2: the base's row, its mean with thousands" grep -q '^| 0 | base | 3 | 14[67],[0-9]\{3\},[0-9]\{3\} | 0\.0[0-9]* | base | - | base |$' "$t/a.out" || rc=1
	expect "step at 2: prefix 1 the same, by its subject" \
		grep -qE '^\| 1 \| 1: KVM: x86/mmu: First, harmless \| 3 \| 14[67],[0-9,]+ \| [0-9.e-]+ \| 1\.000 \[0\.999[0-9], 1\.000\] \| 1\.000 \[[^]]*\] \| same \|$' "$t/a.out" || rc=1
	expect "step at 2: prefix 2 up, a regression" \
		grep -qE '^\| 2 \| 2: KVM: x86/mmu: The step, whose subject is folded \| 3 \| 161,[0-9,]+ \| [^|]* \| 1\.100 \[1\.(09[0-9]|100), 1\.10[0-9]\] \| 1\.100 \[[^]]*\] up \| \*\*up\*\*, a regression \|$' "$t/a.out" || rc=1
	expect "step at 2: patch 3 by its file name (no file beside the series)" \
		grep -q '^| 3 | 3: 0003-last.patch | 3 | .* | 1\.000 \[[^]]*\] | \*\*up\*\*, a regression |$' "$t/a.out" || rc=1
	expect "step at 2: -r holds the same section" cmp -s "$t/a.out" "$t/a.md" || rc=1
	expect "step at 2: -t: its header" test "$(head -n 1 "$t/a.tsv")" = \
		"$(printf '# prefix\tpatch\tn\tmean\tsd\tci_lo\tci_hi\tratio\tlo\thi\tstep_ratio\tstep_lo\tstep_hi\tclass')" || rc=1
	expect "step at 2: -t: one row per prefix, classes base same up up" \
		test "$(awk -F'\t' '!/^#/ {printf "%s:%s ", $1, $14}' "$t/a.tsv")" = "0:base 1:same 2:up 3:up " || rc=1
	expect "step at 2: the metric is the sum of the buckets but the lock slow paths" awk -F'\t' -v want="$(
		jq -s '[.[] | .insns.buckets | to_entries | map(select(.key | endswith("_lock_slowpath") | not) | .value) | add] | add / length' "$t"/p2/shadow/dlpt-get/*.json)" \
		'$1 == 2 {f = 1; d = $4 / want - 1; exit !(d < 1e-9 && d > -1e-9)} END {if (!f) exit 1}' "$t/a.tsv" || rc=1
	if command -v gnuplot >/dev/null; then
		expect "step at 2: -p: a PNG" test "$(head -c 4 "$t/a.png" 2>/dev/null | tail -c 3)" = PNG || rc=1
	fi
	expect "step at 2: no temporary file left" test -z "$(find "$t" -maxdepth 1 -name '.*.tmp.*')" || rc=1

	# (b) The same with prefix 1 noisy (5% a bucket, n = 3): its interval straddles +-3%, so
	# patch 1 or 2 could have done it: exit 1, naming what would resolve it. Default -m.
	out=$("$br" "${args[@]}" 0="$t/p0" 1="$t/p1noisy" 2="$t/p2" 3="$t/p3" 2>&1); status=$?
	echo "$out"
	expect "noisy 1: exit 1, got $status" test $status -eq 1 || rc=1
	expect "noisy 1: cannot decide between patches 1 and 2" \
		grep -qF -e '- **Cannot decide between patches 1..2** (prefix 2 moves it up by +10.00% [' <<<"$out" || rc=1
	expect "noisy 1: prefix 1 undecided, with the repetitions that would resolve it" \
		grep -qE 'prefix 1 undecided \([-+]0\.[0-9]+% \[-[0-9.]+%, \+[0-9.]+%\]; (at least )?[0-9]+ repetitions per prefix' <<<"$out" || rc=1
	expect "noisy 1: its row undecided" grep -qE '^\| 1 \| [^|]* \| 3 \| .* \| undecided \|$' <<<"$out" || rc=1
	out=$("$br" "${args[@]}" 0="$t/p0" 2="$t/p2" 3="$t/p3" 2>&1); status=$?
	expect "1 unmeasured: exit 1, got $status" test $status -eq 1 || rc=1
	expect "1 unmeasured: says so" grep -qF 'Cannot decide between patches 1..2** (prefix 2 moves it up by +10.00% [' <<<"$out" || rc=1
	expect "1 unmeasured: ... measure it" grep -qF 'prefix 1 not measured (measure it)' <<<"$out" || rc=1
	expect "1 unmeasured: the step spans patches 1..2" grep -qF 'Steps beyond ±3% (each measured prefix against the previous one): patches 1..2 moves it up' <<<"$out" || rc=1
	# No move: the whole series the same.
	out=$("$br" "${args[@]}" 0="$t/p0" 1="$t/p1" 3="$t/p1" 2>&1); status=$?
	expect "no move: exit 0, got $status" test $status -eq 0 || rc=1
	expect "no move: says so" grep -qF '**No patch moves dlpt_insns_kvm beyond ±3%**: every measured prefix (0, 1, 3) is within it.' <<<"$out" || rc=1

	# (c) -n: the next prefix of a bisection, "done" or "undecided".
	nxt() { "$br" "${args[@]}" -n "$@" 2>/dev/null; }
	expect "-n, the base alone: 3 (the whole series)" test "$(nxt 0="$t/p0")" = 3 || rc=1
	expect "-n, 0 and 3: 1 (the midpoint of 0..3)" test "$(nxt 0="$t/p0" 3="$t/p3")" = 1 || rc=1
	expect "-n, 0, 1 and 3: 2" test "$(nxt 0="$t/p0" 1="$t/p1" 3="$t/p3")" = 2 || rc=1
	out=$(nxt 0="$t/p0" 1="$t/p1" 2="$t/p2" 3="$t/p3"); status=$?
	expect "-n, all: done, exit 0, got $out, $status" test "$out" = done -a $status -eq 0 || rc=1
	out=$(nxt 0="$t/p0" 3="$t/p1"); status=$?
	expect "-n, the series the same as the base: done, got $out" test "$out" = done -a $status -eq 0 || rc=1
	out=$(nxt 0="$t/p0" 1="$t/p1noisy" 3="$t/p3"); status=$?
	expect "-n, 1 noisy inside the bracket: undecided, exit 1, got $out, $status" test "$out" = undecided -a $status -eq 1 || rc=1
	expect "-n: only the answer on stdout, why on stderr" \
		grep -q '^bisect_report: next: undecided: a prefix inside the bracket is undecided' <<<"$("$br" "${args[@]}" -n 0="$t/p0" 1="$t/p1noisy" 3="$t/p3" 2>&1 >/dev/null)" || rc=1

	# (d) The driver's loop on a 9-patch series whose patch 6 moves it: -n asks for 0, 9,
	# 4, 6, 5 (ceil(log2 9) + 2 = 6 at most), then done, and the report names patch 6.
	printf 'p%d.patch\n' 1 2 3 4 5 6 7 8 9 >"$t/nine.series"
	nine=(-M dlpt_insns_kvm -w dlpt-get -o shadow -S "$t/nine.series")
	seq="" args9=()
	for _ in 1 2 3 4 5 6 7 8; do
		k=$("$br" "${nine[@]}" -n 0="$t/p0" "${args9[@]}" 2>/dev/null) || break
		[ "$k" = done ] && break
		seq+="$k "
		[ "$k" = 0 ] && continue
		bisect_prefix "$t/n$k" $((20 + k)) "$([ "$k" -ge 6 ] && echo 1.1 || echo 1)" || return 1
		args9+=("$k=$t/n$k")
	done
	expect "bisection of 9: 0 (given), then 9 4 6 5, then done; got '$seq' then '$k'" \
		test "$seq" = "9 4 6 5 " -a "$k" = done || rc=1
	out=$("$br" "${nine[@]}" 0="$t/p0" "${args9[@]}" 2>&1); status=$?
	expect "bisection of 9: exit 0, got $status" test $status -eq 0 || rc=1
	expect "bisection of 9: patch 6 named" grep -qF '**First move: patch 6 (p6.patch) moves dlpt_insns_kvm up by +10.00%' <<<"$out" || rc=1

	# (e) Bad input: exit 2 in one line naming the fix.
	mkdir -p "$t/empty/shadow/dlpt-get" "$t/nowl/shadow"
	cp -r "$t/p1" "$t/corrupt" && echo '{"insns": {' >"$t/corrupt/shadow/dlpt-get/2.json"
	cp -r "$t/p1" "$t/noinsns"
	for k in "$t"/noinsns/shadow/dlpt-get/*.json; do jq -c '.insns = null' "$k" >"$k.tmp" && mv "$k.tmp" "$k"; done
	sed 's/^\(dlpt_insns_kvm .*\) lower /\1 sideways /' analysis/metrics.conf >"$t/m1"
	bisect_bad "an unknown metric" "no metric no_such in analysis/metrics.conf: give -M one of its NAME column" \
		-m analysis/metrics.conf -M no_such -w dlpt-get -o shadow 0="$t/p0" || rc=1
	bisect_bad "a workload the metric does not measure" "dlpt_insns_kvm applies to the workloads dlpt-* (analysis/metrics.conf), not to harvest: give -w a workload it measures" \
		-m analysis/metrics.conf -M dlpt_insns_kvm -w harvest -o shadow 0="$t/p0" || rc=1
	bisect_bad "a missing directory" "prefix 1: $t/nowhere is no directory: give K=DIR the result set of prefix 1" \
		"${args[@]}" 0="$t/p0" 1="$t/nowhere" || rc=1
	bisect_bad "a directory without repetitions" "prefix 2: $t/empty/shadow/dlpt-get holds no repetition (<rep>.json): rerun workload dlpt-get on prefix 2" \
		"${args[@]}" 0="$t/p0" 2="$t/empty" || rc=1
	bisect_bad "a result set without the workload" "prefix 2: $t/nowl holds no shadow/dlpt-get/: run workload dlpt-get in mode shadow" \
		"${args[@]}" 0="$t/p0" 2="$t/nowl" || rc=1
	bisect_bad "no base" "no result set of the base: give 0=DIR" "${args[@]}" 1="$t/p1" || rc=1
	bisect_bad "-n without a series" "-n needs -S SERIES" -M dlpt_insns_kvm -w dlpt-get -o shadow -n 0="$t/p0" || rc=1
	bisect_bad "a prefix beyond the series" "prefix 4 is beyond the 3 patches of $t/s/series" "${args[@]}" 0="$t/p0" 4="$t/p3" || rc=1
	bisect_bad "a prefix given twice" "prefix 1 given twice" "${args[@]}" 0="$t/p0" 1="$t/p1" 1="$t/p2" || rc=1
	bisect_bad "not K=DIR" "'x=$t/p1': K in K=DIR is a prefix number" "${args[@]}" 0="$t/p0" x="$t/p1" || rc=1
	bisect_bad "a metric without a threshold" "dlpt_insns_lock_slowpath has no threshold in analysis/metrics.conf ('-'): give one with -T PERCENT" \
		-m analysis/metrics.conf -M dlpt_insns_lock_slowpath -w dlpt-get -o shadow 0="$t/p0" || rc=1
	"$br" -M dlpt_insns_lock_slowpath -w dlpt-get -o shadow -T 50 0="$t/p0" 1="$t/p1" >/dev/null 2>&1; status=$?
	expect "... with -T: not bad input, got $status" test $status -ne 2 || rc=1
	bisect_bad "a bad -T" "-T takes a threshold in percent" "${args[@]}" -T abc 0="$t/p0" || rc=1
	bisect_bad "a corrupt repetition" "$t/corrupt/shadow/dlpt-get/2.json is not valid JSON: rerun that repetition or delete it" \
		"${args[@]}" 0="$t/p0" 1="$t/corrupt" || rc=1
	bisect_bad "no instruction counts" "prefix 1: no value of dlpt_insns_kvm (insns.buckets[sum:!*_lock_slowpath]) in the 3 repetitions of $t/noinsns/shadow/dlpt-get: instruction counts need testhost --insns" \
		"${args[@]}" 0="$t/p0" 1="$t/noinsns" || rc=1
	bisect_bad "a malformed metrics.conf" "$t/m1:$(grep -n '^dlpt_insns_kvm ' analysis/metrics.conf | cut -d: -f1): want 'NAME WORKLOADS PATH lower|higher" \
		-m "$t/m1" "${args[@]}" 0="$t/p0" || rc=1
	out=$("$br" --help); status=$?
	expect "--help: exit 0, usage and an example, got $status" test $status -eq 0 || rc=1
	expect "--help: usage and an example" grep -q '^example:' <<<"$out" || rc=1
	[ $rc -eq 0 ] && rm -rf "$t"
	return $rc
}
