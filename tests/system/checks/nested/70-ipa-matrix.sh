# check-timeout: 300
# IPA matrix: for each size PARange can express, a 2 MiB RAM bank at the
# very top of that range (above 2^48 for 52 bits: the host's KVM offers
# LPA2); lkvm creates the VM with exactly that IPA size, the payload
# writes and reads back the bank's last 8 bytes, and the guest's
# ID_AA64MMFR0_EL1.PARange says exactly that size.  A map that needs more
# bits than --ipa-bits gives is refused before the VM exists.

if ! has_payload; then
	tap_skip "IPA matrix" "no payload.bin (GUEST_DIR not given to tests/system/run)"
	return 0
fi
parange=0
for bits in 32 36 40 42 44 48 52; do
	top=$(printf '0x%x' $(((1 << bits) - 2 * 1024 * 1024)))
	last=$(printf '0x%x' $(((1 << bits) - 8)))
	RUN_GUEST_MARK="PAYLOAD: hello"
	run_guest ipa-$bits 60 -k /guest/payload.bin -m 64 -m "2M@$top" -p "touch=$last" -c 1 \
		--loglevel debug
	expect_exit "$bits-bit IPA: lkvm exits 0 (RAM bank at $top)" 0
	expect_saw "$bits-bit IPA: VM created with a $bits-bit IPA" "VM created, IPA $bits bits"
	expect_saw "$bits-bit IPA: the payload wrote and read back $last" "PAYLOAD: touch $last ok"
	mmfr0=$(sed -n 's/.*PAYLOAD: ID_AA64MMFR0_EL1=0x\([0-9a-f]*\).*/\1/p' "$GUEST_LOG" | tr -d '\r')
	expect_eq "$bits-bit IPA: guest PARange is $parange" "${mmfr0#"${mmfr0%?}"}" "$parange"
	parange=$((parange + 1))
done

expect_refused "a bank at 2^40 - 2 MiB with --ipa-bits 36 is refused" 2 'needs 40 bits' \
	ipa-too-small 30 -k /guest/payload.bin -m 64 -m 2M@0xffffe00000 --ipa-bits 36 -c 1
expect_refused "--ipa-bits 33 is refused (not a PARange size)" 2 '32, 36, 40' \
	ipa-odd 30 -k /guest/payload.bin -m 64 --ipa-bits 33 -c 1
