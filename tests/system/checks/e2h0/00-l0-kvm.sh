# The E2H0 profile's host: kvm-arm.mode=nested on a CPU without LPA2, so
# the host's PA size is 48 bits, not 52.  On an LPA2 host (the nested
# profile's), every TLBI VMALLS12E1IS of an E2H0 L1 makes the L0 kernel
# unmap and flush the shadow stage-2 over the host's whole PA range, 2^52
# bytes in 8 GiB steps, which under TCG never ends (see 10-e2h0.sh).
# Proves the premise: EL2, E2H0 and a 48-bit maximum IPA.

dmesg >"$ART/dmesg.txt"
if grep -q 'VHE+NV2 mode initialized successfully\|NV2' "$ART/dmesg.txt"; then
	tap_ok "L0 KVM initialised with nested virtualisation"
else
	tap_not_ok "L0 KVM initialised with nested virtualisation" \
		"L0 kernel log, kvm lines:" "$(grep -i 'kvm' "$ART/dmesg.txt" | tail -n 10)"
fi
# KVM_CAP_ARM_EL2 = 240, KVM_CAP_ARM_EL2_E2H0 = 241, KVM_CAP_ARM_VM_IPA_SIZE = 165
caps=$(kvmcap 240 241 165 2>&1)
echo "$caps"
expect_eq "KVM_CAP_ARM_EL2 is 1" "$(echo "$caps" | sed -n 's/^240=//p')" 1
expect_eq "KVM_CAP_ARM_EL2_E2H0 is 1" "$(echo "$caps" | sed -n 's/^241=//p')" 1
expect_eq "the host's IPA limit is 48 bits (no LPA2)" "$(echo "$caps" | sed -n 's/^165=//p')" 48
