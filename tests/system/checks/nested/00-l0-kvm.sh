# The L0 host itself, before any lkvm: KVM is there, in nested (NV2) mode.
# Proves the profile's premise; needs no lkvm.

dmesg >"$ART/dmesg.txt"

if [ -c /dev/kvm ]; then
	tap_ok "/dev/kvm is a character device"
else
	tap_not_ok "/dev/kvm is a character device" "$(ls -l /dev/kvm 2>&1)"
fi

if grep -q 'VHE+NV2 mode initialized successfully' "$ART/dmesg.txt"; then
	tap_ok "L0 KVM initialised in VHE+NV2 mode (kvm-arm.mode=nested)"
else
	tap_not_ok "L0 KVM initialised in VHE+NV2 mode (kvm-arm.mode=nested)" \
		"L0 kernel log, kvm lines:" "$(grep -i 'kvm' "$ART/dmesg.txt" | tail -n 10)"
fi

# KVM_CAP_ARM_EL2 = 240, KVM_CAP_ARM_VM_IPA_SIZE = 165 (include/uapi/linux/kvm.h)
if [ -x /bin/kvmcap ]; then
	caps=$(kvmcap 240 165 2>&1)
	echo "$caps"
	expect_eq "KVM_CAP_ARM_EL2 is 1" "$(echo "$caps" | sed -n 's/^240=//p')" 1
	note "L0 KVM: $(kvmcap 2>&1) ipa_size=$(echo "$caps" | sed -n 's/^165=//p')"
else
	tap_skip "KVM_CAP_ARM_EL2 is 1" "kvmcap not built (no arm64 cross compiler on the host)"
fi
