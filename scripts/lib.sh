# Shared shell glue for mmuscope's scripts: sourced, never run.
# Progress lines go to stderr as "[mmuscope] <phase>: <what> (<elapsed>)".

MMUSCOPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MMUSCOPE_CACHE=${MMUSCOPE_CACHE:-/var/cache/mmuscope}
export MMUSCOPE_ROOT MMUSCOPE_CACHE

_mmuscope_t0=$(date +%s)

# fmt_secs N: "1m05s" / "42s"
fmt_secs() {
	local s=$1
	if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# progress PHASE MESSAGE...: one line, with the time since the script started.
progress() {
	local phase=$1; shift
	printf '[mmuscope] %s: %s (%s)\n' "$phase" "$*" "$(fmt_secs $(($(date +%s) - _mmuscope_t0)))" >&2
}

# Exit codes, of every script and program (README.md, "Exit codes"): 0 done and nothing
# failed; 1 a gated regression or a failed check (fail); 2 usage or bad input
# (usage_error); 3 the work could not be done: a prerequisite missing, a tool, QEMU or a
# test host failed (die); 4 nothing to do here (no KVM, no BTF).

# die MESSAGE: the one-line error that names the fix, when the work cannot be done (3).
die() {
	printf 'mmuscope: error: %s\n' "$*" >&2
	exit 3
}

# usage_error MESSAGE: a bad argument, option, profile or input file (2).
usage_error() {
	printf 'mmuscope: error: %s\n' "$*" >&2
	exit 2
}

# fail MESSAGE: what a check found wrong with the kernel or change under test (1).
fail() {
	printf 'mmuscope: FAILED: %s\n' "$*" >&2
	exit 1
}

# script_help "$@": with -h or --help first, print the calling script's header comment (its
# usage, what it does, its exit codes) and exit 0.
script_help() {
	case ${1:-} in -h|--help) ;; *) return 0 ;; esac
	sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
	exit 0
}

warn() {
	printf 'mmuscope: warning: %s\n' "$*" >&2
}

# reserve_hugepages N WHO: at least N 2M hugetlb pages reserved, or a warning that WHO will fail.
reserve_hugepages() {
	local got
	got=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
	[ "$got" -ge "$1" ] && return 0
	echo "$1" >/proc/sys/vm/nr_hugepages 2>/dev/null
	got=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
	[ "$got" -ge "$1" ] || warn "only $got of $1 2M huge pages reserved (run as root, or boot with hugepages=$1): $2 will fail"
}

# local_kvm_ready HOW: this host can run workloads under its own KVM with the probes (root,
# /dev/kvm), or the error that names HOW to run the command as root.
local_kvm_ready() {
	[ "$(id -u)" = 0 ] || die "the probes need root: run '$1'"
	[ -c /dev/kvm ] || die "no /dev/kvm: load KVM (modprobe kvm_amd or kvm_intel) on this host"
}

# A kernel's own report of trouble in its log (dmesg, a console): what a test machine's
# checks (ci/remote, ci/remote-job) count as the kernel failing; testhost/splat.c is the
# test host's fuller scanner of its console. An extended regular expression.
KERNEL_SPLATS='Kernel panic|BUG:|Oops|general protection|WARNING:|KASAN|lockdep|possible circular locking|possible recursive locking|soft lockup|rcu_sched self-detected|hung_task|blocked for more than'

# kv FILE KEY: value of KEY=value in FILE
kv() {
	sed -n "s/^$2=//p" "$1" | head -n 1
}

# profile_files PROFILE: set conf, list and metrics to its files. A profile is a name under
# workloads/profiles/, or a path without the .conf/.list suffix (a test's fixture); its
# metrics are PROFILE.metrics where that exists, otherwise analysis/metrics.conf.
profile_files() {
	local base
	case $1 in
	*/*) base=$1 ;;
	*) base=$MMUSCOPE_ROOT/workloads/profiles/$1 ;;
	esac
	conf=$base.conf list=$base.list metrics=$base.metrics
	[ -f "$metrics" ] || metrics=$MMUSCOPE_ROOT/analysis/metrics.conf
	[ -f "$conf" ] && [ -f "$list" ] || usage_error "no profile '$1': see workloads/profiles/"
	profile_workloads >/dev/null || exit 2
}

# profile_workloads: the workloads of $list (profile_files), one a line as
# NAME<TAB>MODES<TAB>PROBES<TAB>PARSER<TAB>COMMAND, without comments and blank lines. The
# one reader of a profile's list: read its lines with IFS=$'\t'. A line without all five
# columns is an error naming it (profile_files checks the whole list first).
profile_workloads() {
	local line n=0 name modes probes parser cmd
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		read -r name modes probes parser cmd <<<"$line"
		case $name in ''|'#'*) continue ;; esac
		[ -n "$cmd" ] || { printf 'mmuscope: error: %s:%d: "%s" is not NAME MODES PROBES PARSER COMMAND...\n' \
			"$list" $n "$line" >&2; return 1; }
		printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$modes" "$probes" "$parser" "$cmd"
	done <"$list"
}

# workload_reps NAME: the timed repetitions of workload NAME: the profile's REPS, or its
# REPS_<NAME> (the name's other characters than letters and digits as _, e.g.
# REPS_migrate_cancel_thp=6) for a workload too noisy for the gate at REPS; MMUSCOPE_REPS
# (ci/ab) overrides both. Needs the profile's .conf sourced.
workload_reps() {
	local v="REPS_${1//[^A-Za-z0-9]/_}" n
	n=${MMUSCOPE_REPS:-${!v:-$REPS}}
	# MMUSCOPE_ROUNDS (ci/remote): the repetitions spread over that many boots, this one's share
	[ -n "${MMUSCOPE_ROUNDS:-}" ] && n=$(( (n + MMUSCOPE_ROUNDS - 1) / MMUSCOPE_ROUNDS ))
	echo "$n"
}

# profile_has_guests: whether the workloads of $list (profile_files) boot workload guests;
# with MMUSCOPE_ONLY set (names), only those workloads count.
profile_has_guests() {
	profile_workloads | awk -F'\t' -v only=" ${MMUSCOPE_ONLY:-} " \
		'only == "  " || index(only, " " $1 " ") { print $5 }' |
		grep -qE '^(l2run|l2migrate|l2kernbench)( |$)'
}

# Where a kernel variant lives in the cache. The build dir sits inside the source tree
# so that kbuild uses a relative srctree (".."): then the compiler command lines of the
# baseline and the patched tree are identical and ccache serves one from the other.
kernel_src() { echo "$MMUSCOPE_CACHE/kernel/$1/linux"; }
kernel_out() { echo "$MMUSCOPE_CACHE/kernel/$1/linux/out-$2"; }

# guest_images: set $guest_kernel and $guest_initrd, the workload guest's kernel (built
# from the pristine base with kernel-patches/config/guest.config for every kernel under
# test, so that only the host side, KVM, differs) and its initramfs (workloads/guest/),
# both built by `make guest`, and
# $guest_cmdline, the kernel parameters every workload guest boots with (l2run, migrate):
# - watchdog_thresh=60 (a soft lockup after 120 s, not 20): under a TCG test host the
#   whole nested guest stops when the machine's host deschedules it, and a 50 s stall
#   reported as a soft lockup failed a CI run (2026-11-22); a real lockup is still caught.
# - rcupdate.rcu_cpu_stall_timeout=120 (an RCU stall after 120 s, not the config's 21), for
#   the same reason: l2run and migrate end a run at any splat on the guest's console
#   (workloads/guestvm.c, testhost/splat.c), RCU stalls and hung tasks (120 s) included.
# - clearcpuid=smap under a TCG test host: there the workload guest sometimes gets a
#   user-mode #PF without the user bit in its error code (re-injected by KVM from QEMU's
#   emulated VMCB), which a guest with SMAP oopses on (README.md, "Nested guests under TCG").
guest_images() {
	guest_kernel=$(kernel_out baseline guest)/arch/x86/boot/bzImage
	[ -f "$guest_kernel" ] || die "no workload guest kernel $guest_kernel: run 'make guest'"
	# MMUSCOPE_GUEST_INITRD: found once by workloads/run for all its guests (hashing the
	# guest programs took 1.5 s per guest in a test host).
	if [ -n "${MMUSCOPE_GUEST_INITRD:-}" ] && [ -f "$MMUSCOPE_GUEST_INITRD" ]; then
		guest_initrd=$MMUSCOPE_GUEST_INITRD
	else
		guest_initrd=$("$MMUSCOPE_ROOT/workloads/guest/build-initramfs" "$MMUSCOPE_ROOT"/build/guest/*) || exit
	fi
	guest_cmdline="console=ttyS0 quiet panic=-1 oops=panic watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120"
	if grep -q 'QEMU TCG CPU' /proc/cpuinfo; then guest_cmdline+=" clearcpuid=smap"; fi
}

# guest_exec PROGRAM ARG...: run build/bin/PROGRAM (l2run, migrate: the programs that boot the
# workload guest, workloads/guestvm.c) with the guest's kernel, initramfs and kernel
# parameters (guest_images) before ARG...; its --help, and a usage error of ARG..., come
# before the images are looked for.
guest_exec() {
	local prog=$MMUSCOPE_ROOT/build/bin/$1
	shift
	[ -x "$prog" ] || die "no $prog: run 'make tools'"
	case ${1:-} in -h|--help) exec "$prog" --help ;; esac
	"$prog" --check "$@" || exit
	guest_images
	exec "$prog" -K "$guest_kernel" -I "$guest_initrd" -A "$guest_cmdline" "$@"
}

# insns_testhost_accel INSNS: with INSNS=1, check that the TCG plugin and its marker are
# built, and print --accel=tcg where this host has vmx/svm (testhost refuses --insns under
# KVM: the test hosts then run under TCG, slower, and a warning says so). Used by ci/bench
# and ci/ab to build their testhost options.
insns_testhost_accel() {
	[ "$1" = 1 ] || return 0
	[ -f "$MMUSCOPE_ROOT/build/lib/insns.so" ] && [ -x "$MMUSCOPE_ROOT/build/bin/insns-mark" ] ||
		die "INSNS=1 (--insns) needs the TCG plugin and its marker: run 'make insns'"
	if grep -qwE 'vmx|svm' /proc/cpuinfo; then
		warn "INSNS=1: instruction counts need TCG, so the test hosts run under TCG although this host has KVM (slower; INSNS=0 for KVM)"
		echo --accel=tcg
	fi
}
