# check-timeout: 120
# --nested starts the vCPU at EL2 (KVM_ARM_VCPU_HAS_EL2): the bare payload
# reads CurrentEL == 2 (and == 1 without it, in 40-payload), and powers off
# through SMC, the conduit an EL2 guest must use (the DT says so).

descs="lkvm --nested exits 0 after the payload powers off
payload runs at EL2 with --nested
payload finished without an exception at EL2"
if ! has_payload; then
	echo "$descs" | while IFS= read -r d; do
		tap_skip "$d" "no payload.bin (GUEST_DIR not given to tests/system/run)"
	done
	return 0
fi

RUN_GUEST_MARK="PAYLOAD: hello"
run_guest payload-el2 90 -k /guest/payload.bin -m 128 -c 1 --nested
expect_exit "lkvm --nested exits 0 after the payload powers off" 0
expect_saw "payload runs at EL2 with --nested" 'PAYLOAD: CurrentEL=2'
if guest_saw 'PAYLOAD: exception'; then
	tap_not_ok "payload finished without an exception at EL2" "$(grep 'PAYLOAD: exception' "$GUEST_LOG")"
else
	expect_saw "payload finished without an exception at EL2" 'PAYLOAD: done'
fi
