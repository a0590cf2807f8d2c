# check-timeout: 300
# A gzip-compressed kernel (Image.gz) boots like the Image.

params="quiet lkvm.script=hello"
run_guest boot-gz 200 -k /guest/Image.gz -i /guest/l1.cpio -p "$params" \
	-m 256 -c 1 --console serial

expect_exit "lkvm exits 0 after an Image.gz guest powers off" 0
expect_saw "Image.gz guest reached init" 'GUEST: init '
expect_guest_cmdline "Image.gz guest /proc/cmdline has the -p parameters" "$params"
expect_saw "Image.gz guest reached poweroff" 'GUEST: poweroff'
