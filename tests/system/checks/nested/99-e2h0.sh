# check-timeout: 300
# --nested --e2h0: a non-VHE L1 hypervisor (KVM_ARM_VCPU_HAS_EL2_E2H0).
# L1 boots without kvm-arm.mode=nested (an E2H0 hypervisor cannot offer NV
# itself), its KVM should come up in nVHE mode, and lkvm inside it should
# start an L2 payload.
#
# On this emulated host (Linux 7.3.4 L0 under QEMU TCG) it does not: the
# L1's KVM init makes the L0 kernel flush a shadow stage-2 TLB over the
# whole 52-bit IPA space (__kvm_tlb_flush_vmid_range, end = 1 << 52) in a
# loop that never checks for signals, so the L0 lkvm's vCPU thread spins
# in the kernel and even SIGKILL cannot end it.  It happens with or
# without kvm-arm.mode=nested in L1, and with SVE and pointer auth off, so
# it is the host kernel, not the guest's command line or the VMM.  The
# points below are TODO until the host is fixed; the evidence is collected
# each run.  Last in the profile: a wedged vCPU pins one L0 CPU.

TAP_TODO="host kernel bug: L0 KVM flushes a 2^52-byte shadow S2 range for an E2H0 L1 (see 99-e2h0.sh)"
fifo=$ART/e2h0.fifo
rm -f "$fifo"
mkfifo "$fifo"
setsid lkvm run -k /guest/Image -i /guest/l1n.cpio -p "quiet lkvm.script=nested" \
	-m 512 -c 1 --nested --e2h0 --loglevel info </dev/null >"$fifo" 2>&1 &
pid=$!
# Read the console for at most 150 s; never wait on lkvm itself.
timeout 150 sh -c 'while IFS= read -r l; do printf "%s\n" "$l"; case $l in *"GUEST: poweroff"*) exit 0;; esac; done' \
	<"$fifo" >"$ART/e2h0-l1.log"
GUEST_LOG=$ART/e2h0-l1.log
expect_saw "E2H0 L1 reaches init" 'GUEST: init '
expect_saw "E2H0 L1's KVM initialises in nVHE mode" 'GUEST: kvm-init .*nVHE.*initialized successfully'
expect_saw "E2H0 L1 runs an L2 payload with lkvm" 'GUEST: l2: PAYLOAD: CurrentEL=1'
if kill -0 "$pid" 2>/dev/null; then
	stat=$(awk '{ print "state=" $3 " utime=" $14 " stime=" $15 }' /proc/$pid/task/*/stat 2>/dev/null | tr '\n' ';')
	echo 1 >/proc/sys/kernel/sysrq
	echo l >/proc/sysrq-trigger
	sleep 2
	bt=$(dmesg | grep -A12 'NMI backtrace for cpu' | grep -E 'Comm: lkvm|pc :|lr :|x26:' | tail -n 4)
	note "E2H0 L1 still running after 150 s; lkvm threads: $stat" "L0 backtrace: $bt"
	kill -KILL -- "-$pid" 2>/dev/null
fi
TAP_TODO=
