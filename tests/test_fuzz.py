"""A short, bounded libFuzzer run of each target (make fuzz runs them long).
A finding fails the test and leaves the input in build/fuzz/crashes-TARGET/."""
import os
import subprocess

import pytest

from conftest import ROOT

SECONDS = 15


@pytest.mark.parametrize("target", ["jsonl", "event", "btf_scan"])
def test_fuzz_target(target, tmp_path):
    binary = os.path.join(ROOT, "build", "fuzz", "fuzz_" + target)
    if not os.path.exists(binary):
        pytest.fail("%s is missing: run make test (it builds it)" % binary)
    crashes = os.path.join(ROOT, "build", "fuzz", "crashes-" + target)
    os.makedirs(crashes, exist_ok=True)
    seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", target)
    p = subprocess.run([binary, "-max_total_time=%d" % SECONDS,
                        "-artifact_prefix=%s/" % crashes, str(tmp_path), seeds],
                       capture_output=True, text=True, timeout=SECONDS * 4)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Done" in p.stderr
