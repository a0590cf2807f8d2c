# check-timeout: 120
# A file without the arm64 Image header is booted as a raw payload at the
# start of RAM, with the DTB in x0: the bare-metal payload
# (GUEST_DIR/payload.bin, see tests/guest/README.md) reports through the
# UART and powers off.

descs="lkvm exits 0 after the payload powers off
payload printed hello through the UART
payload runs at EL1
payload got -p in /chosen/bootargs
payload finished without an exception"
if ! has_payload; then
	echo "$descs" | while IFS= read -r d; do
		tap_skip "$d" "no payload.bin (GUEST_DIR not given to tests/system/run)"
	done
	return 0
fi

RUN_GUEST_MARK="PAYLOAD: hello"
run_guest payload 60 -k /guest/payload.bin -p "lkvm-test-bootargs" -m 128 -c 1 --console serial

expect_exit "lkvm exits 0 after the payload powers off" 0
expect_saw "payload printed hello through the UART" 'PAYLOAD: hello'
expect_saw "payload runs at EL1" 'PAYLOAD: CurrentEL=1'
expect_saw "payload got -p in /chosen/bootargs" 'PAYLOAD: bootargs=.*lkvm-test-bootargs'
if guest_saw 'PAYLOAD: exception'; then
	tap_not_ok "payload finished without an exception" "$(grep 'PAYLOAD: exception' "$GUEST_LOG")"
else
	expect_saw "payload finished without an exception" 'PAYLOAD: done'
fi
