#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh OUT KERNEL...: boot each kernel (OUT/kernels/KERNEL/vmlinuz) with
# OUT/initramfs.cpio under qemu's software emulation (this machine's KVM
# cannot run ordinary guests), two 1-vCPU guests at a time on its 2 cores.
# Prints each kernel's result and time, the console log of a kernel that
# failed, and last "N passed, N failed"; exits 1 on any failure.
#
# VMTEST_TIMEOUT: seconds a kernel may take from boot to power-off (300).
# VMTEST_ONLY: run only the test of that name (test_NAME.c) in each guest;
# the kernel hands an unknown NAME=VALUE argument to /init as a variable.
set -u

out=$1
shift
timeout_s=${VMTEST_TIMEOUT:-300}
parallel=2
logs=$out/logs
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=4 quiet"
if [ -n "${VMTEST_ONLY:-}" ]; then
	cmdline="$cmdline vmtest_only=$VMTEST_ONLY"
fi

boot() {
	local k=$1 start end rc

	start=$(date +%s.%N)
	timeout "$timeout_s" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp 1 -m 1024 -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -nic none -kernel "$out/kernels/$k/vmlinuz" \
		-initrd "$out/initramfs.cpio" \
		-append "$cmdline" \
		</dev/null >"$logs/$k.log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	if [ "$rc" -eq 124 ]; then
		echo "vmtest: timed out after $timeout_s s" >>"$logs/$k.log"
	fi
	echo "$start $end" | awk '{ printf "%.1f\n", $2 - $1 }' >"$logs/$k.time"
}

mkdir -p "$logs"
rm -f "$logs"/*
running=0
for k in "$@"; do
	boot "$k" &
	running=$((running + 1))
	if [ "$running" -ge "$parallel" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0
failed=0
for k in "$@"; do
	log=$logs/$k.log
	secs=$(cat "$logs/$k.time")
	result=$(tr -d '\r' <"$log" |
		sed -n 's/^vmtest-result: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
	if [ -z "$result" ]; then
		# No result line: it did not boot, panicked, hung or the tests crashed.
		printf '  %-42s no result (%s s): console log follows\n' "$k" "$secs"
		p=0
		f=1
	else
		read -r p f <<<"$result"
		printf '  %-42s %d passed, %d failed (%s s)\n' "$k" "$p" "$f" "$secs"
	fi
	if [ "$f" -gt 0 ]; then
		sed -e 's/\r$//' -e 's/^/    | /' "$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
