# check-timeout: 200
# lkvm's stdout is a FIFO nobody reads (issue 11 #4) while the guest's
# console spews: the vCPU (8250) must not block on it, so SIGTERM still
# stops lkvm promptly, with 128+15, and lkvm says how much output it
# dropped.  Then the same guest with a reader that reads: every line the
# guest wrote before it powered off is on stdout, in order, exit status 0.

fifo=/tmp/stalled-stdout.fifo
rm -f "$fifo"
mkfifo "$fifo"
# Holds the FIFO open for reading, never reads it: lkvm's open for writing
# succeeds, and its writes fill the pipe and then wait forever.
exec 3<>"$fifo"
log=$ART/stalled.log
printf '%s\n' "lkvm run (stdout: $fifo, never read) ..." >"$ART/stalled.cmd"
setsid lkvm run -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=spew" -m 256 -c 1 \
	--loglevel info </dev/null >"$fifo" 2>"$log" 3<&- &
pid=$!
sleep 45	# boot (~10 s), then enough output to fill the pipe and lkvm's ring
blocked=
for t in /proc/$pid/task/*; do
	case $(cat "$t/wchan" 2>/dev/null) in
	*pipe_write*) blocked="$blocked ${t##*/}" ;;
	esac
done
note "lkvm threads blocked writing the pipe:${blocked:- none}"
read -r t0 _ </proc/uptime
kill -TERM "$pid"
# A deadline for the old behaviour: an lkvm that ignores SIGTERM is killed.
(sleep 30; kill -KILL "$pid" 2>/dev/null) &
killer=$!
wait "$pid"
st=$?
read -r t1 _ </proc/uptime
kill "$killer" 2>/dev/null
wait "$killer" 2>/dev/null
exec 3<&-
rm -f "$fifo"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
note "lkvm exited $st, ${secs}s after SIGTERM, with its stdout stalled"
expect_eq "stalled stdout: SIGTERM still stops lkvm with 128+15 (not SIGKILL)" "$st" 143
expect_range "stalled stdout: lkvm is gone within 5 s of SIGTERM" \
	"$(awk -v s="$secs" 'BEGIN { printf "%d", s * 100 }')" 0 500
GUEST_LOG=$log
expect_saw "stalled stdout: lkvm says how much console output it dropped" \
	'lkvm: warning: console: [0-9]* bytes dropped: stdout did not read'
expect_saw "stalled stdout: lkvm says it was stopped by the signal" 'lkvm: stopped by signal 15'

# The same guest, 1000 lines (100 KB) and power off, read by the harness.
run_guest spew-read 200 -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=spew lkvm.spew=1000" \
	-m 256 -c 1
expect_exit "read stdout: lkvm exits 0 after the guest powers off" 0
lines=$(tr -d '\r' <"$GUEST_LOG" | grep -c '^GUEST: spew [0-9]')
expect_eq "read stdout: all 1000 lines the guest wrote reach stdout" "$lines" 1000
expect_eq "read stdout: in order, none missing or twice" \
	"$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/^GUEST: spew \([0-9]*\) .*/\1/p' |
		awk '$1 + 0 != NR { bad = NR } END { print bad ? "line " bad " out of place" : "in order" }')" \
	"in order"
expect_saw "read stdout: the guest's last lines before poweroff are there too" 'GUEST: poweroff'
