# The test machine checks ([remote]), sourced by tests/run: ci/remote against a stand-in
# machine, a test host booted like the others (our baseline kernel, TCG, the host root
# read-only) but started with `testhost --machine`: it reboots and kexecs instead of
# exiting, runs sshd (tests/standin-sshd) on a port of 127.0.0.1, and its "disk" (where
# ci/remote keeps its files, REMOTE_DIR) is a directory of the share, which a kexec keeps.

# standin_start DIR: boot the stand-in machine with its files in DIR (keys, sshd_config,
# console.log); sets standin_pid, standin_port, standin_target and remote_env (what
# ci/remote needs to reach it). Status 1 when it does not answer ssh within 300 s.
standin_start() {
	local d=$1 p t0=$SECONDS
	standin_port="" standin_dir=$d
	for p in $(seq 20022 20122); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { standin_port=$p; break; }
	done
	[ -n "$standin_port" ] || { echo "no free port in 20022-20122"; return 1; }
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" &&
		ssh-keygen -q -t ed25519 -N '' -f "$d/client_key" || return 1
	cp "$d/client_key.pub" "$d/authorized_keys"
	echo "[127.0.0.1]:$standin_port $(cat "$d/host_key.pub")" >"$d/known_hosts"
	cat >"$d/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $d/host_key
PidFile /run/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
	standin_target=ssh://root@127.0.0.1:$standin_port
	remote_env=(REMOTE_DIR="$d/disk" REMOTE_CONSOLE_LOG="$d/console.log" REMOTE_BOOT_TIMEOUT=300
		REMOTE_SSH_OPTS="-i $d/client_key -o UserKnownHostsFile=$d/known_hosts -o StrictHostKeyChecking=yes")
	MMUSCOPE_STANDIN=$d "$TESTHOST" -k "$(bz baseline)" -m none --machine="$standin_port" -s "$d" \
		-c "$d/console.log" -t 3000 -- "$MMUSCOPE_ROOT/tests/standin-sshd" >"$d/machine.log" 2>&1 &
	standin_pid=$!
	while [ $((SECONDS - t0)) -lt 300 ]; do
		sleep 5
		kill -0 "$standin_pid" 2>/dev/null || { echo "the stand-in machine exited:"; cat "$d/machine.log"; return 1; }
		standin_ssh true 2>/dev/null || continue
		echo "the stand-in machine answers ssh after $((SECONDS - t0)) s (port $standin_port)"
		return 0
	done
	echo "the stand-in machine does not answer ssh after 300 s; its console:"
	tail -n 30 "$d/console.log"
	return 1
}

# standin_ssh COMMAND: run COMMAND on the stand-in machine.
standin_ssh() {
	ssh -p "$standin_port" -i "$standin_dir/client_key" -o UserKnownHostsFile="$standin_dir/known_hosts" \
		-o BatchMode=yes -o ConnectTimeout=10 root@127.0.0.1 "$@"
}

standin_stop() {
	[ -n "${standin_pid:-}" ] || return 0
	kill "$standin_pid" 2>/dev/null
	wait "$standin_pid" 2>/dev/null
	standin_pid=""
}

# linux_boots FILE: how many times a kernel booted in a console log.
linux_boots() { grep -c 'Linux version ' "$1"; }

# The stand-in machine, three runs of ci/remote: (1) the tiny profile, two rounds (baseline,
# patched; patched, baseline), the connection cut for 30 s under the first job: a repetition
# a boot brought home and numbered over the rounds, the report, the machine back on the
# kernel it started with, its REMOTE_DIR gone; (2) the patched kernel made to fail its boot
# (init=/nonexistent-init: the kernel panics, and panic= returns the machine to its default
# kernel): the failure reported with the console's panic, the baseline's repetition kept,
# exit 1 (the kernel failed), the machine usable after; (3) ci/remote stopped (SIGTERM)
# under a job: the job killed, the machine rebooted home, no kexec image loaded, nothing left.
# Before either, a machine that cannot be logged in to is one line and exit 3.
check_remote() {
	local d rc=0 st run base_rel boots0 cutter
	d=$(mktemp -d /var/tmp/mmuscope-standin.XXXXXX)
	trap 'standin_stop' RETURN
	# nothing listens: one line, exit 3, nothing copied
	"$MMUSCOPE_ROOT/ci/remote" ssh://root@127.0.0.1:1 tests/fixtures/profile-remote/tiny >"$d/nologin.log" 2>&1
	st=$?
	cat "$d/nologin.log"
	expect "no machine: exit 3 (got $st)" test $st -eq 3 || rc=1
	expect "no machine: the error names the login" grep -q '^mmuscope: error: cannot log in to root@127.0.0.1:1' "$d/nologin.log" || rc=1
	expect "a bad TARGET is a usage error" test "$("$MMUSCOPE_ROOT/ci/remote" http://x >/dev/null 2>&1; echo $?)" = 2 || rc=1

	standin_start "$d" || return 1
	base_rel=$(kv "$(kernel_out baseline bench)/mmuscope-build.env" KERNELRELEASE)

	echo "=== run 1: baseline and patched, two rounds; the connection lost for 30 s"
	boots0=$(linux_boots "$d/console.log")
	: >"$d/run1.log"
	# once the baseline's job runs: no sshd on the machine for 30 s, every connection cut
	(
		for _ in $(seq 600); do grep -q "^\[127.0.0.1 baseline r1\]" "$d/run1.log" && break; sleep 1; done
		touch "$d/pause"
		standin_ssh 'setsid -f sh -c "sleep 1; pkill -x sshd" </dev/null >/dev/null 2>&1'
		echo "check: sshd stopped on the machine for 30 s"
		sleep 30
		rm -f "$d/pause"
	) &
	cutter=$!
	env "${remote_env[@]}" RESULTS="$d/results" "$MMUSCOPE_ROOT/ci/remote" --rounds 2 "$standin_target" \
		tests/fixtures/profile-remote/tiny 2>&1 | tee -a "$d/run1.log"
	st=${PIPESTATUS[0]}
	wait "$cutter"
	run=$(ls -d "$d"/results/remote-* | head -n1)
	expect "run 1: exit 0 (got $st)" test "$st" -eq 0 || rc=1
	for k in baseline patched; do
		for n in 1 2; do	# a repetition a boot, numbered over the rounds
			expect "run 1: $k's repetition $n home" jq -e '.result != null and .probe != null' "$run/$k/shadow/dlpt-get/$n.json" || rc=1
			expect "run 1: the $k boot of round $n says it ran on $k" grep -q "machine $k.*shadow MMU: done (exit 0)" "$run/$k-r$n.log" || rc=1
		done
	done
	expect "run 1: the kernels alternate (baseline, patched; patched, baseline)" \
		test "$(sed -n 's/.*round \([12]\): kexec into \([a-z]*\) .*/\1\2/p' "$d/run1.log" | tr '\n' ' ')" = "1baseline 1patched 2patched 2baseline " || rc=1
	expect "run 1: each boot's time" test "$(grep -c 'up after [0-9]* s, running' "$d/run1.log")" -ge 5 || rc=1
	expect "run 1: the lost connection reported" grep -q 'round 1, baseline: the connection to 127.0.0.1 is lost' "$d/run1.log" || rc=1
	expect "run 1: and found again" grep -q 'round 1, baseline: connected again after' "$d/run1.log" || rc=1
	jq_true "$run/manifest.json" '.target == "'"$standin_target"'" and .rounds == 2 and (.failed_boots | length) == 0' || rc=1
	echo "--- run 1's report (the start):"
	sed -n '1,30p' "$run/report.md"
	expect "run 1: the report names the machine" grep -q "test machine: $standin_target" "$run/report.md" || rc=1
	expect "run 1: the report compares dlpt-get" grep -q 'dlpt' "$run/report.md" || rc=1
	# four kexecs, the reboot home: five more boots
	expect "run 1: five boots (four kexecs, the reboot home) on the console" \
		test "$(( $(linux_boots "$d/console.log") - boots0 ))" -eq 5 || rc=1
	expect "run 1: the machine back on $base_rel, without our parameters" \
		test "$(standin_ssh 'uname -r; grep -c mmuscope.boot= /proc/cmdline')" = "$base_rel"$'\n'0 || rc=1
	expect "run 1: REMOTE_DIR removed from the machine" test ! -e "$d/disk" || rc=1

	echo "=== run 2: the patched kernel does not come up"
	rm -rf "$d/results"
	env "${remote_env[@]}" RESULTS="$d/results" REMOTE_PANIC=5 REMOTE_APPEND_patched="init=/nonexistent-init" \
		"$MMUSCOPE_ROOT/ci/remote" --rounds 1 "$standin_target" tests/fixtures/profile-remote/tiny 2>&1 | tee "$d/run2.log"
	st=${PIPESTATUS[0]}
	run=$(ls -d "$d"/results/remote-* | head -n1)
	expect "run 2: exit 1, the kernel failed: it panicked (got $st)" test "$st" -eq 1 || rc=1
	expect "run 2: the baseline's repetition kept" jq -e '.result != null' "$run/baseline/shadow/dlpt-get/1.json" || rc=1
	expect "run 2: no patched repetition" test ! -e "$run/patched/shadow/dlpt-get/1.json" || rc=1
	jq_true "$run/manifest.json" '.failed_boots == [{kernel: "patched", round: 1, why: .failed_boots[0].why, log: "patched-r1-boot.log", kernel_report: true}] and (.failed_boots[0].why | test("did not come up: the machine is back on '"$base_rel"'"))' || rc=1
	expect "run 2: the failed boot's log shows the panic from the console" \
		grep -q 'Kernel panic - not syncing' "$run/patched-r1-boot.log" || rc=1
	expect "run 2: the report lists the failed boot" grep -q '^# Boots that failed' "$run/report.md" || rc=1
	expect "run 2: the machine usable after (on $base_rel)" \
		test "$(standin_ssh uname -r)" = "$base_rel" || rc=1
	expect "run 2: REMOTE_DIR removed from the machine" test ! -e "$d/disk" || rc=1

	echo "=== run 3: stopped (SIGTERM) while the baseline's job runs"
	rm -rf "$d/results"
	: >"$d/run3.log"
	env "${remote_env[@]}" RESULTS="$d/results" "$MMUSCOPE_ROOT/ci/remote" --rounds 1 "$standin_target" \
		tests/fixtures/profile-remote/tiny >>"$d/run3.log" 2>&1 &
	local remote_pid=$!
	for _ in $(seq 600); do grep -q "^\[127.0.0.1 baseline r1\]" "$d/run3.log" && break; sleep 1; done
	kill -TERM "$remote_pid"
	wait "$remote_pid"
	st=$?
	cat "$d/run3.log"
	expect "run 3: exit 130 (got $st)" test "$st" -eq 130 || rc=1
	expect "run 3: says it stops and leaves the machine" grep -q 'interrupted: stopping the job' "$d/run3.log" || rc=1
	expect "run 3: the machine back on $base_rel, without our parameters, no kexec image loaded, no job" \
		test "$(standin_ssh 'uname -r; grep -c mmuscope.boot= /proc/cmdline; cat /sys/kernel/kexec_loaded; pgrep -fc ci/remote-job')" = \
			"$base_rel"$'\n'0$'\n'0$'\n'0 || rc=1
	expect "run 3: REMOTE_DIR removed from the machine" test ! -e "$d/disk" || rc=1
	standin_stop
	[ $rc -eq 0 ] && rm -rf "$d"
	return $rc
}
