"""The kernel matrix (make vmtest): Debian 12's 6.1 and 6.12 kernels booted
under qemu, tcpwatch's tracing checks run inside each (tests/vmtest/)."""
import re
import subprocess

from conftest import ROOT


def test_kernel_matrix():
    p = subprocess.run(["make", "-s", "-C", ROOT, "vmtest"], capture_output=True,
                       text=True, timeout=1800)
    lines = [l for l in p.stdout.splitlines() if re.fullmatch(r"\d+ passed, \d+ failed", l)]
    assert lines, p.stdout[-4000:] + p.stderr[-2000:]
    passed, failed = map(int, re.findall(r"\d+", lines[-1]))
    assert p.returncode == 0 and failed == 0 and passed >= 40, p.stdout[-6000:]
