#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the vmtest guest: mount what tcpwatch needs, bring lo up, run the
# tests (vmcheck prints the result line the host reads from the serial
# console) and power off. vmtest_only (from the kernel command line) names
# the one test to run.
/bin/busybox --install -s /bin
export PATH=/bin

mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
ip link set lo up

vmcheck ${vmtest_only:+"$vmtest_only"}
poweroff -f
