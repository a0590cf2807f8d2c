# The L0 host itself, before any lkvm: KVM is there but not nested, so
# KVM_CAP_ARM_EL2 is 0.  Proves the profile's premise; needs no lkvm.

dmesg >"$ART/dmesg.txt"

if [ -c /dev/kvm ]; then
	tap_ok "/dev/kvm is a character device"
else
	tap_not_ok "/dev/kvm is a character device" "$(ls -l /dev/kvm 2>&1)"
fi

if grep -q 'VHE mode initialized successfully' "$ART/dmesg.txt" &&
	! grep -q 'NV2' "$ART/dmesg.txt"; then
	tap_ok "L0 KVM initialised in VHE mode, without NV2"
else
	tap_not_ok "L0 KVM initialised in VHE mode, without NV2" \
		"L0 kernel log, kvm lines:" "$(grep -i 'kvm' "$ART/dmesg.txt" | tail -n 10)"
fi

# KVM_CAP_ARM_EL2 = 240 (include/uapi/linux/kvm.h)
if [ -x /bin/kvmcap ]; then
	caps=$(kvmcap 240 2>&1)
	echo "$caps"
	expect_eq "KVM_CAP_ARM_EL2 is 0" "$(echo "$caps" | sed -n 's/^240=//p')" 0
else
	tap_skip "KVM_CAP_ARM_EL2 is 0" "kvmcap not built (no arm64 cross compiler on the host)"
fi
