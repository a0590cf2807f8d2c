# check-timeout: 900
# lkvm run --nested: an L1 hypervisor.  L1 boots the Debian kernel with
# kvm-arm.mode=nested on 2 vCPUs that start at EL2; its KVM comes up in
# VHE+NV2 mode with /dev/kvm; "lkvm check" inside L1 reports EL2; the same
# lkvm binary boots an L2 payload and an L2 Linux in it; L2 and L1 power
# off and every lkvm exits 0.  Then the L0 lkvm's exit after L1's poweroff
# is held to the host kernel's own cost of destroying an equivalent EL2 VM
# (tests/tools/vm-cost) plus one second.  The L2's kernel and initrd reach
# L1 over 9p (--9p DIR,l2,ro: an L0 directory of hard links to them), and
# L2 pings L1 over vsock (L1 runs lkvm --vsock 4 on its vhost-vsock).

mem=768
params="quiet kvm-arm.mode=nested lkvm.script=nested lkvm.l2=linux lkvm.l2src=9p lkvm.l2vsock=5001"
# The share: the L2's kernel and initrd, linked (the same file system), not copied.
rm -rf /tmp/l2share
mkdir -p /tmp/l2share
ln /guest/Image.gz /tmp/l2share/Image.gz 2>/dev/null || cp /guest/Image.gz /tmp/l2share/
ln /guest/l1.cpio /tmp/l2share/l2.cpio 2>/dev/null || cp /guest/l1.cpio /tmp/l2share/l2.cpio
# SVE hidden and a 40-bit IPA: the L1 hypervisor must agree (cpuinfo, its
# KVM's IPA limit follows the PARange lkvm set).
run_guest nested-l1 800 -k /guest/Image -i /guest/l1n.cpio -p "$params" \
	-m $mem -c 2 --nested --ipa-bits 40 --cpu-feature ID_AA64PFR0_EL1.SVE=0 \
	--9p /tmp/l2share,l2,ro --loglevel info

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
expect_saw "L1 got the L2 kernel and initrd over 9p (--9p, read-only)" \
	'GUEST: l2-from-9p ok Image.gz l2.cpio'
expect_saw "L2 Linux reaches init inside L1" 'GUEST: l2: GUEST: init '
expect_saw "L2 Linux powers off and its lkvm exits 0 inside L1" 'GUEST: l2-linux-exit=0 '
expect_saw "L2's lkvm runs virtio-vsock on L1's vhost-vsock" \
	'GUEST: l2: lkvm: virtio-vsock: guest CID 4, vhost-vsock'
expect_saw "L2 -> L1 over vsock: 200 round trips of 64 bytes, every echo right" \
	'GUEST: l2: GUEST: vsock ping vsock-echo: 200 round trips of 64 bytes to 2:5001 ok'
expect_saw "L2 -> L1 over vsock: 20 round trips of 64 KiB" \
	'GUEST: l2: GUEST: vsock ping-64k vsock-echo: 20 round trips of 65536 bytes to 2:5001 ok'
expect_saw "L1 echoed both of L2's connections (from CID 4)" \
	'GUEST: l2-vsock-served vsock-echo: peer 4:[0-9]* echoed 12800 bytes vsock-echo: peer 4:[0-9]* echoed 1310720 bytes'
v=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*GUEST: l2: GUEST: vsock ping vsock-echo: .* ok \(.*\)/\1/p')
[ -n "$v" ] && note "vsock round trip L2 -> L1, 64 bytes, microseconds: $v"
rm -rf /tmp/l2share

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
