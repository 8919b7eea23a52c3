"""BTF that tcpwatch's own walk leaves to libbpf's parse (here one with a
longer header, as a later BTF version may have): the same answers, so the
same hooks and the kernel's reset reason names, as from the walk."""
import struct

from conftest import pair


def test_btf_parsed_by_libbpf_answers_the_same(peers, trace, tmp_path):
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        raw = bytearray(f.read())
    # Eight more header bytes, zero, before the sections it places.
    struct.pack_into("<I", raw, 4, 32)
    longer = tmp_path / "vmlinux"
    longer.write_bytes(raw[:24] + bytes(8) + raw[24:])
    t, *_ = pair(peers, trace, "close-unread", "expect-reset", "--btf", str(longer))
    assert "(tp_btf tracepoints)" in t.stderr
    assert [e["reason"] for e in t.of_type("rst_sent")] == ["TCP_ABORT_ON_CLOSE"]
