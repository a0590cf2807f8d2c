# check-timeout: 400
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-vsock (--vsock CID) through vhost-vsock, between an L1 guest and
# L0.  L0 loads vhost_vsock and listens (tests/tools/vsock-echo); the
# guest (CID 3) connects to the host (CID 2), sends 200 messages of 64
# bytes and 20 of 64 KiB and checks every echo; then it listens and L0
# connects to it.  While it runs, a second lkvm asking for CID 3 is
# refused with a clear error.  The round-trip times are the note's figure.
# Last, CIDs 0-2 exit 2.  (L2 to L1 is in 60-nested.)

mods_ok=1
l0_modules vsock vmw_vsock_virtio_transport_common vhost_iotlb vhost vhost_vsock || mods_ok=0
if [ $mods_ok = 1 ] && [ -c /dev/vhost-vsock ]; then
	tap_ok "L0 has /dev/vhost-vsock (vhost_vsock loaded)"
else
	tap_not_ok "L0 has /dev/vhost-vsock (vhost_vsock loaded)" "$(ls -l /dev/vhost-vsock 2>&1)"
fi
if ! command -v vsock-echo >/dev/null; then
	tap_not_ok "L0 has tests/tools/vsock-echo" "not in /bin: TOOLS_DIR not given to tests/system/run?"
fi

# L0 echoes the guest's two connections.
vsock-echo serve -b 5000 2 >"$ART/l0-serve.log" 2>&1
check "L0 listens on vsock port 5000" grep -q 'serving 5000' "$ART/l0-serve.log"

on_line() {
	case $1 in
	*"GUEST: vsock listening 5002"*)
		vsock-echo ping 3 5002 100 64 >"$ART/l0-ping.log" 2>&1
		echo $? >"$ART/l0-ping.status"
		# The CID is the running guest's: another VM can't have it.
		timeout -s KILL 60 "${LKVM:-lkvm}" run -k /guest/Image -m 64 -c 1 --vsock 3 \
			</dev/null >"$ART/dup.log" 2>&1
		echo $? >"$ART/dup.status"
		;;
	esac
}
react_guest vsock 200 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --loglevel info \
	--vsock 3 -p "quiet lkvm.script=vsock lkvm.vsock.ping=5000 lkvm.vsock.serve=5002"
expect_exit "lkvm --vsock 3 exits 0 after the guest powers off" 0
expect_saw "lkvm logs the guest CID and vhost-vsock" 'virtio-vsock: guest CID 3, vhost-vsock'
expect_saw "guest loaded vsock, vmw_vsock_virtio_transport(_common)" 'GUEST: vsock modules ok'
expect_saw "the guest's CID is 3 (config space)" 'GUEST: vsock cid=3'
expect_saw "guest -> L0: 200 round trips of 64 bytes, every echo right" \
	'GUEST: vsock ping vsock-echo: 200 round trips of 64 bytes to 2:5000 ok'
expect_saw "guest -> L0: 20 round trips of 64 KiB, every echo right" \
	'GUEST: vsock ping-64k vsock-echo: 20 round trips of 65536 bytes to 2:5000 ok'
expect_eq "L0 echoed both connections, from CID 3" \
	"$(sed -n 's/.*peer \([0-9]*\):[0-9]* echoed \([0-9]*\) bytes.*/\1 \2/p' "$ART/l0-serve.log" |
		tr '\n' ' ')" "3 12800 3 1310720 "
expect_eq "L0 -> guest: 100 round trips of 64 bytes, every echo right" \
	"$(cat "$ART/l0-ping.status" 2>/dev/null)" 0
expect_saw "the guest echoed L0's connection" 'GUEST: vsock served vsock-echo: peer 2:.* echoed 6400 bytes'
expect_eq "a second lkvm with the running guest's CID fails (status 1)" \
	"$(cat "$ART/dup.status" 2>/dev/null)" 1
if grep -q 'lkvm: --vsock 3: another VM on this host has guest CID 3' "$ART/dup.log"; then
	tap_ok "... and says the CID is in use"
else
	tap_not_ok "... and says the CID is in use" "$(cat "$ART/dup.log")"
fi
g=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*GUEST: vsock ping vsock-echo: .* ok \(.*\)/\1/p')
h=$(sed -n 's/.* ok \(min=.*\)/\1/p' "$ART/l0-ping.log")
note "$CHECK: vsock round trip, 64 bytes, microseconds: guest to L0 $g; L0 to guest $h"
pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$ART/l0-serve.log")
[ -n "$pid" ] && kill "$pid" 2>/dev/null

expect_refused "--vsock 2 (the host's CID) is refused" 2 '--vsock 2: a guest CID is 3 to' \
	cid2 30 -k /guest/Image --vsock 2
expect_refused "--vsock 4294967295 (any) is refused" 2 '--vsock 4294967295: a guest CID' \
	cidany 30 -k /guest/Image --vsock 4294967295
