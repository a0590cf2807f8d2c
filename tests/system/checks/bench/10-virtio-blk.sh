# check-timeout: 5000
# shellcheck shell=sh disable=SC3043,SC2034 # ash has local
# The virtio-blk benchmark (make bench; this profile is opt-in, so make
# check never runs it).  Numbers, not a pass/fail test: the points only say
# that each cell produced its numbers (or that lkvm refused it).
#
# For each backing x transport x engine (x cache mode, x run) it boots a
# small, quiet L1 guest (1 vCPU, 256 MiB, no console chatter) with one disk,
# -d DISK,engine=E[,direct], and the guest runs blkbench on /dev/vda
# (guest/scripts/bench).  This shell reads lkvm's console through a FIFO
# and, at each of blkbench's "BENCH: begin/end" marker lines, samples:
#   - every lkvm thread's on-CPU time, /proc/PID/task/*/schedstat (ns);
#     the vCPU threads are those with guest time (stat field 43), the
#     rest are the I/O thread, the disk engine's helpers and io_uring's
#     io-wq workers (which exit only after 5 s idle, longer than a phase
#     lasts, so none of their time goes missing between two samples);
#   - the vCPU threads' time in guest mode (stat field 43, clock ticks);
#   - lkvm's utime+stime (/proc/PID/stat, dead threads included, ticks);
#   - L0's busy time over all CPUs (/proc/stat, ticks).
# One line per phase goes to $ART/results.txt, and per cell one line of
# lkvm's own counters (kicks, chains, interrupts, engine submissions,
# system calls: the "virtio-blk 0: counters:" line it logs at exit);
# tests/bench/report makes the tables from them.  A transport or option
# lkvm refuses gives a "refused" line with lkvm's message instead.
#
# Backings: "tmpfs", an image file on a tmpfs mounted in L0 (RAM: the
# best case, no device below); "vdisk", L0's own virtio-blk disk (QEMU
# virtio-blk-pci, checks/bench/l0-disk, a raw file on this machine's disk
# opened by QEMU with cache=none), used as a block device.
#
# Knobs (the environment, from make bench through SYSTEM_EXPORT):
#   BENCH_ENGINES (auto io_uring aio sync; auto: no engine=, lkvm picks)
#   BENCH_TRANSPORTS (mmio pci)        BENCH_BACKINGS (tmpfs vdisk)
#   BENCH_CACHE (direct; or buffered)  BENCH_TMPFS_CACHE (direct buffered)
#   BENCH_RUNS (1)  BENCH_SECS (3)  BENCH_QD (16)  BENCH_SEQ_QD (4)
#   BENCH_SEQ_BS (1M)  BENCH_DISK_MIB (256; the vdisk is what l0-disk says)

: "${BENCH_ENGINES:=auto io_uring aio sync}"
: "${BENCH_TRANSPORTS:=mmio pci}"
: "${BENCH_BACKINGS:=tmpfs vdisk}"
: "${BENCH_CACHE:=direct}"
: "${BENCH_TMPFS_CACHE:=direct buffered}"
: "${BENCH_RUNS:=1}"
: "${BENCH_SECS:=3}"
: "${BENCH_QD:=16}"
: "${BENCH_SEQ_QD:=4}"
: "${BENCH_SEQ_BS:=1M}"
: "${BENCH_DISK_MIB:=256}"
BENCH_PHASES=4
RESULTS=$ART/results.txt
CR=$(printf '\r')
: >"$RESULTS"

note "bench: engines '$BENCH_ENGINES', transports '$BENCH_TRANSPORTS', backings '$BENCH_BACKINGS'," \
	"cache '$BENCH_CACHE', $BENCH_RUNS run(s), ${BENCH_SECS}s per phase, qd $BENCH_QD/$BENCH_SEQ_QD"
{
	echo "config engines=$BENCH_ENGINES"
	echo "config transports=$BENCH_TRANSPORTS"
	echo "config backings=$BENCH_BACKINGS"
	# Every mode some backing uses, for the report's columns.
	all_cache=$BENCH_CACHE
	for c in $BENCH_TMPFS_CACHE; do
		case " $all_cache " in *" $c "*) ;; *) all_cache="$all_cache $c" ;; esac
	done
	echo "config cache=$all_cache"
	echo "config runs=$BENCH_RUNS secs=$BENCH_SECS qd=$BENCH_QD seq_qd=$BENCH_SEQ_QD seq_bs=$BENCH_SEQ_BS"
	echo "config l0_cpus=$(grep -c '^processor' /proc/cpuinfo) l0_kernel=$(uname -r)"
} >>"$RESULTS"

# ---- sampling -----------------------------------------------------------------

# bench_sample PID: S_ALL, S_VCPU (ns on CPU: all threads, vCPU threads),
# S_GUEST (the vCPU threads' guest time, ticks), S_NTHR, S_PROC (lkvm's
# utime+stime, ticks), S_BUSY and S_TOTAL (L0's busy and all CPU ticks),
# S_CS (uptime, centiseconds).  Builtins only: no fork while the guest runs.
bench_sample() {
	local t run rest st
	S_ALL=0 S_VCPU=0 S_GUEST=0 S_NTHR=0 S_PROC=0
	# No set -f: the glob must expand; the fields split below have no glob
	# characters ("(lkvm)", "(iou-wrk-N)", numbers).
	for t in /proc/"$1"/task/*; do
		read -r run rest <"$t/schedstat" 2>/dev/null || continue
		read -r st <"$t/stat" 2>/dev/null || continue
		# shellcheck disable=SC2086 # split into fields
		set -- $st
		S_ALL=$((S_ALL + run))
		S_NTHR=$((S_NTHR + 1))
		if [ "${43:-0}" -gt 0 ]; then
			S_VCPU=$((S_VCPU + run))
			S_GUEST=$((S_GUEST + ${43}))
		fi
	done
	if read -r st <"/proc/$1/stat" 2>/dev/null; then
		# shellcheck disable=SC2086
		set -- $st
		S_PROC=$((${14} + ${15}))
	fi
	read -r st </proc/stat
	# shellcheck disable=SC2086 # "cpu user nice system idle iowait irq softirq steal ..."
	set -- $st
	S_BUSY=$(($2 + $3 + $4 + $7 + $8 + $9))
	S_TOTAL=$((S_BUSY + $5 + $6))
	_now
	S_CS=$NOW_CS
}

# ---- one cell -----------------------------------------------------------------

# bench_cell RUN BACKING DISK TRANSPORT ENGINE CACHE: boot the guest, run
# blkbench, record its phases; one test point.
bench_cell() {
	local run="$1" backing="$2" disk="$3" transport="$4" engine="$5" cache="$6"
	local name="r$1-$2-$4-$5-$6" tag log fifo pid st line phase="" nph=0 comm dopt
	local b_all b_vcpu b_guest b_proc b_busy b_total b_cs msg t0 used want
	tag="run=$run backing=$backing transport=$transport engine=$engine cache=$cache"
	log=$ART/$name.log
	fifo=/tmp/bench.fifo
	dopt=$disk
	[ "$engine" = auto ] || dopt="$dopt,engine=$engine"
	[ "$cache" = direct ] && dopt="$dopt,direct"
	set -- -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 \
		-p "quiet loglevel=1 lkvm.script=bench lkvm.bench_secs=$BENCH_SECS lkvm.bench_qd=$BENCH_QD lkvm.bench_seq_qd=$BENCH_SEQ_QD lkvm.bench_seq_bs=$BENCH_SEQ_BS" \
		-d "$dopt" --virtio-transport "$transport" --loglevel info
	printf '%s\n' "lkvm run $*" >"$ART/$name.cmd"
	echo "cell $tag" >>"$RESULTS"
	rm -f "$fifo"
	mkfifo "$fifo" || { tap_not_ok "$tag: mkfifo $fifo"; return 1; }
	: >"$log"
	_now
	t0=$NOW_CS
	# busybox timeout execs lkvm in this very process (and setsid keeps the
	# pid), so $! is lkvm's pid; checked below through /proc/PID/comm.
	timeout -s KILL 400 setsid "$LKVM" run "$@" </dev/null >"$fifo" 2>&1 &
	pid=$!
	comm=
	while IFS= read -r line; do
		line=${line%"$CR"}
		printf '%s\n' "$line" >>"$log"
		case $line in
		*"BENCH: begin phase="*)
			[ -n "$comm" ] || read -r comm <"/proc/$pid/comm"
			bench_sample "$pid"
			phase=${line##*phase=}
			b_all=$S_ALL b_vcpu=$S_VCPU b_guest=$S_GUEST b_proc=$S_PROC
			b_busy=$S_BUSY b_total=$S_TOTAL b_cs=$S_CS
			;;
		*"BENCH: end phase="*)
			bench_sample "$pid"
			if [ -z "$phase" ] || [ "$phase" != "$(_field " ${line#*BENCH: end }" phase)" ]; then
				echo "bench: end without its begin: $line"
				continue
			fi
			printf 'phase %s %s threads=%s win_cs=%s lkvm_ns=%s vcpu_ns=%s vcpu_guest_ticks=%s proc_ticks=%s l0_busy_ticks=%s l0_total_ticks=%s\n' \
				"$tag" "${line#*BENCH: end }" "$S_NTHR" $((S_CS - b_cs)) $((S_ALL - b_all)) \
				$((S_VCPU - b_vcpu)) $((S_GUEST - b_guest)) $((S_PROC - b_proc)) \
				$((S_BUSY - b_busy)) $((S_TOTAL - b_total)) >>"$RESULTS"
			# A phase counts only with both ends sampled.
			[ "$S_NTHR" -gt 0 ] && [ "$S_ALL" -gt "$b_all" ] && nph=$((nph + 1))
			phase=
			;;
		esac
	done <"$fifo"
	wait "$pid"
	st=$?
	rm -f "$fifo"
	# lkvm's own counters for the whole cell (boot included), logged at exit.
	line=$(tr -d '\r' <"$log" | grep -m 1 'virtio-blk 0: counters:')
	if [ -n "$line" ]; then
		used=$(tr -d '\r' <"$log" | grep -m 1 'virtio-blk 0: .*engine ' | sed 's/.*engine \([a-z_]*\).*/\1/')
		echo "counters $tag engine_used=${used:-?} ${line#*counters: }" >>"$RESULTS"
	fi
	_now
	note "bench: $name: lkvm exit $st after $(fmt_cs $((NOW_CS - t0)))s, $nph phases"

	# Refused before any guest ran: a transport (or option) this lkvm lacks.
	if [ "$st" != 0 ] && ! grep -q 'GUEST: init' "$log"; then
		msg=$(tr -d '\r' <"$log" | grep -m 1 '^lkvm:')
		if [ -n "$msg" ]; then
			echo "refused $tag msg=${msg#lkvm: }" >>"$RESULTS"
			tap_skip "$tag: numbers" "lkvm refused it: ${msg#lkvm: }"
			return 0
		fi
	fi
	want=$engine
	[ "$engine" = auto ] && want=
	if [ "$nph" = "$BENCH_PHASES" ] && [ "$st" = 0 ] && [ "$comm" = lkvm ] &&
		grep -q "virtio-blk 0: .*engine $want" "$log"; then
		tap_ok "$tag: $nph phases produced numbers"
		return 0
	fi
	echo "failed $tag phases=$nph status=$st" >>"$RESULTS"
	tap_not_ok "$tag: $BENCH_PHASES phases produced numbers" \
		"phases with numbers (guest's and lkvm's CPU time): $nph of $BENCH_PHASES; lkvm exit status $st" \
		"sampled pid $pid is '${comm:-?}' (must be lkvm)" "command: $(cat "$ART/$name.cmd")"
	grep -q "virtio-blk 0: .*engine $want" "$log" || diag "lkvm did not report engine $engine"
	diag_file "$log" 20
	return 1
}

# ---- backings -----------------------------------------------------------------

# bench_backing NAME: DISK = the disk to give lkvm, or empty with a failing
# point (the backing was asked for and is missing).
bench_backing() {
	local d s i
	DISK=
	case $1 in
	tmpfs)
		mkdir -p /bench
		if ! grep -q ' /bench tmpfs ' /proc/mounts; then
			mount -t tmpfs -o size=$((BENCH_DISK_MIB + 16))m lkvm-bench /bench || {
				tap_not_ok "backing tmpfs: mount a tmpfs on /bench"
				return 1
			}
		fi
		# Written, not sparse: reads must find pages, not holes.
		dd if=/dev/zero of=/bench/disk.img bs=1M count="$BENCH_DISK_MIB" 2>/dev/null || {
			tap_not_ok "backing tmpfs: write a ${BENCH_DISK_MIB} MiB image on /bench"
			return 1
		}
		DISK=/bench/disk.img
		;;
	vdisk)
		[ -e /sys/module/virtio_blk ] || insmod /lib/modules/virtio_blk.ko 2>/dev/null
		for d in /sys/block/vd*; do
			[ -r "$d/serial" ] || continue
			read -r s <"$d/serial"
			[ "$s" = l0-disk ] && DISK=/dev/${d##*/}
		done
		i=0
		while [ -z "$DISK" ] && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
			for d in /sys/block/vd*; do
				[ -r "$d/serial" ] && read -r s <"$d/serial" && [ "$s" = l0-disk ] &&
					DISK=/dev/${d##*/}
			done
		done
		if [ -z "$DISK" ] || [ ! -b "$DISK" ]; then
			tap_not_ok "backing vdisk: L0 has its virtio-blk disk (serial l0-disk)" \
				"no /sys/block/vd*/serial says l0-disk: is checks/bench/l0-disk there," \
				"and /lib/modules/virtio_blk.ko in L0?"
			DISK=
			return 1
		fi
		;;
	*)
		tap_not_ok "backing $1: known (tmpfs, vdisk)"
		return 1
		;;
	esac
	echo "backing name=$1 disk=$DISK bytes=$(blockdev --getsize64 "$DISK" 2>/dev/null || stat -c %s "$DISK")" \
		>>"$RESULTS"
	return 0
}

# ---- the matrix ---------------------------------------------------------------

_now
t_all=$NOW_CS
run=1
while [ "$run" -le "$BENCH_RUNS" ]; do
	for backing in $BENCH_BACKINGS; do
		bench_backing "$backing" || continue
		for transport in $BENCH_TRANSPORTS; do
			caches=$BENCH_CACHE
			[ "$backing" = tmpfs ] && caches=$BENCH_TMPFS_CACHE
			for engine in $BENCH_ENGINES; do
				for cache in $caches; do
					bench_cell "$run" "$backing" "$DISK" "$transport" "$engine" "$cache"
				done
			done
		done
	done
	run=$((run + 1))
done
_now
echo "matrix secs=$(fmt_cs $((NOW_CS - t_all)))" >>"$RESULTS"
note "bench: the matrix took $(fmt_cs $((NOW_CS - t_all)))s in L0"
