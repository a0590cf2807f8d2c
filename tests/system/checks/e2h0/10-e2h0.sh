# check-timeout: 400
# lkvm run --nested --e2h0: a non-VHE L1 hypervisor (KVM_ARM_VCPU_HAS_EL2 +
# HAS_EL2_E2H0).  The L1 kernel boots without kvm-arm.mode=nested (an E2H0
# hypervisor cannot offer NV itself); its KVM must come up in nVHE mode at
# EL2, and the same lkvm inside it must run an L2 payload at EL1.  Then L1
# powers off and both lkvm processes exit 0.
#
# Why this profile's L0 has no LPA2: an nVHE L1 issues TLBI VMALLS12E1IS
# (and ALLE1IS) where a VHE one does not, and the L0 kernel (7.3) emulates
# each by unmapping and flushing the shadow stage-2 over the host's whole
# PA range, BIT(host PA bits), in 8 GiB range-TLBI steps without a signal
# check.  With LPA2 that is 2^19 steps per guest TLBI, each a TLB flush of
# every emulated CPU under TCG: the L0 vCPU thread spins in
# __kvm_tlb_flush_vmid_range and even SIGKILL waits.  With 48 bits it is
# 2^15 steps and the L1 boots.  Neither the guest's command line (it hangs
# with and without kvm-arm.mode=nested, with PARange lowered to 32 bits)
# nor the VMM decides that range: the host kernel does.

mem=512
run_guest e2h0-l1 360 -k /guest/Image -i /guest/l1n.cpio -p "quiet lkvm.script=nested" \
	-m $mem -c 1 --nested --e2h0 --loglevel info

expect_exit "lkvm --nested --e2h0 exits 0 after L1 powers off" 0
expect_guest_field "the E2H0 L1 started at EL2" el 2
expect_saw "the E2H0 L1's KVM initialised in nVHE mode" 'GUEST: kvm-init Hyp nVHE mode initialized successfully'
expect_saw "/dev/kvm exists in the E2H0 L1" 'GUEST: kvm-dev=yes'
expect_saw "lkvm check inside the E2H0 L1 reports no EL2 for its guests" 'GUEST: check-el2=0'
expect_saw "the L2 payload's lkvm exits 0 inside the E2H0 L1" 'GUEST: l2-payload-exit=0 '
expect_saw "the L2 payload runs at EL1 under the E2H0 L1" 'GUEST: l2: PAYLOAD: CurrentEL=1'

l2=$(sed -n 's/.*GUEST: l2-payload-exit=[0-9]* start=\([0-9.]*\) end=\([0-9.]*\).*/\1 \2/p' "$GUEST_LOG")
[ -n "$l2" ] && note "L2 payload inside the E2H0 L1 (start end, L1 uptime): $l2"
off=$(sed -n 's/^lkvm: guest powered off at \([0-9.]*\) .*/\1/p' "$GUEST_LOG" | tail -n 1)
[ -n "$off" ] && [ -n "$GUEST_END_UPTIME" ] &&
	note "teardown after the E2H0 L1's poweroff: $(awk -v a="$off" -v b="$GUEST_END_UPTIME" 'BEGIN { printf "%.2f", b - a }')s"
