# check-timeout: 900
# lkvm run --nested: an L1 hypervisor.  L1 boots the Debian kernel with
# kvm-arm.mode=nested on 2 vCPUs that start at EL2; its KVM comes up in
# VHE+NV2 mode with /dev/kvm; "lkvm check" inside L1 reports EL2; the same
# lkvm binary boots an L2 payload and an L2 Linux in it; L2 and L1 power
# off and every lkvm exits 0.  Then the L0 lkvm's exit after L1's poweroff
# is held to the host kernel's own cost of destroying an equivalent EL2 VM
# (tests/tools/vm-cost) plus one second.  The L2's kernel and initrd reach
# L1 on a virtio-blk disk (-d, read-only).

mem=768
params="quiet kvm-arm.mode=nested lkvm.script=nested lkvm.l2=linux"
# The L2's kernel and initrd reach L1 on a virtio-blk disk: a tar of them.
mkdir -p /tmp/l2disk
cp /guest/Image.gz /tmp/l2disk/Image.gz
cp /guest/l1.cpio /tmp/l2disk/l2.cpio
tar -cf /tmp/l2disk.img -C /tmp/l2disk Image.gz l2.cpio
rm -rf /tmp/l2disk
# SVE hidden and a 40-bit IPA: the L1 hypervisor must agree (cpuinfo, its
# KVM's IPA limit follows the PARange lkvm set).
run_guest nested-l1 800 -k /guest/Image -i /guest/l1n.cpio -p "$params" \
	-m $mem -c 2 --nested --ipa-bits 40 --cpu-feature ID_AA64PFR0_EL1.SVE=0 \
	-d /tmp/l2disk.img,ro --loglevel info

expect_exit "lkvm --nested exits 0 after L1 (and its L2s) power off" 0
expect_guest_field "L1 started at EL2 on all CPUs" el 2
expect_guest_field "L1 has both vCPUs (-c 2)" cpus 2
expect_saw "L1's KVM initialised at EL2 with NV (VHE+NV2)" 'GUEST: kvm-init VHE+NV2 mode initialized successfully'
expect_saw "/dev/kvm exists in L1" 'GUEST: kvm-dev=yes'
expect_saw "lkvm check --nested inside L1 succeeds" 'GUEST: check-nested-exit=0'
expect_saw "lkvm check inside L1 reports EL2" 'GUEST: check-el2=1'
expect_saw "L1's /proc/cpuinfo has no SVE (--cpu-feature ID_AA64PFR0_EL1.SVE=0)" 'GUEST: cpuinfo-sve=no'
expect_saw "L1's KVM reports the 40-bit IPA limit lkvm gave it" 'GUEST: kvm-ipa-limit=40'
expect_saw "lkvm check inside L1 reports max_ipa_bits 40" 'GUEST: check-ipa=40'
expect_saw "the L2 payload's lkvm exits 0 inside L1" 'GUEST: l2-payload-exit=0 '
expect_saw "the L2 payload runs at EL1" 'GUEST: l2: PAYLOAD: CurrentEL=1'
expect_saw "L1 got the L2 kernel and initrd from its virtio-blk disk" 'GUEST: l2-from-disk ok'
expect_saw "L2 Linux reaches init inside L1" 'GUEST: l2: GUEST: init '
expect_saw "L2 Linux powers off and its lkvm exits 0 inside L1" 'GUEST: l2-linux-exit=0 '
rm -f /tmp/l2disk.img

# Wall times for the note: L1 to init, L2 to init (from its lkvm's start).
l2=$(sed -n 's/.*GUEST: l2-linux-exit=[0-9]* start=\([0-9.]*\) end=\([0-9.]*\).*/\1 \2/p' "$GUEST_LOG")
[ -n "$l2" ] && note "L2 Linux run inside L1 (start end, L1 uptime): $l2"

# Teardown.  The kernel's own cost of destroying this VM is the close() of
# its last fd, which lkvm times and logs ("VM <s>"); lkvm may add at most
# one second to it between the guest's poweroff and its own exit.  The
# bare cost of a minimal equivalent EL2 VM (tests/tools/vm-cost) is noted
# beside it: it cannot carry the shadow stage-2 state an L1 that ran L2s has.
off=$(sed -n 's/^lkvm: guest powered off at \([0-9.]*\) .*/\1/p' "$GUEST_LOG" | tail -n 1)
vm=$(sed -n 's/^lkvm: teardown took .* VM \([0-9.]*\) s.*/\1/p' "$GUEST_LOG" | tail -n 1)
if [ -z "$off" ] || [ -z "$vm" ] || [ -z "$GUEST_END_UPTIME" ]; then
	tap_not_ok "lkvm exits within the kernel's VM-destroy cost + 1 s" \
		"no poweroff/teardown times in the log (off='$off', vm='$vm', end='$GUEST_END_UPTIME')"
else
	teardown=$(awk -v a="$off" -v b="$GUEST_END_UPTIME" 'BEGIN { printf "%.2f", b - a }')
	bare=$(vm-cost --el2 --run --mem $mem --cpus 2 2>&1)
	note "teardown after L1 poweroff: ${teardown}s, of which the kernel's VM destroy ${vm}s;" \
		"bare EL2 VM ($mem MiB, 2 vCPUs, never ran an L2): $bare"
	expect_range "lkvm exits within the kernel's VM-destroy cost + 1 s (centiseconds over)" \
		"$(awk -v t="$teardown" -v v="$vm" 'BEGIN { d = (t - v) * 100; printf "%d", d < 0 ? 0 : d }')" 0 100
fi
