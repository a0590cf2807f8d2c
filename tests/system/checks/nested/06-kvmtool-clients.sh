# check-timeout: 240
# kvmtool's clients drive lkvm unchanged: kvm-unit-tests' kvmtool target
# (scripts/arch-run.bash, scripts/vmm.bash, scripts/runtime.bash, arm/run)
# speaks this protocol, checked here piece by piece on this nested host:
#
#  - detection: "lkvm --help" says "The most commonly used";
#  - the probe before every test: the test's own command line with the
#    kernel _NO_FILE_4Uhere_.  "Fatal: Unable to open kernel
#    _NO_FILE_4Uhere_" in the output means the configuration can run here;
#    anything else skips the test, the output's last line being the reason,
#    so a configuration this host can't run must fail on that first;
#  - the test prints "EXIT: STATUS=N" on the UART and powers off: lkvm
#    exits 0 and the line is on its stdout, whole, when it exits;
#  - --initrd carries the test's environment, which the guest reads.
#
# The command lines have kvm-unit-tests' shape: --kernel F --cpus N
# --params "ARGS" --nodefaults --network mode=none --loglevel=warning, per
# test --mem N, --pmu, --irqchip=gicv2|gicv3|gicv3-its, --initrd FILE, and
# --nested for EL2=y.

KUT_OPTS="--nodefaults --network mode=none --loglevel=warning"
env_file=$ART/env
printf 'KVM_UNIT_TESTS_ENV_CHECK=from-l0\nTARGET=kvmtool\n' >"$env_file"

out=$(lkvm --help 2>/dev/null)
expect_contains "detection: lkvm --help has kvmtool's banner 'The most commonly used'" \
	"$out" 'The most commonly used'

# probe NAME OPTS...: the runner's probe (runtime.bash premature_failure)
# with kvm-unit-tests' options, --initrd included.  Sets PROBE_OUT (stdout
# and stderr, as the runner takes them), PROBE_STATUS and PROBE_LAST (the
# last line: the runner's SKIP reason).
probe() {
	local name="$1"
	shift
	# shellcheck disable=SC2086 # KUT_OPTS is words
	timeout -s KILL 60 lkvm run --kernel _NO_FILE_4Uhere_ --cpus 1 --params "probe" \
		$KUT_OPTS "$@" --initrd "$env_file" >"$ART/probe-$name.log" 2>&1 </dev/null
	PROBE_STATUS=$?
	PROBE_OUT=$(tr -d '\r' <"$ART/probe-$name.log")
	PROBE_LAST=$(printf '%s\n' "$PROBE_OUT" | tail -n 1)
	note "probe $name ($*): exit $PROBE_STATUS: $PROBE_LAST"
}

# can_run NAME OPTS...: the runner would run this test here.
can_run() {
	local name="$1"
	probe "$@"
	case $PROBE_OUT in
	*"Fatal: Unable to open kernel _NO_FILE_4Uhere_"*)
		tap_ok "probe $name: this host can run it (the Fatal line)"
		;;
	*)
		tap_not_ok "probe $name: this host can run it (the Fatal line)" \
			"lkvm run --kernel _NO_FILE_4Uhere_ ... $*: exit $PROBE_STATUS" \
			"output: $PROBE_OUT"
		;;
	esac
}

can_run plain
can_run nested --nested
can_run pmu --pmu
can_run gicv3-its --irqchip=gicv3-its
can_run gicv3-mem --irqchip=gicv3 --mem 256 --cpus 2

# This host's GICv3 has no GICv2 compatibility interface: the five GICv2
# tests must SKIP with lkvm's reason, not run and FAIL.
probe gicv2 --irqchip=gicv2
case $PROBE_OUT in
*Fatal*)
	tap_not_ok "probe gicv2: refused before the kernel is looked at (no Fatal line)" \
		"output: $PROBE_OUT"
	;;
*)
	tap_ok "probe gicv2: refused before the kernel is looked at (no Fatal line)"
	;;
esac
expect_contains "probe gicv2: the SKIP reason (last line) says why" "$PROBE_LAST" \
	'this host cannot give the guest a GICv2 because'
expect_eq "probe gicv2: exit status 1 (what this host can do)" "$PROBE_STATUS" 1

if ! has_payload; then
	tap_skip "bare payload: EXIT: STATUS=1, initrd" "no payload.bin (GUEST_DIR not given to tests/system/run)"
	return 0
fi

# kut NAME OPTS...: a "test" (the payload) run as the runner runs it, stdout
# and stderr apart.  Sets KUT_STATUS, KUT_OUT (stdout, CRs dropped).
kut() {
	local name="$1"
	shift
	# shellcheck disable=SC2086 # KUT_OPTS is words
	timeout -s KILL 60 lkvm run --kernel /guest/payload.bin "$@" $KUT_OPTS \
		>"$ART/$name.out" 2>"$ART/$name.err" </dev/null
	KUT_STATUS=$?
	KUT_OUT=$(tr -d '\r' <"$ART/$name.out")
	note "$name: lkvm exit $KUT_STATUS; stderr: $(head -c 300 "$ART/$name.err")"
}

# The runner's reading of it (arch-run.bash run_test_status): the first
# "EXIT: " line's status.
kut_status() {
	printf '%s\n' "$KUT_OUT" | grep '^EXIT: ' | head -n1 | sed 's/.*STATUS=\([0-9][0-9]*\).*/\1/'
}

for el in 1 2; do
	extra=
	[ $el = 2 ] && extra=--nested
	# shellcheck disable=SC2086 # extra is one word or none
	kut exit-el$el --cpus 1 --params "exit-status=1" --mem 64 $extra
	expect_exit_status=$KUT_STATUS
	expect_eq "EL$el payload printing EXIT: STATUS=1 and powering off: lkvm exits 0" \
		"$expect_exit_status" 0
	expect_eq "EL$el: the runner reads STATUS=1 from lkvm's stdout" "$(kut_status)" 1
	last=$(printf '%s\n' "$KUT_OUT" | grep -v '^$' | tail -n 1)
	expect_eq "EL$el: the EXIT line is whole and the last on stdout when lkvm exits" \
		"$last" "EXIT: STATUS=1"
done

# The test's environment, as the runner hands it over: --initrd FILE.
size=$(wc -c <"$env_file")
kut initrd --cpus 2 --params "initrd-bytes=64 exit-status=1" --mem 256 --irqchip=gicv3 \
	--initrd "$env_file"
expect_eq "kvm-unit-tests' command line with --initrd: lkvm exits 0" "$KUT_STATUS" 0
expect_contains "the guest sees the initrd's size" "$KUT_OUT" \
	"PAYLOAD: initrd-size=$(printf '0x%016x' "$size")"
expect_contains "the guest reads the initrd's content" "$KUT_OUT" \
	'PAYLOAD: initrd=KVM_UNIT_TESTS_ENV_CHECK=from-l0\nTARGET=kvmtool\n'
expect_eq "... and the runner reads STATUS=1" "$(kut_status)" 1
