# check-timeout: 200
# lkvm's stdout is a FIFO that nobody reads (issue 11 #4) while the guest
# spews on both consoles: the 8250 (written on a vCPU thread) and a
# virtio-console (on its I/O thread, under the device lock).  Neither may
# block on the pipe: SIGTERM still stops lkvm promptly, with 128+15, and
# lkvm says how much output it dropped.  Then, with a reader that reads,
# every line the guest wrote on the 8250 before it powered off is on
# stdout, in order, and lkvm exits 0.

fifo=/tmp/stalled-stdout.fifo
rm -f "$fifo"
mkfifo "$fifo"
# Holds the FIFO open for reading and never reads it: lkvm's open for
# writing succeeds, and its writes fill the pipe (64 KiB), then lkvm's ring.
exec 3<>"$fifo"
log=$ART/stalled.log
printf '%s\n' "lkvm run (stdout: $fifo, never read) --console virtio ... lkvm.spew-hvc=1" \
	>"$ART/stalled.cmd"
setsid lkvm run -k /guest/Image -i /guest/l1.cpio -m 256 -c 2 --console virtio \
	-p "console=ttyS0 quiet lkvm.script=spew lkvm.spew-hvc=1" --loglevel info \
	</dev/null >"$fifo" 2>"$log" 3<&- &
pid=$!
sleep 35	# boot (~10 s, 20 s on a loaded machine), then hvc0 fills the pipe and the ring in seconds
blocked=
for t in /proc/$pid/task/*; do
	w=$(cat "$t/wchan" 2>/dev/null)
	case $w in *pipe_write*) blocked="$blocked ${t##*/}($w)" ;; esac
done
note "lkvm threads blocked in a pipe write:${blocked:- none}"
read -r t0 _ </proc/uptime
kill -TERM "$pid"
# The old behaviour never exits: a deadline, then SIGKILL.
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
expect_eq "stalled stdout: SIGTERM still stops lkvm with 128+15 (no SIGKILL needed)" "$st" 143
expect_range "stalled stdout: lkvm is gone within 5 s of SIGTERM" \
	"$(awk -v s="$secs" 'BEGIN { printf "%d", s * 100 }')" 0 500
GUEST_LOG=$log
expect_saw "stalled stdout: lkvm says how much console output it dropped" \
	'^lkvm: warning: console: [0-9]* bytes dropped: stdout did not read'
expect_saw "stalled stdout: lkvm says it was stopped by the signal" '^lkvm: stopped by signal 15'

# 200 lines (20 KB) on the 8250 and power off, read by the harness.
run_guest spew-read 200 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 \
	-p "quiet lkvm.script=spew lkvm.spew=200"
expect_exit "read stdout: lkvm exits 0 after the guest powers off" 0
expect_eq "read stdout: all 200 lines the guest wrote reach stdout, in order" \
	"$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/^GUEST: spew \([0-9]*\) .*/\1/p' |
		awk '$1 != NR { bad = NR } END { print NR, bad ? "line " bad " out of place" : "in order" }')" \
	"200 in order"
expect_saw "read stdout: so are the guest's last lines before it powered off" '^GUEST: poweroff'
