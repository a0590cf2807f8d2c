# check-timeout: 300
# Running guests managed over their control sockets (README, "Managing
# running guests"): two named guests at once, a plain one and a --nested
# L1, both printing their clock twice a second (guest/scripts/tick).
# "lkvm list" shows both; a second guest with a name in use is refused;
# "lkvm pause" stops the plain guest's vCPU threads (their CPU time does
# not grow) and its clock (the guest's uptime does not jump across the
# pause); "lkvm resume" lets it go again; "lkvm stop" ends it with exit
# status 0 while the L1 keeps running; "lkvm debug" shows the L1's EL2
# registers (HCR_EL2.E2H set by its VHE kernel) and its devices; "lkvm
# stop --all" ends the L1.  Errors name the guest.  The plain guest runs
# under --sandbox on: the control socket is served from the confined main
# thread; it has a --balloon (no driver), for the balloon's commands.

PAUSE=5		# seconds the plain guest stays paused
export HOME=/
rm -rf /.lkvm

# _stamp_ready READY-FIFO: copies stdin to stdout, each line prefixed with
# L0's uptime; the first "GUEST: tick" line (or the end of the input)
# writes one line to READY-FIFO.  Blocks on the pipe, never polls.
_stamp_ready() {
	local line up rest ready=
	while IFS= read -r line || [ -n "$line" ]; do
		read -r up rest </proc/uptime
		printf '%s %s\n' "$up" "$line"
		if [ -z "$ready" ]; then
			case $line in *"GUEST: tick"*) ready=1; echo ready >"$1" & ;; esac
		fi
	done
	[ -n "$ready" ] || echo gone >"$1"
}

# start_bg NAME LKVM_RUN_ARGS...: "lkvm run --name NAME ARGS" in the
# background, its console stamped into $ART/NAME.log; $ART/NAME.pid is
# lkvm's pid, $ART/NAME.status its exit status once it has ended, and
# BG_JOB the pipeline to wait for.
start_bg() {
	local name=$1
	shift
	rm -f "$ART/$name.ready" "$ART/$name.status"
	mkfifo "$ART/$name.ready"
	printf '%s\n' "lkvm run --name $name $*" >"$ART/$name.cmd"
	{
		setsid lkvm run --name "$name" "$@" </dev/null 2>&1 &
		echo $! >"$ART/$name.pid"
		wait $!
		echo $? >"$ART/$name.status"
		read -r up rest </proc/uptime
		echo "$up" >"$ART/$name.end"
	} | _stamp_ready "$ART/$name.ready" >"$ART/$name.log" &
	BG_JOB=$!
}

# wait_ready NAME: blocks until NAME's guest ticks (or its lkvm ended).
wait_ready() {
	local st
	timeout 200 head -n 1 "$ART/$1.ready" >"$ART/$1.ready-said"
	read -r st <"$ART/$1.ready-said"
	[ "$st" = ready ]
}

# vcpu_ns PID: nanoseconds on CPU of lkvm PID's vCPU threads (schedstat).
vcpu_ns() {
	local t c s rest total=0
	for t in /proc/"$1"/task/*; do
		read -r c <"$t/comm" 2>/dev/null || continue
		case $c in vcpu*)
			read -r s rest <"$t/schedstat"
			total=$((total + s))
			;;
		esac
	done
	echo "$total"
}

uptime_cs() {
	_now
	echo "$NOW_CS"
}

guest=/guest/Image
start_bg ctl-plain -k $guest -i /guest/l1.cpio -p "quiet lkvm.script=tick" -m 256 -c 1 \
	--balloon --sandbox on --loglevel info
job_plain=$BG_JOB
start_bg ctl-nested -k $guest -i /guest/l1.cpio -p "quiet lkvm.script=tick" -m 256 -c 1 \
	--nested --rng --loglevel info
job_nested=$BG_JOB

wait_ready ctl-plain
tap_result $? "the plain guest (ctl-plain) runs and ticks" "$(tail -n 5 "$ART/ctl-plain.log")"
wait_ready ctl-nested
tap_result $? "the nested L1 (ctl-nested) runs and ticks" "$(tail -n 5 "$ART/ctl-nested.log")"
read -r pid_plain <"$ART/ctl-plain.pid"
read -r pid_nested <"$ART/ctl-nested.pid"

# ---- list, and a name in use ----------------------------------------------
lkvm list >"$ART/list1.txt" 2>&1
expect_eq "lkvm list exits 0" $? 0
cat "$ART/list1.txt"
grep -q -E "^ *$pid_plain +ctl-plain +running +1 +256 +no " "$ART/list1.txt"
tap_result $? "lkvm list: ctl-plain, its pid, running, 1 vCPU, 256 MiB, not nested" \
	"$(cat "$ART/list1.txt")"
grep -q -E "^ *$pid_nested +ctl-nested +running +1 +256 +yes " "$ART/list1.txt"
tap_result $? "lkvm list: ctl-nested, its pid, running, nested" "$(cat "$ART/list1.txt")"
head -n 1 "$ART/list1.txt" | grep -q '^ *PID NAME  *STATE '
tap_result $? "lkvm list's first columns are kvmtool's: PID NAME STATE" "$(head -n 1 "$ART/list1.txt")"
lkvm list --json >"$ART/list1.json" 2>&1
expect_contains "lkvm list --json has both, the L1 as nested" "$(cat "$ART/list1.json")" \
	"\"name\":\"ctl-nested\",\"pid\":$pid_nested,\"state\":\"running\""
expect_contains "lkvm list --json: ctl-plain too" "$(cat "$ART/list1.json")" \
	"\"name\":\"ctl-plain\",\"pid\":$pid_plain,"

out=$(timeout 30 lkvm run --name ctl-plain -k $guest -m 64 -c 1 </dev/null 2>&1)
st=$?
printf '%s\n' "$out" >"$ART/dup.log"
expect_eq "a second 'lkvm run --name ctl-plain' exits 1" "$st" 1
expect_contains "... saying the name is taken, by which lkvm" "$out" \
	"--name ctl-plain: a guest of that name is running (lkvm pid $pid_plain"

# ---- the balloon's commands (the device, without a driver in this guest) ----
out=$(lkvm balloon -n ctl-plain --inflate 64 2>&1)
expect_eq "lkvm balloon -n ctl-plain --inflate 64 exits 0" $? 0
expect_contains "... and the balloon's target is 64 MiB" "$out" "balloon target 64 MiB of 256 MiB"
out=$(lkvm stat -n ctl-plain --memory --json 2>&1)
expect_eq "lkvm stat -n ctl-plain --memory exits 0" $? 0
expect_contains "... showing the target" "$out" '"target_mib":64,"actual_mib":0,"mem_mib":256'
out=$(lkvm balloon -n ctl-plain --inflate 300 2>&1)
expect_eq "inflating past the guest's RAM exits 1" $? 1
expect_contains "... saying why" "$out" "would pass the guest's 256 MiB of RAM"
lkvm balloon -n ctl-plain -d 64 >/dev/null 2>&1
expect_eq "lkvm balloon -d 64 (deflate) exits 0" $? 0
out=$(lkvm balloon -n ctl-nested -i 1 2>&1)
expect_eq "lkvm balloon on a guest without --balloon exits 1" $? 1
expect_contains "... saying it has none" "$out" "guest 'ctl-nested' has no balloon device"

# ---- pause: the vCPU threads park, the clock stops ----------------------
t0=$(uptime_cs)
lkvm pause -n ctl-plain >"$ART/pause.out" 2>&1
st=$?
t1=$(uptime_cs)
cat "$ART/pause.out"
expect_eq "lkvm pause -n ctl-plain exits 0" "$st" 0
note "lkvm pause took $(fmt_cs $((t1 - t0)))s (command); $(cat "$ART/pause.out")"
lkvm list >"$ART/list2.txt" 2>&1
grep -q -E "^ *$pid_plain +ctl-plain +paused " "$ART/list2.txt"
tap_result $? "lkvm list shows ctl-plain paused" "$(cat "$ART/list2.txt")"
grep -q -E "^ *$pid_nested +ctl-nested +running " "$ART/list2.txt"
tap_result $? "... and ctl-nested still running" "$(cat "$ART/list2.txt")"
lkvm pause -n ctl-plain >/dev/null 2>&1
expect_eq "pausing a paused guest again exits 0 (idempotent)" $? 0

v0=$(vcpu_ns "$pid_plain")
sleep $PAUSE
v1=$(vcpu_ns "$pid_plain")
paused_us=$(((v1 - v0) / 1000))
note "ctl-plain's vCPU threads ran ${paused_us} us in ${PAUSE}s paused"
expect_range "paused: the vCPU threads' CPU time stays put (< 5 ms in ${PAUSE}s)" "$paused_us" 0 5000

t0=$(uptime_cs)
lkvm resume -n ctl-plain >"$ART/resume.out" 2>&1
st=$?
t1=$(uptime_cs)
expect_eq "lkvm resume -n ctl-plain exits 0" "$st" 0
note "lkvm resume took $(fmt_cs $((t1 - t0)))s (command); $(cat "$ART/resume.out")"
v2=$(vcpu_ns "$pid_plain")
sleep 3
v3=$(vcpu_ns "$pid_plain")
run_us=$(((v3 - v2) / 1000))
note "ctl-plain's vCPU threads ran ${run_us} us in 3 s after resume"
expect_range "resumed: the vCPU threads run again (> 5 ms in 3 s)" "$run_us" 5001 999999999

# ---- stop: exit status 0, the other guest runs on -----------------------
t0=$(uptime_cs)
lkvm stop -n ctl-plain >"$ART/stop.out" 2>&1
st=$?
t1=$(uptime_cs)
expect_eq "lkvm stop -n ctl-plain exits 0" "$st" 0
wait "$job_plain"
read -r st_plain <"$ART/ctl-plain.status"
expect_eq "ctl-plain's lkvm exits 0 after lkvm stop" "$st_plain" 0
read -r end_plain <"$ART/ctl-plain.end"
note "lkvm stop returned after $(fmt_cs $((t1 - t0)))s; ctl-plain's lkvm had exited" \
	"$(awk -v a="$t0" -v e="$end_plain" 'BEGIN { printf "%.2f", e - a / 100 }')s after the stop began"
GUEST_LOG=$ART/ctl-plain.log
expect_saw "ctl-plain's lkvm says it was stopped by lkvm stop" "lkvm: stopped by 'lkvm stop' (status 0)"
expect_saw "ctl-plain's lkvm logged the pause" "lkvm: paused by 'lkvm pause' in "

# The clock across the pause: the largest gap between two ticks in L0's
# time is the pause; in the guest's own time that gap must be a tick's.
gaps=$(awk '/GUEST: tick / { l0 = $1; g = $NF; if (n++) { d = l0 - pl0; if (d > md) { md = d; mg = g - pg } } pl0 = l0; pg = g }
	END { printf "%d %d", md * 100, mg * 100 }' "$ART/ctl-plain.log")
l0_gap=${gaps% *}
guest_gap=${gaps#* }
note "across the pause: L0 saw $(fmt_cs "$l0_gap")s between two ticks, the guest $(fmt_cs "$guest_gap")s"
expect_range "the pause shows in L0's time between two ticks (>= ${PAUSE}s)" "$l0_gap" $((PAUSE * 100)) 100000
expect_range "the guest's clock did not count the pause (< 2 s between those ticks)" "$guest_gap" 0 200

lkvm list >"$ART/list3.txt" 2>&1
if grep -q ctl-plain "$ART/list3.txt" || ! grep -q -E "^ *$pid_nested +ctl-nested +running " "$ART/list3.txt"; then
	tap_not_ok "after the stop lkvm list shows ctl-nested running, not ctl-plain" "$(cat "$ART/list3.txt")"
else
	tap_ok "after the stop lkvm list shows ctl-nested running, not ctl-plain"
fi

# ---- debug: the L1's registers, EL2 included, and its devices ----------
lkvm debug -n ctl-nested >"$ART/debug.txt" 2>&1
expect_eq "lkvm debug -n ctl-nested exits 0" $? 0
lkvm debug -n ctl-nested --json >"$ART/debug.json" 2>&1
expect_eq "lkvm debug --json exits 0" $? 0
grep -q '^  el2:' "$ART/debug.txt" && grep -q 'hcr_el2=0x' "$ART/debug.txt" && grep -q 'vttbr_el2=0x' "$ART/debug.txt"
tap_result $? "lkvm debug prints the L1 vCPU's EL2 registers (HCR_EL2, VTTBR_EL2, ...)" \
	"$(head -n 30 "$ART/debug.txt")"
hcr=$(sed -n 's/.*"hcr_el2":"\(0x[0-9a-f]*\)".*/\1/p' "$ART/debug.json")
note "L1 vCPU 0: HCR_EL2=$hcr, $(grep -o '"mode":"[A-Za-z0-9]*"' "$ART/debug.json" | head -n 1)"
expect_eq "HCR_EL2.E2H is set: the L1 kernel runs as a VHE host at vEL2" "$(((${hcr:-0} >> 34) & 1))" 1
grep -q '"pc":"0x[0-9a-f]*[1-9a-f][0-9a-f]*"' "$ART/debug.json"
tap_result $? "lkvm debug shows a non-zero PC" "$(head -c 400 "$ART/debug.json")"
grep -q '"name":"virtio-rng".*"queues":\[{"index":0,"size":' "$ART/debug.json" &&
	grep -q '"name":"uart"' "$ART/debug.json"
tap_result $? "lkvm debug shows the devices: the UART, virtio-rng with its queue" \
	"$(grep -o '"devices":.*' "$ART/debug.json" | head -c 600)"
lkvm list >"$ART/list4.txt" 2>&1
grep -q -E "^ *$pid_nested +ctl-nested +running " "$ART/list4.txt"
tap_result $? "after lkvm debug the L1 is running again" "$(cat "$ART/list4.txt")"

# ---- errors ---------------------------------------------------------------
out=$(lkvm pause -n nosuch 2>&1)
st=$?
expect_eq "lkvm pause -n nosuch exits 1" "$st" 1
expect_contains "... naming the guest it did not find" "$out" "no guest named 'nosuch'"
out=$(lkvm stop -n ctl-plain 2>&1)
expect_eq "lkvm stop of the guest already stopped exits 1" $? 1
expect_contains "... saying there is no such guest now" "$out" "no guest named 'ctl-plain'"
out=$(lkvm stop 2>&1)
expect_eq "lkvm stop without -n or --all is a command-line error (2)" $? 2

# ---- stop --all: the L1 too, after it ticked on past ctl-plain's end ------
sleep 2	# the L1 ticks twice a second: give it time to show it runs on
ticks=$(awk -v e="$end_plain" '/GUEST: tick / && $1 > e + 0 { n++ } END { print n + 0 }' "$ART/ctl-nested.log")
expect_range "the L1 kept ticking after ctl-plain was stopped" "$ticks" 2 100000
t0=$(uptime_cs)
lkvm stop --all >"$ART/stop-all.out" 2>&1
expect_eq "lkvm stop --all exits 0" $? 0
wait "$job_nested"
read -r st_nested <"$ART/ctl-nested.status"
expect_eq "ctl-nested's lkvm exits 0 after lkvm stop --all" "$st_nested" 0
read -r end_nested <"$ART/ctl-nested.end"
note "the L1's lkvm exited $(awk -v a="$t0" -v e="$end_nested" 'BEGIN { printf "%.2f", e - a / 100 }')s after lkvm stop --all"
lkvm list >"$ART/list5.txt" 2>&1
expect_eq "lkvm list shows no guest at the end" "$(wc -l <"$ART/list5.txt")" 1
