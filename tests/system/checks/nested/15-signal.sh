# check-timeout: 120
# SIGTERM to lkvm while a guest runs: a clean shutdown (vCPUs kicked out
# of KVM_RUN, joined, VM closed) and exit status 128+15, promptly.

log=$ART/signal.log
setsid lkvm run -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=wait" -m 256 -c 2 \
	--loglevel info </dev/null >"$log" 2>&1 &
pid=$!
sleep 20	# the guest is booting or waiting: either way its vCPUs are in KVM_RUN
read -r t0 _ </proc/uptime
kill -TERM "$pid"
wait "$pid"
st=$?
read -r t1 _ </proc/uptime
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
note "lkvm exited $st, ${secs}s after SIGTERM"
expect_eq "SIGTERM: lkvm exits with 128+15" "$st" 143
expect_range "SIGTERM: lkvm is gone within 5 s" "$(awk -v s="$secs" 'BEGIN { printf "%d", s * 100 }')" 0 500
GUEST_LOG=$log
expect_saw "SIGTERM: lkvm says it was stopped by the signal" 'lkvm: stopped by signal 15'
