"""The man page documents exactly the options --help prints, and renders cleanly."""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TCPWATCH = os.path.join(ROOT, "tcpwatch")
MANPAGE = os.path.join(ROOT, "user", "tcpwatch.8")
# Digits too, or --ipv4 and --ipv6 would both read as --ipv.
LONG_OPTION = re.compile(r"--[a-z][a-z0-9-]+")


def help_options():
    p = subprocess.run([TCPWATCH, "--help"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, p.stderr
    return set(LONG_OPTION.findall(p.stdout))


def manpage_source():
    """The page without roff comments, with roff's \\- read as a dash."""
    with open(MANPAGE, encoding="utf-8") as f:
        src = f.read()
    src = re.sub(r'\\".*', "", src)
    return src.replace("\\-", "-")


def documented_options(src):
    """Long options in the tags of the OPTIONS section's .TP entries."""
    section = re.search(r"^\.SH OPTIONS\n(.*?)^\.SH ", src, re.S | re.M)
    assert section, "no OPTIONS section"
    tags = re.findall(r"^\.TP\b.*\n(.*)$", section.group(1), re.M)
    return set(LONG_OPTION.findall("\n".join(tags)))


def test_options_match_help():
    helped = help_options()
    assert helped, "no long option found in --help"
    src = manpage_source()
    documented = documented_options(src)
    assert not helped - documented, "in --help, not in OPTIONS of tcpwatch.8"
    assert not documented - helped, "in OPTIONS of tcpwatch.8, not in --help"
    # Nor may the rest of the page mention an option --help does not have.
    assert not set(LONG_OPTION.findall(src)) - helped, "not in --help"


def test_renders_without_warnings():
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", MANPAGE],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80"))
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "TCPWATCH(8)" in p.stdout
