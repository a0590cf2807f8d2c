# check-timeout: 7200
# shellcheck shell=sh disable=SC3043,SC2034 # ash has local
# The boot benchmark (make bench-boot; this profile is opt-in, so make
# check never runs it).  Numbers, not a pass/fail test: each point only
# says that a boot produced its numbers.
#
# In this one L0, BOOT_RUNS rounds (default 5) of every case in BOOT_CASES,
# in that fixed, interleaved order (round 1: every case, round 2: ...):
#   payload    the bare payload (tests/guest), 64 MiB, 1 vCPU
#   payload-2g the same with 2 GiB of RAM, and with 8 vCPUs: lkvm's set-up
#   payload-c8 must not grow with either
#   linux-c1   a quiet Linux guest (Image + l1.cpio), 256 MiB, 1 vCPU, that
#   linux-c2   powers off at init; the same with 2 vCPUs
#   CASE-scrubbed  CASE after L0 wrote once through BOOT_SCRUB_MIB of freshly
#              allocated memory (dd), so that the guest's RAM comes from pages
#              no earlier guest's code ran in: the repeated-boot slowdown
#              of an emulated L0 (README) taken out, to compare
#   gz-c1      the same two from Image.gz
#   gz-c2
#   hugetlbfs  linux-c1 with --hugetlbfs /dev/hugepages (l0-cmdline has
#              hugepages=; the hugetlbfs is mounted here)
#   nested     a --nested L1 (768 MiB, 2 vCPUs) that boots an L2 payload and
#              an L2 Linux (Image + initrd from a virtio-blk tar) with the
#              same lkvm (guest/scripts/bootbench), records for all three
# Each boot goes through bb_boot (guest/scripts/bootbench, taken from
# /guest/l1n.cpio so that L0 and L1 measure the same way): lkvm's own
# breakdown up to the first KVM_RUN, the time to the guest's init (the
# payload's first line), poweroff to exit with lkvm's teardown split, and
# lkvm's RSS outside guest RAM when the guest reached init; around it,
# L0's /proc/vmstat deltas (THP faults, fallbacks, compaction stalls,
# page faults).  Lines go to $ART/results.txt; tests/bench/boot-report
# makes the table.  Last, tests/tools/vm-cost's bare create/run/destroy of
# each VM shape, the reference for teardown.
#
# Knobs (environment, from make bench-boot through SYSTEM_EXPORT):
#   BOOT_RUNS (5)  BOOT_CASES (all of the above)  BOOT_NESTED_RUNS (BOOT_RUNS)
#   BOOT_SCRUB_MIB (512): what a -scrubbed case writes through first

: "${BOOT_RUNS:=5}"
: "${BOOT_CASES:=payload payload-2g payload-c8 linux-c1 linux-c1-scrubbed linux-c2 gz-c1 gz-c2 hugetlbfs nested}"
: "${BOOT_NESTED_RUNS:=$BOOT_RUNS}"
: "${BOOT_SCRUB_MIB:=512}"
RESULTS=$ART/results.txt
HUGE=/dev/hugepages
VMKEYS="thp_fault_alloc thp_fault_fallback compact_stall compact_fail pgfault pgmajfault"
: >"$RESULTS"

mkdir -p /tmp/bb
(cd /tmp/bb && cpio -i -d scripts/bootbench </guest/l1n.cpio) 2>"$ART/cpio.err"
if [ ! -s /tmp/bb/scripts/bootbench ]; then
	tap_not_ok "guest/scripts/bootbench is in /guest/l1n.cpio" "$(cat "$ART/cpio.err")"
	return 0
fi
BB_LIB=1
BB_DIR=$ART
# shellcheck disable=SC1091
. /tmp/bb/scripts/bootbench

thp() { sed -n 's/.*\[\(.*\)\].*/\1/p' "/sys/kernel/mm/transparent_hugepage/$1" 2>/dev/null; }
{
	echo "config runs=$BOOT_RUNS nested_runs=$BOOT_NESTED_RUNS scrub_mib=$BOOT_SCRUB_MIB"
	echo "config cases=$BOOT_CASES"
	echo "config l0_cpus=$(grep -c '^processor' /proc/cpuinfo) l0_kernel=$(uname -r)" \
		"l0_memtotal_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)" \
		"thp_enabled=$(thp enabled) thp_defrag=$(thp defrag)" \
		"hugepages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null)"
} >>"$RESULTS"

# vm_snap PREFIX: PREFIX_key=value for each of VMKEYS (builtins only).
vm_snap() {
	local k v
	while read -r k v; do
		case " $VMKEYS " in *" $k "*) eval "$1_$k=$v" ;; esac
	done </proc/vmstat
}

# ---- setup --------------------------------------------------------------------

case " $BOOT_CASES " in
*" hugetlbfs "*)
	mkdir -p $HUGE
	grep -q " $HUGE hugetlbfs " /proc/mounts || mount -t hugetlbfs none $HUGE
	if grep -q " $HUGE hugetlbfs " /proc/mounts; then
		tap_ok "hugetlbfs mounted on $HUGE ($(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages) free 2 MiB pages)"
	else
		tap_not_ok "hugetlbfs mounted on $HUGE"
	fi
	;;
esac
case " $BOOT_CASES " in
*" nested "*)
	mkdir -p /tmp/l2disk
	cp /guest/Image /tmp/l2disk/Image
	cp /guest/l1.cpio /tmp/l2disk/l2.cpio
	tar -cf /tmp/l2disk.img -C /tmp/l2disk Image l2.cpio
	rm -rf /tmp/l2disk
	;;
esac

# case_args CASE: A (lkvm run arguments), MARK, RAM (MiB), LIMIT (s).
case_args() {
	local linux="-i /guest/l1.cpio -m 256 -p quiet"
	MARK="GUEST: init" RAM=256 LIMIT=300
	case $1 in *-scrubbed) set -- "${1%-scrubbed}" ;; esac
	case $1 in
	payload) A="-k /guest/payload.bin -m 64 -c 1" MARK="PAYLOAD: hello" RAM=64 LIMIT=60 ;;
	payload-2g) A="-k /guest/payload.bin -m 2048 -c 1" MARK="PAYLOAD: hello" RAM=2048 LIMIT=60 ;;
	payload-c8) A="-k /guest/payload.bin -m 64 -c 8" MARK="PAYLOAD: hello" RAM=64 LIMIT=60 ;;
	linux-c1) A="-k /guest/Image $linux -c 1" ;;
	linux-c2) A="-k /guest/Image $linux -c 2" ;;
	gz-c1) A="-k /guest/Image.gz $linux -c 1" ;;
	gz-c2) A="-k /guest/Image.gz $linux -c 2" ;;
	hugetlbfs) A="-k /guest/Image $linux -c 1 --hugetlbfs $HUGE" ;;
	nested)
		A="-k /guest/Image -i /guest/l1n.cpio -m 768 -c 2 --nested -d /tmp/l2disk.img,ro"
		A="$A -p quiet\ kvm-arm.mode=nested\ lkvm.script=bootbench"
		RAM=768 LIMIT=1500
		;;
	*) return 1 ;;
	esac
}

# one CASE RUN: one boot, its record and its point.
one() {
	local c="$1" r="$2" k a b vm="" rec st
	if ! case_args "$c"; then
		tap_not_ok "case $c is known (payload payload-2g payload-c8 linux-c1 linux-c2 gz-c1 gz-c2 hugetlbfs nested, each also CASE-scrubbed)"
		return 1
	fi
	case $c in
	*-scrubbed) dd if=/dev/zero of=/dev/null bs="${BOOT_SCRUB_MIB}M" count=1 2>/dev/null ;;
	esac
	vm_snap va
	# The -p value has escaped spaces: eval splits A the way it is written.
	eval "bb_boot r$r-$c $LIMIT \"\$MARK\" $RAM $A"
	vm_snap vb
	for k in $VMKEYS; do
		eval "a=\${va_$k:-0} b=\${vb_$k:-0}"
		vm="$vm vm_$k=$((b - a))"
	done
	rec=${BB_REC#bootrec }
	rec=${rec#* }
	echo "boot case=$c run=$r $rec$vm" >>"$RESULTS"
	if [ "$c" = nested ]; then
		tr -d '\r' <"$BB_LOG" | sed -n 's/^GUEST: bootrec \([^ ]*\) \(.*\)/boot case=nested-\1 run='"$r"' \2/p' \
			>>"$RESULTS"
	fi
	st=$(_field " $rec" status)
	if [ "$st" = 0 ] && [ "$(_field " $rec" init_s)" != "?" ] &&
		[ "$(_field " $rec" first_run_ms)" != "?" ] && [ "$(_field " $rec" comm)" = lkvm ]; then
		if [ "$c" = nested ] && [ "$(grep -c 'GUEST: bootrec .* status=0 ' "$BB_LOG")" -lt 2 ]; then
			tap_not_ok "$c run $r: the L1 and its L2 payload and L2 Linux produced numbers" \
				"$(grep 'GUEST: bootrec' "$BB_LOG")"
			diag_file "$BB_LOG" 20
			return 1
		fi
		tap_ok "$c run $r: numbers (first KVM_RUN $(_field " $rec" first_run_ms) ms, init $(_field " $rec" init_s) s)"
		return 0
	fi
	tap_not_ok "$c run $r: lkvm exits 0 and the guest reaches '$MARK'" "record: $rec" \
		"command: lkvm run $A"
	diag_file "$BB_LOG" 20
	return 1
}

_now
t_all=$NOW_CS
r=1
while [ "$r" -le "$BOOT_RUNS" ]; do
	for c in $BOOT_CASES; do
		[ "$c" = nested ] && [ "$r" -gt "$BOOT_NESTED_RUNS" ] && continue
		one "$c" "$r"
	done
	r=$((r + 1))
done
_now
echo "series secs=$(fmt_cs $((NOW_CS - t_all)))" >>"$RESULTS"

# The host kernel's bare cost of each VM shape (tests/tools/vm-cost).
if command -v vm-cost >/dev/null; then
	for shape in "linux-c1 --mem 256 --cpus 1" "linux-c2 --mem 256 --cpus 2" \
		"nested --el2 --mem 768 --cpus 2"; do
		set -- $shape
		name=$1
		shift
		echo "vmcost shape=$name $(vm-cost --run "$@" 2>&1)" >>"$RESULTS"
	done
fi
rm -f /tmp/l2disk.img
note "bench-boot: the series took $(fmt_cs $((NOW_CS - t_all)))s in L0"
