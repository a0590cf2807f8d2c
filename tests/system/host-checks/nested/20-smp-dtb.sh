# On the host: the device tree that L0 check 20-smp-dtb dumped with
# --dump-dtb (-c 2 -m 512) decompiles with dtc without a single warning, and
# describes what was asked for.  Artifacts: $ARTIFACTS/20-smp-dtb/.

dtb=$ARTIFACTS/20-smp-dtb/guest.dtb
dts=$ART/guest.dts

if ! command -v dtc >/dev/null 2>&1; then
	for d in "dtc decompiles the DTB without warnings" "DTB has 2 cpu nodes" \
		"DTB has a memory node" "DTB /chosen/bootargs has the -p parameters"; do
		tap_skip "$d" "dtc not installed (Debian: device-tree-compiler)"
	done
	return 0
fi
if [ ! -s "$dtb" ]; then
	tap_not_ok "the L0 check shipped a DTB" "no $dtb (see the 20-smp-dtb points above)"
	return 0
fi

dtc -I dtb -O dts -o "$dts" "$dtb" 2>"$ART/dtc.err"
st=$?
cat "$ART/dtc.err"
if [ $st -eq 0 ] && [ ! -s "$ART/dtc.err" ]; then
	tap_ok "dtc decompiles the DTB without warnings"
else
	tap_not_ok "dtc decompiles the DTB without warnings" "dtc exit status $st"
	diag_file "$ART/dtc.err" 20
fi

expect_eq "DTB has 2 cpu nodes" "$(grep -c 'device_type = "cpu"' "$dts")" 2
if grep -q 'device_type = "memory"' "$dts"; then
	tap_ok "DTB has a memory node"
else
	tap_not_ok "DTB has a memory node" "no 'device_type = \"memory\"' in guest.dts"
fi
expect_contains "DTB /chosen/bootargs has the -p parameters" \
	"$(grep 'bootargs = ' "$dts")" "lkvm.script=devices"
