# check-timeout: 500
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-net (-n mode=tap) between an L1 guest and L0.  L0 loads tun and
# vhost-net; lkvm creates the tap (tapif=lkvmt0, lkvmt1) and runs script= on it,
# which gives L0's side 10.0.2.2/24; the guest (lkvm.script=net) takes
# 10.0.2.15/24, pings L0 five times, reloads virtio_net (device reset)
# and pings again.  Once with vhost=off (the userspace datapath) over
# virtio-mmio, once by default (vhost-net) over virtio-pci; lkvm's log must
# say which.  Last, bad -n values are refused before any VM exists.

HOST_IP=10.0.2.2

# L0's modules, dependencies first (tests/system/run ships them).
mods_ok=1
l0_modules tun tap vhost_iotlb vhost vhost_net || mods_ok=0
if [ $mods_ok = 1 ] && [ -c /dev/net/tun ] && [ -c /dev/vhost-net ]; then
	tap_ok "L0 has /dev/net/tun and /dev/vhost-net (tun, vhost_net loaded)"
else
	tap_not_ok "L0 has /dev/net/tun and /dev/vhost-net (tun, vhost_net loaded)" \
		"$(ls -l /dev/net/tun /dev/vhost-net 2>&1)"
fi

# lkvm runs this with the tap's name once the tap exists.
cat >/tmp/net-up <<EOS
#!/bin/sh
echo "\$1" >"$ART/net-up.ifname"
ip addr add $HOST_IP/24 dev "\$1" && ip link set "\$1" up
EOS
chmod +x /tmp/net-up

# net_run NAME TAP LOG-PATTERN N-ARG MAC [LKVM-ARGS...]: one guest and its
# points; sets RTT1, RTT2.
net_run() {
	local name="$1" tap="$2" want_log="$3" narg="$4" mac="$5" line fields k
	shift 5
	rm -f "$ART/net-up.ifname"
	run_guest "$name" 180 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --loglevel info \
		-n "$narg" -p "quiet lkvm.script=net lkvm.ip=10.0.2.15/24 lkvm.peer=$HOST_IP" "$@"
	expect_exit "$name: lkvm exits 0 after the guest powers off" 0
	expect_saw "$name: lkvm logs the tap, the guest MAC and the datapath" "$want_log"
	if [ "$(cat "$ART/net-up.ifname" 2>/dev/null)" = "$tap" ]; then
		tap_ok "$name: script= ran with the tap's name"
	else
		tap_not_ok "$name: script= ran with the tap's name" \
			"net-up.ifname: '$(cat "$ART/net-up.ifname" 2>&1)'"
	fi
	expect_saw "$name: guest loaded virtio_mmio, failover, net_failover, virtio_net" \
		'GUEST: net modules ok'
	expect_saw "$name: guest's eth0 has the MAC lkvm gave it" "GUEST: net mac=$mac"
	for k in 1 2; do
		line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 "GUEST: net ping$k ")
		fields=" ${line#*ping[12] }"
		expect_eq "$name: ping $k: the guest got all 5 replies from L0" \
			"$(_field "$fields" received)/$(_field "$fields" sent)" "5/5"
		if [ $k = 1 ]; then
			RTT1=$(_field "$fields" rtt)
			expect_saw "$name: rmmod/insmod virtio_net (device reset) works" \
				'GUEST: net reload ok'
		else
			RTT2=$(_field "$fields" rtt)
		fi
	done
	note "$CHECK/$name: ping RTT min/avg/max (ms): first driver $RTT1, after reload $RTT2;" \
		"L1 init after ${GUEST_MARK_SECS:-?}s"
}

net_run userspace lkvmt0 \
	'virtio-net: tap lkvmt0, guest MAC 52:54:00:12:34:50, userspace datapath (vhost=off)' \
	"mode=tap,tapif=lkvmt0,vhost=off,script=/tmp/net-up" 52:54:00:12:34:50 \
	--virtio-transport mmio
frames=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*virtio-net lkvmt0: \([0-9]*\) frames sent (0 dropped), \([0-9]*\) received.*/\1 \2/p')
case $frames in
[1-9]*' '[1-9]*) tap_ok "userspace: lkvm moved the frames (sent, received: $frames)" ;;
*) tap_not_ok "userspace: lkvm moved the frames" "frame counts: '$frames'" ;;
esac

# Another tap, and a MAC of our choosing.
net_run vhost lkvmt1 'virtio-net: tap lkvmt1, guest MAC 02:00:00:00:00:0a, vhost-net$' \
	"mode=tap,tapif=lkvmt1,guest_mac=02:00:00:00:00:0a,script=/tmp/net-up" 02:00:00:00:00:0a
# With vhost-net, lkvm's own datapath moves nothing (it reports no frames).
if guest_saw 'virtio-net lkvmt1: [0-9]* frames sent'; then
	tap_not_ok "vhost: the frames went through vhost-net, not lkvm" \
		"$(grep 'frames sent' "$GUEST_LOG")"
else
	tap_ok "vhost: the frames went through vhost-net, not lkvm"
fi

# Refused before any VM exists (fast: no guest boots).
expect_refused "a multicast guest_mac is refused" 2 'guest_mac=01:00:5e:00:00:01.*multicast' \
	bad-mac 30 -k /guest/Image -n mode=tap,guest_mac=01:00:5e:00:00:01
expect_refused "mode=user is refused with what to use instead" 2 'user-mode.*mode=tap' \
	user 30 -k /guest/Image -n mode=user
expect_refused "tapif= naming an interface that is not a tap is refused" 1 \
	'tapif=lo.*not a tap' not-tap 30 -k /guest/Image -n mode=tap,tapif=lo
expect_refused "a failing script= is refused" 1 'script=/bin/false.*status 1' \
	bad-script 30 -k /guest/Image -n mode=tap,script=/bin/false
rm -f /tmp/net-up
