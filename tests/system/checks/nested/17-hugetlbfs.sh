# check-timeout: 500
# shellcheck shell=sh disable=SC3043 # ash has local
# --hugetlbfs: guest RAM from L0's huge pages (l0-cmdline: hugepages=300,
# 2 MiB each; mounted here on /dev/hugepages).  A plain guest and a
# --nested L1 (which runs the L2 payload) boot with it: while each runs,
# its whole RAM is held by the pool (free minus reserved pages drop by the
# guest's size), and every page is back after it exits.  Refused before
# any VM, exit status 1 with the fix in the message: a directory that is
# not on hugetlbfs, and more RAM than the pool has free; an empty DIR is
# a command-line error (exit status 2).

HUGE=/dev/hugepages
POOL=/sys/kernel/mm/hugepages/hugepages-2048kB
mkdir -p $HUGE
grep -q " $HUGE hugetlbfs " /proc/mounts || mount -t hugetlbfs none $HUGE
read -r NR <$POOL/nr_hugepages
expect_eq "L0 has its pool of 300 huge pages of 2 MiB (hugepages=300) on a hugetlbfs at $HUGE" \
	"$NR $(grep -c " $HUGE hugetlbfs " /proc/mounts)" "300 1"

# pool_avail: free pages nobody has reserved.
pool_avail() {
	local free resv
	read -r free <$POOL/free_hugepages
	read -r resv <$POOL/resv_hugepages
	echo $((free - resv))
}

# huge_run NAME TIMEOUT_S ARGS...: run_guest's results (GUEST_LOG,
# GUEST_STATUS, ...), and AVAIL_AT_INIT = pool_avail when the guest printed
# its init line.  The console comes through a FIFO: blocking, no polling.
huge_run() {
	local name="$1" limit="$2" fifo line pid
	shift 2
	GUEST_NAME=$name
	GUEST_LOG=$ART/$name.log
	GUEST_TIMED_OUT=
	AVAIL_AT_INIT=
	fifo=$ART/$name.fifo
	printf '%s\n' "lkvm run $*" >"$ART/$name.cmd"
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout -s KILL "$limit" setsid "${LKVM:-lkvm}" run "$@" </dev/null >"$fifo" 2>&1 &
	pid=$!
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		*"GUEST: init "*) [ -n "$AVAIL_AT_INIT" ] || AVAIL_AT_INIT=$(pool_avail) ;;
		esac
	done <"$fifo" >"$GUEST_LOG"
	wait "$pid"
	GUEST_STATUS=$?
	rm -f "$fifo"
	[ "$GUEST_STATUS" = 137 ] && GUEST_TIMED_OUT=1
	guest_report
	note "$CHECK/$name: lkvm exit $GUEST_STATUS; pool pages free and unreserved at init: ${AVAIL_AT_INIT:-never}"
}

huge_run plain 200 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 --hugetlbfs $HUGE \
	--loglevel info
expect_exit "plain guest on hugetlbfs: lkvm exits 0" 0
expect_saw "plain guest on hugetlbfs: reached init" 'GUEST: init '
expect_saw "plain guest on hugetlbfs: lkvm says where its RAM is" \
	"lkvm: guest RAM: 256 MiB on hugetlbfs $HUGE, 128 pages of 2048 KiB"
expect_eq "plain guest on hugetlbfs: its 128 pages are held by the guest while it runs" \
	"$AVAIL_AT_INIT" $((NR - 128))
expect_eq "plain guest on hugetlbfs: all 300 pages are free again after lkvm exits" \
	"$(pool_avail) $(cat $POOL/free_hugepages)" "$NR $NR"

if has_payload; then
	huge_run nested 400 -k /guest/Image -i /guest/l1n.cpio -m 512 -c 2 --nested \
		-p "quiet kvm-arm.mode=nested lkvm.script=nested" --hugetlbfs $HUGE --loglevel info
	expect_exit "--nested L1 on hugetlbfs: lkvm exits 0 after L1 powers off" 0
	expect_guest_field "--nested L1 on hugetlbfs: L1 started at EL2" el 2
	expect_saw "--nested L1 on hugetlbfs: L1's KVM came up (VHE+NV2)" \
		'GUEST: kvm-init VHE+NV2 mode initialized successfully'
	expect_saw "--nested L1 on hugetlbfs: the L2 payload's lkvm exits 0 inside L1" \
		'GUEST: l2-payload-exit=0 '
	expect_eq "--nested L1 on hugetlbfs: its 256 pages are held while it runs" \
		"$AVAIL_AT_INIT" $((NR - 256))
	expect_eq "--nested L1 on hugetlbfs: all pages are free again after lkvm exits" \
		"$(pool_avail)" "$NR"
else
	tap_skip "--nested L1 on hugetlbfs" "no payload.bin (GUEST_DIR not given to tests/system/run)"
fi

# Refusals: host facts exit 1, the command line's mistakes 2.
expect_refused "--hugetlbfs on a directory that is not hugetlbfs: exit 1, naming it and the mount" 1 \
	'--hugetlbfs /tmp: not a hugetlbfs mount.*mount -t hugetlbfs' not-hugetlbfs 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 --hugetlbfs /tmp
expect_refused "--hugetlbfs with too few free pages: exit 1 with the need and the fix" 1 \
	"needs 512 free huge pages of 2 MiB and the host has $NR.*echo 512 > $POOL/nr_hugepages.*hugepages=512" \
	too-few 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 1024 -c 1 --hugetlbfs $HUGE
expect_refused "--hugetlbfs with an empty DIR: a command-line error, exit 2" 2 \
	'--hugetlbfs needs a directory' empty-dir 30 -k /guest/Image --hugetlbfs ''
