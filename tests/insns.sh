# The insns TCG plugin's tests (check_insns_plugin), sourced by tests/run; needs its expect,
# $OUTPUT and the repository as the working directory. No VM: user-mode QEMU (qemu-x86_64,
# from qemu-user, built from the same Debian source as qemu-system-x86) runs static programs
# with build/lib/insns.so. In user mode one QEMU process emulates one guest process, so the
# exact-count checks use tests/insns/loop.c marking its own window (`insns-loop --mark N`),
# and the inclusive counts' ones tests/insns/calls.c's call tree (insns_calls);
# `insns-mark run` is checked for its document (its child runs outside this emulation).
# Standalone: bash -c '. tests/run --source && . tests/insns.sh && check_insns_plugin'
# check_insns_testhost (at the end) boots test hosts with `testhost --insns` (system mode):
#   bash -c '. tests/run --source && check_insns_testhost'

# insns_run OUTDIR [PLUGIN-ARGS] -- PROGRAM ARGS...: PROGRAM under qemu-x86_64 with the plugin.
insns_run() {
	local out=$1 args=""
	shift
	while [ "$1" != -- ]; do args+=",$1"; shift; done
	shift
	rm -rf "$out" && mkdir -p "$out" || return 1
	qemu-x86_64 -plugin "$OUTPUT/lib/insns.so,outdir=$out$args" "$@" >/dev/null
}

# jq_quiet ARGS...: jq's status without its output (expect's message stays on stdout)
jq_quiet() { jq "$@" >/dev/null; }

# insns_doc FILE JQ: a value of a window's document
insns_doc() { jq -r "$2" "$1"; }

# insns_ranges_reload DIR LOOP N WANT: the ranges file read again at a window's start when it
# changed (check_insns_plugin; DIR/ranges from nm, WANT the loop function's count).
insns_ranges_reload() {
	local t=$1 loop=$2 n=$3 want=$4 r=$1/reload.ranges rc=0 s e ms me w main
	read -r _ s e < <(grep '^insns_loop ' "$t/ranges")
	read -r _ ms me < <(grep '^main ' "$t/ranges")
	# After window 1: the file appears (renamed into place); 2: rewritten in place (same
	# inode, another size and mtime); 3: unchanged; 4: a malformed line (refused: window 5
	# keeps window 4's set); 5: removed.
	cat >"$t/between" <<-EOF
		case \$INSNS_LOOP_WINDOW in
		1) echo "first $s $e" >"$r.tmp" && mv "$r.tmp" "$r" ;;
		2) echo "second $s $e" >"$r" ;;
		4) echo "broken $s" >"$r.tmp" && mv "$r.tmp" "$r" ;;
		5) rm "$r" ;;
		esac
	EOF
	rm -f "$r"
	insns_run "$t/i" ranges="$r" "range=main:$ms:$me" -- "$loop" --mark --between ". $t/between" "$n" 6 || rc=1
	for w in 1 2 3 4 5 6; do
		jq -c '{window, buckets, files: [.params.ranges_files[] | {present, ino, size, ranges, loaded_at_window}],
			reloads: .params.ranges_reloads, error: .params.ranges_error}' "$t/i/$w.json"
	done
	main=$(insns_doc "$t/e/1.json" .buckets.main)
	expect "window 1: the file absent since load: only range= main ($main)" \
		jq_quiet -e --argjson m "$main" '.buckets == {main: $m} and .params.ranges_files[0].present == false
			and .params.ranges_reloads == 0' "$t/i/1.json" || rc=1
	expect "window 2: the file read at its start: bucket first = $want, main = $main" \
		jq_quiet -e --argjson w "$want" --argjson m "$main" '.buckets == {first: $w, main: $m}
			and .params.ranges_files[0].present and .params.ranges_files[0].loaded_at_window == 2
			and .params.ranges_reloads == 1 and .params.ranges == 2' "$t/i/2.json" || rc=1
	expect "window 3: rewritten in place (the same inode): bucket second = $want, no first" \
		jq_quiet -e --argjson w "$want" --argjson m "$main" --slurpfile p "$t/i/2.json" '.buckets == {second: $w, main: $m}
			and .params.ranges_files[0].ino == $p[0].params.ranges_files[0].ino
			and .params.ranges_files[0].loaded_at_window == 3 and .params.ranges_reloads == 2' "$t/i/3.json" || rc=1
	expect "window 4: unchanged, not read again" \
		jq_quiet -e --argjson w "$want" --argjson m "$main" '.buckets == {second: $w, main: $m}
			and .params.ranges_files[0].loaded_at_window == 3 and .params.ranges_reloads == 2
			and .params.ranges_error == null' "$t/i/4.json" || rc=1
	expect "window 5: a malformed file refused, window 4's set kept, the error said" \
		jq_quiet -e --argjson w "$want" --argjson m "$main" '.buckets == {second: $w, main: $m}
			and .params.ranges_files[0].loaded_at_window == 3 and .params.ranges_reloads == 2
			and (.params.ranges_error | test("reload.ranges:1: not NAME START END"))' "$t/i/5.json" || rc=1
	expect "window 6: the file removed: only main again, the error gone" \
		jq_quiet -e --argjson m "$main" '.buckets == {main: $m} and .params.ranges_files[0].present == false
			and .params.ranges_files[0].loaded_at_window == 6 and .params.ranges_reloads == 3
			and .params.ranges_error == null' "$t/i/6.json" || rc=1
	expect "every window counted the same total" \
		test "$(cat "$t/i"/[1-6].json | jq -s -c '[.[].total.all] | unique | length')" = 1 || rc=1
	# With threads: the vCPU slots that window 1's threads left move to the new set as well.
	echo "first $s $e" >"$r.later"
	rm -f "$r"
	insns_run "$t/i2" ranges="$r" -- "$loop" --mark --threads 2 --between "mv '$r.later' '$r'" "$n" 2 || rc=1
	jq -c '{window, vcpus, buckets}' "$t/i2/2.json"
	expect "2 threads, the file appearing between two windows: window 2's bucket first = 2 x $want" \
		jq_quiet -e --argjson w "$want" '.buckets.first == 2 * $w and .params.ranges_reloads == 1' "$t/i2/2.json" || rc=1
	return $rc
}

# insns_ranges_script DIR LOOP: tcgplugin/insns-ranges on a fixture kallsyms (unsorted, as
# kallsyms is across modules), vmallocinfo (kvm's text area ending inside kvm_b's span to the
# next symbol) and L2 kernel (an ELF whose code sits at vmlinux's addresses: a sized function
# over one slow path, an unsized label inside another, an executable section without
# symbols over a third).
insns_ranges_script() {
	local t=$1 loop=$2 d=$1/ir rc=0 out status
	mkdir -p "$d"
	cat >"$d/kallsyms" <<-'EOF'
		ffffffffa0000080 t __pfx_kvm_b	[kvm]
		ffffffffa0000090 T kvm_b	[kvm]
		ffffffffa0000000 t __pfx_kvm_a	[kvm]
		ffffffffa0000010 t kvm_a	[kvm]
		ffffffffa0000010 t kvm_a_alias	[kvm]
		ffffffffa0000100 d kvm_data	[kvm]
		ffffffff81000000 T _stext
		ffffffff81000100 T queued_spin_lock_slowpath
		ffffffff81000200 T queued_write_lock_slowpath
		ffffffff81000300 T other_vmlinux_fn
		ffffffff81000400 T queued_read_lock_slowpath
		ffffffff81000480 t __pfx_next
		ffffffff81000490 t next
		ffffffff81000500 T native_queued_spin_lock_slowpath
		ffffffff81000580 t after_native
		ffffffff82000000 D some_data
		ffffffffa0001000 t svm_x	[kvm_amd]
		ffffffffa0001040 t foo	[other]
		ffffffffa0001080 t vmx_y	[kvm_intel]
	EOF
	cat >"$d/vmallocinfo" <<-'EOF'
		0xffffc90000000000-0xffffc90000005000   20480 irq_init_percpu_irqstack+0xed/0x120 vmap
		0xffffffffa0000000-0xffffffffa00000f0     240 execmem_vmalloc+0x5c/0x80 pages=1 vmalloc N0=1
		0x00000000deadbeef-0x00000000feedf00d    8192 hashed
	EOF
	cat >"$d/l2.s" <<-'EOF'
		.text
		.globl l2_big
		.type l2_big, @function
		l2_big:
		.fill 0x180, 1, 0x90
		.size l2_big, 0x180
		.fill 0x2d0, 1, 0xcc
		.globl l2_label
		l2_label:
		ret
		.section .altinstr_aux, "ax"
		.fill 16, 1, 0x90
	EOF
	as "$d/l2.s" -o "$d/l2.o" && ld -Ttext=0xffffffff81000000 --section-start=.altinstr_aux=0xffffffff81000520 \
		-e l2_big "$d/l2.o" -o "$d/l2" || return 1
	tcgplugin/insns-ranges --kallsyms "$d/kallsyms" --vmallocinfo "$d/vmallocinfo" --l2-vmlinux "$d/l2" "$d" || return 1
	cat "$d/ranges"
	expect "the ranges: kvm_a to kvm_b's padding, kvm_b to its vmalloc area's end, svm_x to the next module's symbol, queued_write_lock_slowpath" \
		test "$(grep -v '^#' "$d/ranges" | tr '\n' ';')" = "queued_write_lock_slowpath ffffffff81000200 ffffffff81000300;kvm_a ffffffffa0000010 ffffffffa0000080;kvm_b ffffffffa0000090 ffffffffa00000f0;svm_x ffffffffa0001000 ffffffffa0001040;" || rc=1
	expect "the slow paths under the L2 kernel's code dropped, each saying what it overlaps" \
		test "$(grep -c -e '^# dropped queued_spin_lock_slowpath .* l2_big \[ffffffff81000000, +0x0*180)$' \
			-e '^# dropped queued_read_lock_slowpath .* l2_label \[ffffffff81000450, +0x1)$' \
			-e '^# dropped native_queued_spin_lock_slowpath .* section:.altinstr_aux \[ffffffff81000520, +0x0*10)$' \
			"$d/ranges")" = 3 || rc=1
	expect "the last symbol (no next one) said, not a range" grep -q '^# no next symbol: vmx_y ' "$d/ranges" || rc=1
	expect "written atomically: nothing else left in the directory ($(ls -A "$d" | tr '\n' ' '))" \
		test "$(ls -A "$d" | tr '\n' ' ')" = "kallsyms l2 l2.o l2.s ranges vmallocinfo " || rc=1
	insns_run "$t/j" ranges="$d/ranges" -- "$loop" --mark 10 || rc=1
	expect "the plugin takes the file: 4 ranges, 4 buckets" \
		jq_quiet -e '.params.ranges == 4 and .params.buckets == 4' "$t/j/1.json" || rc=1
	tcgplugin/insns-ranges --kallsyms "$d/kallsyms" --vmallocinfo "$d/none" --l2-vmlinux "$d/none" "$d" || return 1
	expect "without an L2 kernel: the vmlinux ranges kept, unchecked, and the header says so" \
		test "$(grep -c '_lock_slowpath ' "$d/ranges")" = 4 -a -n "$(grep "^# no L2 kernel at $d/none" "$d/ranges")" || rc=1
	expect "without vmallocinfo: kvm_b to the next symbol, and the header says so" \
		test -n "$(grep '^kvm_b ffffffffa0000090 ffffffffa0000100$' "$d/ranges")" -a -n "$(grep "^# no $d/none: " "$d/ranges")" || rc=1
	sed 's/^ffff[0-9a-f]*/0000000000000000/' "$d/kallsyms" >"$d/zero"
	out=$(tcgplugin/insns-ranges --kallsyms "$d/zero" --vmallocinfo "$d/vmallocinfo" "$d" 2>&1); status=$?
	expect "kallsyms without addresses (not root): exit 3 (not done) naming it, got $status: $out" \
		test $status -eq 3 -a -n "$(grep 'shows no addresses' <<<"$out")" || rc=1
	return $rc
}

# insns_calls DIR: inclusive counts on tests/insns/calls.c's call tree, each checked exactly
# against the exclusive counts of the same window (ranges from nm: every function a bucket):
# inclusive(f) is f's instructions and those of everything it calls, once however deep it
# recurses. G below: the glibc functions' exclusive counts (_setjmp's and longjmp's, all
# called under catcher); a frame left by longjmp closes at the return that shows it gone
# (catcher's ret, 4 instructions after the landing).
insns_calls() {
	local t=$1/calls calls=$OUTPUT/bin/insns-calls rc=0 sj mine w
	mkdir -p "$t"
	nm -n "$calls" | awk '$2 ~ /^[TtWw]$/ {if (prev != "") print prev, pa, $1; prev = $3; pa = $1}' >"$t/ranges"
	grep -v '^ind_thunk ' "$t/ranges" >"$t/ranges.nothunk"
	# _setjmp's bucket (of glibc's aliases at one address, the last one names the range)
	sj=$(awk -v a="$(nm "$calls" | awk '$3 == "_setjmp" {print $1}')" '$2 == a {print $1}' "$t/ranges")
	mine='["main","tree","outer","inner","rec","rleaf","catcher","escape","deeper","via_thunk","ind_thunk","thunked","tramp","rethunk","ret_thunk","thread_main"]'
	# jq: E, I (exclusive, inclusive), S (all buckets' sum), G (glibc's part)
	local defs='def E(f): .buckets[f] // 0; def I(f): .inclusive[f] // 0; def S: [.buckets[]] | add;
		def G: S - ([$mine[] as $f | E($f)] | add);'
	insns_run "$t/a" ranges="$t/ranges" -- "$calls" || rc=1
	insns_run "$t/a2" ranges="$t/ranges" -- "$calls" || rc=1
	insns_run "$t/b" ranges="$t/ranges.nothunk" -- "$calls" || rc=1
	insns_run "$t/c" ranges="$t/ranges",inclusive_depth=4 -- "$calls" || rc=1
	insns_run "$t/d" ranges="$t/ranges",inclusive=off -- "$calls" || rc=1
	insns_run "$t/f" ranges="$t/ranges" -- "$calls" --threads 2 || rc=1
	insns_run "$t/g" ranges="$t/ranges",inclusive_stacks=blocks -- "$calls" --coroutines || rc=1
	for w in a b c f g; do
		echo "calls ($w): $(jq -c --argjson mine "$mine" '{total: .total.all,
			exclusive: (.buckets | with_entries(select(.key as $k | $mine | index($k)) | select(.value > 0))),
			inclusive: (.inclusive | with_entries(select(.value > 0)))}' "$t/$w/1.json")"
		echo "calls ($w): $(jq -c '.params.inclusive' "$t/$w/1.json")"
	done
	cj() { jq_quiet -e --argjson mine "$mine" --arg sj "$sj" "$defs $2" "$t/$1/1.json"; }
	expect "every function a bucket: the buckets add up to the total; inclusive has the buckets' names" \
		cj a 'S == .total.all and (.inclusive | keys) == (.buckets | keys)' || rc=1
	for w in a c; do
		expect "($w) inner, called K times through a pointer (indirect calls): inclusive = exclusive" \
			cj $w 'I("inner") == E("inner") and E("inner") > 0' || rc=1
		expect "($w) outer = outer + inner" cj $w 'I("outer") == E("outer") + E("inner")' || rc=1
		expect "($w) rec, recursing 8 deep (each level calling rleaf): rec + rleaf, counted once" \
			cj $w 'I("rec") == E("rec") + E("rleaf")' || rc=1
		expect "($w) catcher = catcher (9 instructions) + escape + deeper + glibc's setjmp and longjmp" \
			cj $w 'E("catcher") == 9 and I("catcher") == E("catcher") + E("escape") + E("deeper") + G' || rc=1
		expect "($w) _setjmp ($sj) returns: it and the functions it jumps to" cj $w 'I($sj) > E($sj)' || rc=1
		expect "($w) escape and deeper, left by longjmp: closed at catcher's ret, 4 instructions after the landing" \
			cj $w 'I("escape") == E("escape") + E("deeper") + G - I($sj) + 4 and
				I("deeper") == E("deeper") + G - I($sj) + 4 and .params.inclusive.abandoned_frames >= 2' || rc=1
		expect "($w) via_thunk = via_thunk + ind_thunk + thunked; ind_thunk's frame holds thunked, which no call entered" \
			cj $w 'I("via_thunk") == E("via_thunk") + E("ind_thunk") + E("thunked") and
				I("ind_thunk") == E("ind_thunk") + E("thunked") and I("thunked") == 0' || rc=1
		expect "($w) tramp (a return that returns no frame, then its own): its 4 instructions" \
			cj $w 'I("tramp") == 4 and E("tramp") == 4' || rc=1
		expect "($w) rethunk, returning through ret_thunk: its 4 instructions and the thunk's ret" \
			cj $w 'I("rethunk") == 5 and E("rethunk") == 4 and I("ret_thunk") == 0' || rc=1
		expect "($w) tree = everything but main; main, entered before the window, 0" \
			cj $w 'I("tree") == .total.all - E("main") and I("main") == 0' || rc=1
		expect "($w) no inclusive count above the total" cj $w '([.inclusive[]] | max) <= .total.all' || rc=1
	done
	expect "(a) rleaf = rleaf; calls and returns with and without slots both seen, one unmatched (tramp's first), none open at the end" \
		cj a 'I("rleaf") == E("rleaf") and .params.inclusive.method == "call-ret shadow stack"
			and .params.inclusive.depth == 256 and .params.inclusive.stacks == "vcpu"
			and .params.inclusive.calls_with_slot > 0 and .params.inclusive.calls > .params.inclusive.calls_with_slot
			and .params.inclusive.returns_by_slot > 0 and .params.inclusive.returns_by_address > 0
			and .params.inclusive.unmatched_returns == 1 and .params.inclusive.open_at_end == 0' || rc=1
	expect "(c) depth 4: the calls beyond it not tracked (rleaf's deeper ones lost, rec whole)" \
		cj c 'I("rleaf") < E("rleaf") and .params.inclusive.beyond_depth > 0 and .params.inclusive.depth == 4' || rc=1
	expect "(b) ind_thunk in no bucket: thunked gets its frame (the first TB at a range's start), via_thunk the thunk's instructions" \
		cj b 'I("thunked") == E("thunked") and I("via_thunk") == E("via_thunk") + E("thunked") + (.total.all - S)
			and .params.inclusive.late_labels > 0' || rc=1
	expect "identical runs, identical inclusive counts" \
		test "$(jq -c .inclusive "$t/a/1.json")" = "$(jq -c .inclusive "$t/a2/1.json")" || rc=1
	expect "inclusive=off: inclusive null, params.inclusive.method off, the same exclusive counts" \
		jq_quiet -e --slurpfile a "$t/a/1.json" '.inclusive == null and .params.inclusive.method == "off"
			and .buckets == $a[0].buckets and .total == $a[0].total' "$t/d/1.json" || rc=1
	expect "(f) 2 threads each run tree: outer, rec as above; thread_main (entered by an indirect call) = thread_main + tree; start_thread closed at each thread's exit" \
		cj f 'I("outer") == E("outer") + E("inner") and I("rec") == E("rec") + E("rleaf")
			and I("thread_main") == E("thread_main") + I("tree") and I("tree") > 0
			and .params.inclusive.closed_at_thread_exit >= 2' || rc=1
	# Coroutines on stacks of their own, with inclusive_stacks=blocks (one shadow stack and
	# clock per 16 KiB block, as the kernel's stacks in system mode): A's frames count A's
	# instructions only, B's only B's, though each lives while the other runs.
	expect "(g) fa = fa + work_a + co_a_to_b (not B's), fb = fb + work_b + co_b_to_a (open at the end, not A's)" \
		cj g 'I("fa") == E("fa") + E("work_a") + E("co_a_to_b") and I("fb") == E("fb") + E("work_b") + E("co_b_to_a")
			and I("co_a_to_b") == 15 and I("co_b_to_a") == 15 and I("co_a_to_main") == 15 and I("co_main_to_a") == 15' || rc=1
	expect "(g) block stacks: switches seen, 3 frames open at the end (fb, co_b_to_a, co_a_to_main)" \
		cj g '.params.inclusive.stacks == "blocks" and .params.inclusive.stack_switches >= 3
			and .params.inclusive.open_at_end == 3' || rc=1
	unset -f cj
	return $rc
}

check_insns_plugin() {
	local t loop=$OUTPUT/bin/insns-loop mark=$OUTPUT/bin/insns-mark rc=0
	local n=1000000 per target jne body fn c1 c2 d1 d2 want start end a out status big=200000000
	command -v qemu-x86_64 >/dev/null || { echo "expected: qemu-x86_64 (qemu-user): run 'sudo make deps'"; return 1; }
	make --no-print-directory OUTPUT="$OUTPUT" insns || return 1
	t=$(mktemp -d /var/tmp/mmuscope-insns.XXXXXX)

	# The loop's instructions per iteration, from its disassembly: from the jnz's target to it.
	objdump -d --no-show-raw-insn "$loop" | awk '/<insns_loop>:/,/^$/' | grep -E '^ +[0-9a-f]+:' >"$t/dis"
	cat "$t/dis"
	jne=$(grep -E '\sj(ne|nz)\s' "$t/dis" | awk '{print $1}' | tr -d :)
	target=$(grep -E '\sj(ne|nz)\s' "$t/dis" | awk '{print $3}')
	per=0
	while read -r a _; do
		a=${a%:}
		[ $((16#$a)) -ge $((16#$target)) ] && [ $((16#$a)) -le $((16#$jne)) ] && per=$((per + 1))
	done <"$t/dis"
	fn=$(wc -l <"$t/dis")
	body=$((fn - per))	# the function's instructions outside the loop: executed once
	echo "insns_loop: $fn instructions, $per per iteration, $body once"
	expect "a loop of 4 instructions per iteration in insns_loop (tests/insns/loop.c), got $per of $fn" \
		test "$per" -eq 4 -a "$fn" -eq 8 || rc=1

	# (a) Nothing is written without markers, nor for a start without end or an end alone.
	insns_run "$t/a" -- "$loop" 1000 || rc=1
	insns_run "$t/a2" -- "$mark" start || rc=1
	insns_run "$t/a3" -- "$mark" end || rc=1
	expect "no document without markers: $(ls -A "$t/a" "$t/a2" "$t/a3" | tr '\n' ' ')" \
		test -z "$(ls -A "$t/a")$(ls -A "$t/a2")$(ls -A "$t/a3")" || rc=1

	# (b) insns-mark run: window 1's document, user instructions only (user mode).
	insns_run "$t/b" -- "$mark" run -- "$loop" 1000 || rc=1
	cat "$t/b/1.json"
	expect "insns-mark run wrote 1.json and last.json, nothing else: $(ls -A "$t/b" | tr '\n' ' ')" \
		test "$(ls -A "$t/b" | tr '\n' ' ')" = "1.json last.json " || rc=1
	expect "the document: schema mmuscope.insns/1, window 1, user > 0, kernel == 0, total = user = the vCPUs' sum" \
		jq_quiet -e '.schema == "mmuscope.insns/1" and .window == 1 and .total.user > 0 and .total.kernel == 0
			and .total.all == .total.user and ([.vcpus[].user] | add) == .total.user
			and .params.outdir != null and .params.plugin_api == 1' "$t/b/1.json" || rc=1
	expect "last.json is 1.json" cmp -s "$t/b/1.json" "$t/b/last.json" || rc=1
	insns_run "$t/b2" -- "$mark" run -- "$loop" 1000 || rc=1
	expect "insns-mark run twice: the same counts" \
		test "$(jq -c '[.vcpus, .total]' "$t/b/1.json")" = "$(jq -c '[.vcpus, .total]' "$t/b2/1.json")" || rc=1
	"$mark" run -- sh -c 'exit 3'
	expect "insns-mark run exits with its command's status (3), got $?" test $? -eq 3 || rc=1

	# (c) Linear in N: count(2N) - count(N) = N x per, exactly (user mode is deterministic).
	insns_run "$t/c1" -- "$loop" --mark $n || rc=1
	insns_run "$t/c2" -- "$loop" --mark $((2 * n)) || rc=1
	c1=$(insns_doc "$t/c1/1.json" .total.all) c2=$(insns_doc "$t/c2/1.json" .total.all)
	echo "count($n) = $c1, count($((2 * n))) = $c2, difference $((c2 - c1)), expected $((n * per))"
	expect "count(2N) - count(N) = N x $per: $c2 - $c1 = $((c2 - c1)), not $((n * per))" \
		test $((c2 - c1)) -eq $((n * per)) || rc=1
	expect "user only, on one vCPU" jq_quiet -e '.total.kernel == 0 and (.vcpus | length) == 1' "$t/c1/1.json" || rc=1

	# (d) Two identical runs: identical counts.
	insns_run "$t/d" -- "$loop" --mark $n || rc=1
	d1=$(jq -c '[.vcpus, .total, .buckets]' "$t/c1/1.json") d2=$(jq -c '[.vcpus, .total, .buckets]' "$t/d/1.json")
	expect "identical runs, identical counts: $d1 vs $d2" test "$d1" = "$d2" || rc=1

	# (e) Buckets, as a test host's kallsyms would give them: every text symbol of the
	# program from nm, from its address to the next symbol's. The loop function's holds
	# exactly its instructions, 4 + 4N; all of them add up to the window's total.
	nm -n "$loop" | awk '$2 ~ /^[TtWw]$/ {if (prev != "") print prev, pa, $1; prev = $3; pa = $1}' >"$t/ranges"
	echo "$(wc -l <"$t/ranges") ranges, $(awk '{print $1}' "$t/ranges" | sort -u | wc -l) names; $(grep -E '^(insns_loop|main|run) ' "$t/ranges" | tr '\n' ';')"
	insns_run "$t/e" ranges="$t/ranges" -- "$loop" --mark $n || rc=1
	want=$((body + per * n))
	jq -c '{total, buckets: (.buckets | with_entries(select(.value > 0))), params: {ranges: .params.ranges, buckets: .params.buckets}}' "$t/e/1.json"
	expect "bucket insns_loop = $want exactly, got $(insns_doc "$t/e/1.json" .buckets.insns_loop)" \
		test "$(insns_doc "$t/e/1.json" .buckets.insns_loop)" = "$want" || rc=1
	expect "the buckets add up to the window's total, which ranges do not change ($c1)" \
		jq_quiet -e --argjson c "$c1" '([.buckets[]] | add) == .total.all and .total.all == $c' "$t/e/1.json" || rc=1
	read -r _ start end < <(grep '^insns_loop ' "$t/ranges")
	insns_run "$t/e2" "range=loop:$start:$end" -- "$loop" --mark $n || rc=1
	expect "range=loop:$start:$end: the same $want" test "$(insns_doc "$t/e2/1.json" .buckets.loop)" = "$want" || rc=1
	printf 'a 1000 2000\nb 1fff 3000\n' >"$t/overlap"
	out=$(qemu-x86_64 -plugin "$OUTPUT/lib/insns.so,outdir=$t/x,ranges=$t/overlap" "$loop" 1 2>&1); status=$?
	echo "$out"
	expect "overlapping ranges: the plugin refuses to load (exit $status), naming them" \
		test $status -ne 0 -a -n "$(grep 'ranges a .* and b .* overlap' <<<"$out")" || rc=1

	# Windows one after the other (each start and end flushes): the same count each time.
	insns_run "$t/f" -- "$loop" --mark $n 3 || rc=1
	expect "3 windows: 1.json 2.json 3.json last.json" \
		test "$(ls -A "$t/f" | tr '\n' ' ')" = "1.json 2.json 3.json last.json " || rc=1
	expect "each window counts the same as a single one ($c1)" \
		test "$(cat "$t/f"/[123].json | jq -s -c '[.[].total.all] | unique')" = "[$c1]" || rc=1
	expect "last.json is window 3" cmp -s "$t/f/3.json" "$t/f/last.json" || rc=1

	# Ranges that arrive after load (kvm.ko in a test host): ranges=FILE absent at load, then
	# written, rewritten, broken and removed between windows (loop --between, outside them);
	# each window's buckets follow the file as it was at its start. range=main:... stays in
	# every set: what a window counted before its start's flush (the rest of the marker's TB,
	# in main) moves to the new set's bucket of that name.
	insns_ranges_reload "$t" "$loop" $n "$want" || rc=1

	# tcgplugin/insns-ranges on a fixture kallsyms: what a test host writes once KVM is loaded.
	insns_ranges_script "$t" "$loop" || rc=1

	# Inclusive counts: a known call tree (tests/insns/calls.c).
	insns_calls "$t" || rc=1

	# Threads (vCPUs running in parallel: qemu-x86_64 runs each guest thread on its own),
	# created inside the window: each vCPU's count is its own, exactly.
	insns_run "$t/h" ranges="$t/ranges" -- "$loop" --mark --threads 2 $n || rc=1
	jq -c '{vcpus, total, insns_loop: .buckets.insns_loop}' "$t/h/1.json"
	# (A thread that ends before the next starts leaves it its vCPU index: both then count
	# on one index.)
	expect "2 threads: bucket insns_loop = 2 x $want, the vCPUs add up to the total, the threads' vCPUs ran the loops" \
		jq_quiet -e --argjson w "$want" '.buckets.insns_loop == 2 * $w and ([.vcpus[].user] | add) == .total.all
			and ([.vcpus[] | select(.vcpu != 0) | .user] | add) >= 2 * $w
			and ([.vcpus[] | select(.vcpu == 0) | .user] | add) < $w' "$t/h/1.json" || rc=1

	# Phases (insns-loop --phases, two windows of tests/insns/loop.c's insns_phases, in
	# assembly): every phase's count exact, the rest of a marker's TB in its phase, a phase
	# marker in the start's TB counted, asymmetric (0, 1, 2, 3 of different sizes: a count
	# moved between phases shows).
	insns_run "$t/p" ranges="$t/ranges" -- "$loop" --phases $n 2 || rc=1
	jq -c '.phases | map_values({entered, all: .total.all, insns_loop: .buckets.insns_loop})' "$t/p/2.json"
	expect "phases: 0 = 2, 1 = 7 + 4N, 2 = 7 + 8N, 3 = 9 + 12N instructions, each entered once; insns_loop 4 + 4kN in phase k; they add up to the window" \
		jq_quiet -e --argjson n $n '.phases | (map_values(.total.all) == {"0": 2, "1": (7 + 4 * $n), "2": (7 + 8 * $n), "3": (9 + 12 * $n)})
			and ([.[].entered] == [1, 1, 1, 1])
			and (map_values(.buckets.insns_loop) == {"0": null, "1": (4 + 4 * $n), "2": (4 + 8 * $n), "3": (4 + 12 * $n)})' "$t/p/2.json" || rc=1
	expect "phases: they add up to the window, which counts 25 + 24N; .params.markers.phase" \
		jq_quiet -e --argjson n $n '([.phases[].total.all] | add) == .total.all and .total.all == 25 + 24 * $n
			and ([.phases[].total.user] | add) == .total.user and .params.markers.phase == "0f 1f 80 NN 00 4d 4d"' "$t/p/2.json" || rc=1
	expect "a window's phases start afresh: windows 1 and 2 alike" \
		test "$(jq -c .phases "$t/p/1.json")" = "$(jq -c .phases "$t/p/2.json")" || rc=1
	expect "no phase marker: phases null" jq_quiet -e '.phases == null' "$t/e/1.json" || rc=1
	# A ranges file that changes at a window's start after a phase marker ran before the
	# start's flush (insns_phases' phase 1 shares the start's TB): the phases follow the new
	# set (without the remap the plugin read past the new, smaller arrays and crashed).
	cp "$t/ranges" "$t/p3.ranges"
	insns_run "$t/p3" ranges="$t/p3.ranges" -- "$loop" --phases \
		--between "grep '^insns_loop ' '$t/ranges' | sed 's/^insns_loop/loop2/' >'$t/p3.new' && mv '$t/p3.new' '$t/p3.ranges'" $n 2 || rc=1
	jq -c '{buckets, phases: (.phases | map_values(.buckets))}' "$t/p3/2.json"
	expect "ranges replaced at window 2's start after its phase 1 began: phase k's loop2 = 4 + 4kN, the window's counts as before" \
		jq_quiet -e --argjson n $n --slurpfile w1 "$t/p3/1.json" '(.phases | map_values(.buckets)) == {"0": {}, "1": {loop2: (4 + 4 * $n)}, "2": {loop2: (4 + 8 * $n)}, "3": {loop2: (4 + 12 * $n)}}
			and .buckets == {loop2: (12 + 24 * $n)} and .total == $w1[0].total' "$t/p3/2.json" || rc=1
	insns_run "$t/p2" -- "$mark" phase 3 || rc=1
	expect "insns-mark phase 3 outside a window: no document" test -z "$(ls -A "$t/p2")" || rc=1
	out=$("$mark" phase 16 2>&1); status=$?
	expect "insns-mark phase 16: exit 2, one line ($out)" test $status -eq 2 -a "$(wc -l <<<"$out")" -eq 1 || rc=1

	# What the plugin costs (logged, not asserted): CPU time of $big iterations (one TB each)
	# without the plugin, with it but no window, and inside a window (with the loop's ranges,
	# inclusive counts off and on); and of insns-calls --cost (a call and a return every 2
	# TBs, inclusive counting's worst case) and --sort (glibc's qsort: library code).
	local TIMEFORMAT='%U+%S s CPU' calls=$OUTPUT/bin/insns-calls inc
	echo "cost: no plugin: $( { time qemu-x86_64 "$loop" $big >/dev/null; } 2>&1)"
	echo "cost: plugin, no window: $( { time insns_run "$t/g1" -- "$loop" $big; } 2>&1)"
	for inc in off on; do
		echo "cost: plugin, inside a window, inclusive=$inc: $( { time insns_run "$t/g2" ranges="$t/ranges" inclusive=$inc -- "$loop" --mark $big; } 2>&1)" \
			"($(insns_doc "$t/g2/1.json" .total.all) instructions)"
	done
	nm -n "$calls" | awk '$2 ~ /^[TtWw]$/ {if (prev != "") print prev, pa, $1; prev = $3; pa = $1}' >"$t/calls.ranges"
	echo "cost: insns-calls --cost $((big / 4)), no plugin: $( { time qemu-x86_64 "$calls" --cost $((big / 4)) >/dev/null; } 2>&1)"
	for inc in off on; do
		echo "cost: insns-calls --cost $((big / 4)), inclusive=$inc: $( { time insns_run "$t/g3" ranges="$t/calls.ranges" inclusive=$inc -- "$calls" --cost $((big / 4)); } 2>&1)" \
			"($(insns_doc "$t/g3/1.json" .total.all) instructions)"
	done
	echo "cost: insns-calls --sort 1000000, no plugin: $( { time qemu-x86_64 "$calls" --sort 1000000 >/dev/null; } 2>&1)"
	for inc in off on; do
		echo "cost: insns-calls --sort 1000000, inclusive=$inc: $( { time insns_run "$t/g4" ranges="$t/calls.ranges" inclusive=$inc -- "$calls" --sort 1000000; } 2>&1)" \
			"($(insns_doc "$t/g4/1.json" .total.all) instructions, $(insns_doc "$t/g4/1.json" '.params.inclusive.calls // 0') calls)"
	done
	rm -rf "$t"
	return $rc
}

# --- in a test host (system mode, the shadow MMU; not part of `all` yet) -------------------
# check_insns_testhost: `testhost --insns` boots the baseline kernel with the plugin (TCG,
# thread=multi), guest-init writes SHARE/insns/ranges once KVM is loaded, and inside one
# boot (insns_testhost_windows) five windows follow each other:
#   1. insns-loop --mark N      the ranges of guest-init's file, read at this start (the
#                               file did not exist when QEMU started)
#   2. insns-loop --mark N      after the file got insns_loop's range appended (renamed into
#                               place): read again at this start; bucket insns_loop = 4 + 4N
#   3. insns-loop --mark 2N     bucket insns_loop = 4 + 8N; user(3) - user(2) = 4N exactly
#   4. insns-mark run -- dirtylog_vmm -n 7 -m 3 -t: kernel > 0 and KVM's buckets on the
#      dirty-log and vCPU-run paths > 0 (kvm_get_dirty_log_protect and
#      kvm_clear_dirty_log_protect are inlined into kvm_vm_ioctl in our 6.12 build)
#   5. insns-mark run -- insns-loop N: system mode counts the child: insns_loop = 4 + 4N
# Inclusive counts (system mode: kernel stacks by 16 KiB block): insns_loop's (a leaf, its
# user stack's clock stopping in the kernel) equal its exclusive count in windows 2, 3 and 5;
# in window 4, kvm_vm_ioctl's hold at least its own and its dirty-log callees' exclusive
# counts, kvm_arch_vcpu_ioctl_run's at least kvm_mmu_page_fault's, and kvm_vm_ioctl's and
# kvm_vcpu_ioctl's (run by different tasks, counted on their own stacks) add up to no more
# than the kernel's total.
# Counts are summed over vCPUs: the loop may move between the two vCPUs, and with
# thread=multi the vCPU that did not mark joins a window a few TBs late, outside user code
# (nothing else runs in user mode here), so the user counts stay exact. Then a second,
# shorter boot with --insns=single (thread=single) runs windows 1-3 with the same checks.
check_insns_testhost() {
	local dir dirs=() rc=0 n=1000000 status range threads loop=$OUTPUT/bin/insns-loop
	make --no-print-directory OUTPUT="$OUTPUT" insns "$OUTPUT/bin/dirtylog_vmm" || return 1
	# insns_loop's range: a static binary, at the same address in every process
	range=$(nm -n "$loop" | awk '$2 ~ /^[TtWw]$/ { if (prev == "insns_loop") { print prev, pa, $1; exit } prev = $3; pa = $1 }')
	echo "range: $range"
	for threads in multi single; do
		dir=$(mktemp -d /var/tmp/mmuscope-insns.XXXXXX)
		dirs+=("$dir")
		echo "--- testhost --insns=$threads, share $dir"
		"$TESTHOST" -k "$(bz baseline)" -m shadow --insns=$threads -s "$dir" -t 300 -- \
			bash -c ". '$MMUSCOPE_ROOT/tests/run' --source && insns_testhost_windows $n '$range' \
				$([ $threads = multi ] && echo all || echo loop)" 2>"$dir/testhost.err"
		status=$?
		cat "$dir/testhost.err"
		expect "the test host (--insns=$threads): exit 0, got $status" test $status -eq 0 || rc=1
		expect "booted with the plugin, thread=$threads" grep -q "insns plugin thread=$threads)" "$dir/testhost.err" || rc=1
		insns_testhost_check "$dir" $n "$([ $threads = multi ] && echo all || echo loop)" || rc=1
	done
	if [ $rc -eq 0 ]; then rm -rf "${dirs[@]}"; else echo "kept: ${dirs[*]}"; fi
	return $rc
}

# insns_testhost_windows N RANGE all|loop: the windows of check_insns_testhost, inside the
# test host (MMUSCOPE_INSNS from testhost --insns); "loop": windows 1-3 only.
insns_testhost_windows() {
	local n=$1 range=$2 d=${MMUSCOPE_INSNS:-} loop=$OUTPUT/bin/insns-loop mark=$OUTPUT/bin/insns-mark
	[ -n "$d" ] && [ -s "$d/ranges" ] || { echo "no ranges file ${d:-(MMUSCOPE_INSNS unset)}/ranges from guest-init"; return 1; }
	cp "$d/ranges" "$d/../ranges.guest-init"
	"$loop" --mark "$n" || return 1
	{ cat "$d/ranges"; echo "$range"; } >"$d/ranges.new" && mv "$d/ranges.new" "$d/ranges" || return 1
	"$loop" --mark "$n" || return 1
	"$loop" --mark $((2 * n)) || return 1
	[ "$3" = all ] || return 0
	"$mark" run -- "$OUTPUT/bin/dirtylog_vmm" -n 7 -m 3 -t >"$d/../vmm.json" || return 1
	cat "$d/../vmm.json"
	"$mark" run -- "$loop" "$n"
}

# insns_testhost_check DIR N all|loop: check_insns_testhost's assertions on DIR/insns/*.json.
insns_testhost_check() {
	local dir=$1 n=$2 d=$1/insns rc=0 w u2 u3 want=$((4 + 4 * $2)) b
	for w in 1 2 3 4 5; do
		[ -f "$d/$w.json" ] || continue
		jq -c '{window, vcpus, total, loop: .buckets.insns_loop, nonzero: ([.buckets[] | select(. > 0)] | length),
			ranges: .params.ranges, reloads: .params.ranges_reloads, file: .params.ranges_files[0]}' "$d/$w.json"
		jq -c '{window, inclusive: .params.inclusive}' "$d/$w.json"
	done
	expect "guest-init's ranges: KVM's functions (kvm_vm_ioctl), the rwlock slow paths kept or dropped as L2 overlaps" \
		test -n "$(grep '^kvm_vm_ioctl ' "$dir/ranges.guest-init" 2>/dev/null)" -a \
			"$(grep -cE '^(# dropped )?queued_(read|write)_lock_slowpath ' "$dir/ranges.guest-init" 2>/dev/null)" = 2 || rc=1
	grep '^#' "$dir/ranges.guest-init" 2>/dev/null
	expect "window 1: the file absent when QEMU started, read at this start (> 1000 ranges), no insns_loop" \
		jq_quiet -e '.params.ranges > 1000 and .params.ranges_files[0].loaded_at_window == 1
			and .params.ranges_reloads == 1 and (.buckets | has("kvm_vm_ioctl") and (has("insns_loop") | not))' \
		"$d/1.json" || rc=1
	expect "window 2: the file read again (insns_loop appended): bucket insns_loop = $want, summed over vCPUs" \
		jq_quiet -e --argjson w $want '.buckets.insns_loop == $w and .params.ranges_files[0].loaded_at_window == 2
			and .params.ranges_reloads == 2 and ([.vcpus[].user] | add) == .total.user' "$d/2.json" || rc=1
	expect "window 3: bucket insns_loop = $((4 + 8 * n)), the file not read again" \
		jq_quiet -e --argjson w $((4 + 8 * n)) '.buckets.insns_loop == $w and .params.ranges_reloads == 2' "$d/3.json" || rc=1
	for w in 2 3; do
		expect "window $w: kernel frames only (kernel-block stacks): user bucket insns_loop has no inclusive count, got $(jq -c '[.inclusive.insns_loop, .buckets.insns_loop]' "$d/$w.json")" \
			jq_quiet -e '.inclusive | has("insns_loop") and .insns_loop == null' "$d/$w.json" || rc=1
		jq_quiet -e '.params.inclusive.stacks == "kernel-blocks" and .params.inclusive.user_frames == false' "$d/$w.json" || rc=1
	done
	u2=$(jq .total.user "$d/2.json") u3=$(jq .total.user "$d/3.json")
	echo "user(N) = $u2, user(2N) = $u3, difference $((u3 - u2)), expected $((4 * n))"
	expect "user(2N) - user(N) = 4N: $u3 - $u2 = $((u3 - u2)), not $((4 * n))" test $((u3 - u2)) -eq $((4 * n)) || rc=1
	[ "$3" = all ] || return $rc
	expect "window 4 (dirtylog_vmm): kernel > 0, and user > 0" \
		jq_quiet -e '.total.kernel > 0 and .total.user > 0' "$d/4.json" || rc=1
	for b in kvm_vm_ioctl kvm_vcpu_ioctl kvm_arch_vcpu_ioctl_run kvm_arch_sync_dirty_log \
		kvm_arch_mmu_enable_log_dirty_pt_masked kvm_mmu_page_fault; do
		expect "window 4: bucket $b > 0, got $(jq ".buckets.$b" "$d/4.json")" \
			jq_quiet -e ".buckets.$b > 0" "$d/4.json" || rc=1
	done
	expect "window 4: the vendor module's vCPU run > 0 (svm_vcpu_run or vmx_vcpu_run)" \
		jq_quiet -e '(.buckets.svm_vcpu_run // 0) + (.buckets.vmx_vcpu_run // 0) > 0' "$d/4.json" || rc=1
	jq -c '.buckets | to_entries | map(select(.value > 0)) | sort_by(-.value) | .[:15] | from_entries' "$d/4.json"
	jq -c '.inclusive | to_entries | map(select(.value > 0)) | sort_by(-.value) | .[:15] | from_entries' "$d/4.json"
	jq -c '{kvm_vm_ioctl: [.buckets.kvm_vm_ioctl, .inclusive.kvm_vm_ioctl], kvm_vcpu_ioctl: [.buckets.kvm_vcpu_ioctl, .inclusive.kvm_vcpu_ioctl],
		kvm_arch_vcpu_ioctl_run: [.buckets.kvm_arch_vcpu_ioctl_run, .inclusive.kvm_arch_vcpu_ioctl_run], kernel: .total.kernel}' "$d/4.json"
	expect "window 4: inclusive kvm_vm_ioctl >= its exclusive count and its dirty-log callees' (kvm_arch_sync_dirty_log, kvm_arch_mmu_enable_log_dirty_pt_masked)" \
		jq_quiet -e '.inclusive.kvm_vm_ioctl >= .buckets.kvm_vm_ioctl + .buckets.kvm_arch_sync_dirty_log
			+ .buckets.kvm_arch_mmu_enable_log_dirty_pt_masked and .buckets.kvm_vm_ioctl > 0' "$d/4.json" || rc=1
	expect "window 4: inclusive kvm_vcpu_ioctl >= kvm_arch_vcpu_ioctl_run's >= kvm_mmu_page_fault's exclusive count; L2 entered (vmruns > 0)" \
		jq_quiet -e '.inclusive.kvm_vcpu_ioctl >= .inclusive.kvm_arch_vcpu_ioctl_run
			and .inclusive.kvm_arch_vcpu_ioctl_run >= .buckets.kvm_mmu_page_fault and .buckets.kvm_mmu_page_fault > 0
			and .params.inclusive.vmruns > 0' "$d/4.json" || rc=1
	expect "window 4: inclusive kvm_vm_ioctl + kvm_vcpu_ioctl <= the kernel's total (different tasks, different stacks)" \
		jq_quiet -e '.inclusive.kvm_vm_ioctl + .inclusive.kvm_vcpu_ioctl <= .total.kernel' "$d/4.json" || rc=1
	expect "window 5 (insns-mark run -- insns-loop N: the child counted in system mode): insns_loop = $want" \
		jq_quiet -e --argjson w $want '.buckets.insns_loop == $w' "$d/5.json" || rc=1
	expect "window 5: no inclusive count for the user bucket" jq_quiet -e '.inclusive.insns_loop == null' "$d/5.json" || rc=1
	expect "window 5: more user instructions than window 2 (fork, exec, the loop's start-up)" \
		test "$(jq .total.user "$d/5.json")" -gt "$u2" || rc=1
	return $rc
}

# check_icount: `testhost --icount=2` (QEMU's -icount shift=2,sleep=off: the guest's clocks
# count instructions) makes the guest's own timings deterministic. Two boots of the patched
# kernel, one vCPU, dirty_log_perf_test inside (a nested guest): every time it prints but
# the first touch of its memory must agree within 2% between the boots (measured
# 2026-12-07, three pairs: the steady dirty passes, get- and clear-dirty-log within 0.02% or
# exactly, the first pass and enabling dirty logging within 1.2%; without --icount the same
# times differed by 5-23%). With two vCPUs the test host
# stalled (RCU) under -icount on QEMU 7.2, so this is a one-vCPU option for now.
check_icount() {
	local i rc=0 d=$OUTPUT/icount
	testhost/build-selftests patched bench || return 1
	mkdir -p "$d"
	for i in 1 2; do
		"$TESTHOST" -k "$(bz patched)" -m shadow --smp 1 --icount=2 -s "$d" -t 600 -I 300 -- \
			"$MMUSCOPE_CACHE/kernel/patched/selftests-bench/dirty_log_perf_test" -v 1 -b 16M -i 3 \
			>"$d/run$i.log" 2>&1 || { tail -n 20 "$d/run$i.log"; return 1; }
		# All but "Populate memory time": the first touch of the memory, which in
		# the test host waits on 9p I/O of host time, varied by up to 5%.
		grep -v '^Populate memory time' "$d/run$i.log" |
			grep -oE '(time|took): [0-9.]+s|took [0-9.]+s' | grep -oE '[0-9.]+' >"$d/times$i"
	done
	paste "$d/times1" "$d/times2"
	expect "the same timings printed by both boots" test "$(wc -l <"$d/times1")" -ge 4 -a \
		"$(wc -l <"$d/times1")" = "$(wc -l <"$d/times2")" || rc=1
	expect "every timing within 2% between the boots" awk '{d = $1 - $2; if (d < 0) d = -d;
		if ($1 > 0 && d / $1 > 0.02) bad++} END {exit bad > 0}' <(paste "$d/times1" "$d/times2") || rc=1
	return $rc
}

# [insns] item 7: where no TCG plugin counts (a host booted into the kernel: HOST=local,
# ci/remote), INSNS=1 takes the repetition's instructions from perf stat (host side, kernel
# and user), the member saying its source; where the PMU cannot count them, insns is null
# and insns_why says why. perf is tests/fixtures/perf-stub/perf here (this suite's hosts have
# no hardware counter); no KVM, no probes (PROBES=none).
check_insns_perf() {
	local d rc=0 stub=$MMUSCOPE_ROOT/tests/fixtures/perf-stub
	d=$(mktemp -d /tmp/mmuscope-insns-perf.XXXXXX)
	PATH=$stub:$PATH STUB_K=111 STUB_U=222 PROBES=none \
		workloads/run tests/fixtures/profile-perf/echo /tmp "$d/counted/shadow" || rc=1
	for r in 1 2; do
		jq_true "$d/counted/shadow/echo/$r.json" '.insns == {schema: "mmuscope.insns/1", source: "perf",
			events: ["instructions:kH", "instructions:uH"], total: {kernel: 111, user: 222, all: 333},
			buckets: null, vcpus: null} and (has("insns_why") | not)' || rc=1
	done
	PATH=$stub:$PATH STUB_NOT_SUPPORTED=1 PROBES=none \
		workloads/run tests/fixtures/profile-perf/echo /tmp "$d/none" 2>"$d/none.err" || rc=1
	cat "$d/none.err"
	jq_true "$d/none/echo/1.json" '.insns == null and (.insns_why | test("no hardware instruction counter"))' || rc=1
	expect "one warning says so" grep -q 'INSNS=1: no hardware instruction counter' "$d/none.err" || rc=1
	# compare reports perf's counts and gates such sets on wall clock (on hardware they leave
	# out the guest's kernel; no threshold was measured for them)
	"$OUTPUT/bin/compare" -m tests/fixtures/profile-perf/echo.metrics "$d/counted" "$d/counted" >"$d/cmp.md" || rc=1
	expect "compare: echo gated on wall clock, its perf counts reported" \
		grep -q "echo: wall clock (\`gate-wall\`): perf's instruction counts" "$d/cmp.md" || rc=1
	expect "... the instruction row in the report" grep -q '| echo_insns_kernel | shadow | echo | 2/2 |' "$d/cmp.md" || rc=1
	# INSNS=1 in the profile, MMUSCOPE_COUNT_INSNS=0 (ci/bench --no-insns): no perf, no warning
	PATH=$stub:$PATH STUB_K=111 STUB_U=222 PROBES=none MMUSCOPE_COUNT_INSNS=0 \
		workloads/run tests/fixtures/profile-perf/echo /tmp "$d/off" 2>"$d/off.err" || rc=1
	jq_true "$d/off/echo/1.json" '.insns == null and (has("insns_why") | not)' || rc=1
	expect "MMUSCOPE_COUNT_INSNS=0: no INSNS warning" test -z "$(grep 'INSNS=1' "$d/off.err")" || rc=1
	[ $rc -eq 0 ] && rm -rf "$d"
	return $rc
}
