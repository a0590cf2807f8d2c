# check-timeout: 120
# --pmu gives the guest PMUv3 (KVM_ARM_VCPU_PMU_V3, its PPI wired and in
# the DT): the payload reads ID_AA64DFR0_EL1.PMUVer != 0, and 0 without
# --pmu.  --pmu-counters sets the number of event counters through
# KVM_ARM_VCPU_PMU_V3_SET_NR_COUNTERS.

if ! has_payload; then
	tap_skip "PMU checks" "no payload.bin (GUEST_DIR not given to tests/system/run)"
	return 0
fi
pmuver() {
	sed -n 's/.*PAYLOAD: ID_AA64DFR0_EL1=0x\([0-9a-f]*\).*/\1/p' "$GUEST_LOG" | tr -d '\r' |
		awk '{ printf "%d", index("0123456789abcdef", substr($1, length($1) - 2, 1)) - 1 }'
}
RUN_GUEST_MARK="PAYLOAD: hello"
run_guest pmu 60 -k /guest/payload.bin -m 64 -c 1 --pmu
expect_exit "--pmu: lkvm exits 0" 0
v=$(pmuver)
check "--pmu: the guest sees PMUv3 (ID_AA64DFR0_EL1.PMUVer = $v)" [ "${v:-0}" -ge 1 ]
run_guest nopmu 60 -k /guest/payload.bin -m 64 -c 1
expect_eq "without --pmu: ID_AA64DFR0_EL1.PMUVer = 0" "$(pmuver)" 0
run_guest pmu-counters 60 -k /guest/payload.bin -m 64 -c 1 --pmu --pmu-counters 4
expect_exit "--pmu --pmu-counters 4: lkvm exits 0" 0
