#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Smoke test of the test payload without lkvm or KVM: boot it under QEMU's
# virt board (TCG) at EL1 and at EL2, as an ELF (DTB found at the RAM base,
# x0 = 0) and as a raw image (Linux-style: x0 = DTB, bootargs from
# -append, loaded far from its link address), and check the report.  On
# virt the console is the PL011 fallback, not the 8250 lkvm provides.
# Usage: qemu-smoke.sh BUILD_DIR; prints TAP, exits non-zero on failure.

build=${1:?usage: $0 BUILD_DIR}
qemu=${QEMU:-qemu-system-aarch64}
elf=$build/guest/payload.elf
bin=$build/guest/payload.bin
n=0
fail=0

if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "1..0 # SKIP $qemu not installed"
	exit 0
fi

# run NAME EXPECTED-EL MACHINE-OPTS -- QEMU-ARGS...
run() {
	name=$1 el=$2 mopts=$3
	shift 4
	n=$((n + 1))
	out=$(timeout 60 "$qemu" -M "virt,gic-version=3$mopts" -cpu max \
		-nographic -no-reboot -nic none "$@" </dev/null 2>&1)
	rc=$?
	ok=1
	[ $rc -eq 0 ] || ok=0		# 124: timed out, no SYSTEM_OFF
	# The touch runs end in a deliberate fault instead of "done".
	case "$*" in
	*touch=*)
		last="PAYLOAD: exception ESR=0x"
		printf '%s\n' "$out" | grep -q '^PAYLOAD: touch 0x40100000 ok' || ok=0
		;;
	*)
		last="PAYLOAD: done"
		;;
	esac
	for want in "PAYLOAD: hello" "PAYLOAD: CurrentEL=$el" \
		    "PAYLOAD: ID_AA64PFR0_EL1=0x" "$last" ${want_also:+"$want_also"}; do
		printf '%s\n' "$out" | grep -q "^$want" || ok=0
	done
	if [ $ok -eq 1 ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (qemu exit $rc)"
		printf '%s\n' "$out" | sed 's/^/# /'
		fail=1
	fi
}

args="touch=0x40100000 touch=0xfff000000000"
run "EL1 ELF" 1 "" -- -m 4096 -kernel "$elf"
run "EL2 ELF" 2 ",virtualization=on" -- -m 4096 -kernel "$elf"
run "EL1 raw, touch, fault" 1 "" -- -m 512 -kernel "$bin" -append "$args"
run "EL2 raw, touch, fault" 2 ",virtualization=on" -- -m 512 -kernel "$bin" -append "$args"
# initrd-bytes=N shows the initrd's first bytes, escaped; exit-status=N
# prints kvm-unit-tests' last line.
initrd=$(mktemp)
printf 'ENV=1\nX\001' >"$initrd"
want_also='PAYLOAD: initrd=ENV=1\\nX\\x01'
run "EL1 raw, initrd-bytes" 1 "" -- -m 512 -kernel "$bin" -initrd "$initrd" \
	-append "initrd-bytes=64"
want_also='EXIT: STATUS=3'
run "EL1 raw, exit-status" 1 "" -- -m 512 -kernel "$bin" -append "exit-status=3"
want_also=
rm -f "$initrd"
echo "1..$n"
exit $fail
