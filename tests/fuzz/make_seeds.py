"""Writes the fuzzers' seed inputs into tests/fuzz/corpus/<name>/seed-* (the corpus the fuzzers
grow with `make fuzz` is kept in the repository beside them)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from wintun.packets import checksum, echo_request_v4, echo_request_v6  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def ipv4(size):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return (header + bytes(size))[:size]


def tcp4(seq, payload, flags=0x10, ident=1, partial=False):
    """An IPv4 TCP segment with valid checksums (partial: the pseudo-header sum in place, as the
    kernel hands over a super-packet)."""
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    tcp = struct.pack("!HHIIBBHHH", 40000, 5201, seq, 0x01020304, 5 << 4, flags, 512, 0, 0) + payload
    pseudo = checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)))
    value = (0xFFFF - pseudo) if partial else checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", value) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident, 0x4000, 64, 6, 0, src, dst)
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + tcp


def ring(packets, head=0):
    data = b""
    for p in packets:
        data += struct.pack("<I", len(p)) + p + bytes(-len(p) % 4)
    return head, head + len(data), data


def nlmsg(kind, payload, seq=1, flags=0):
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload + bytes(-len(payload) % 4)


def rta(kind, data):
    return struct.pack("=HH", 4 + len(data), kind) + data + bytes(-len(data) % 4)


def seeds():
    head, tail, data = ring([ipv4(40), b"\x00" * 8, ipv4(1400), ipv4(20)])
    yield "fuzz_receive_ring", "packets", struct.pack("<II", head, tail) + data
    yield "fuzz_receive_ring", "bad-size", struct.pack("<II", 0, 8) + struct.pack("<I", 0x10000) + bytes(4)
    head, tail, data = ring([ipv4(60), ipv4(28), b"\x60" + bytes(39)])
    yield "fuzz_send_ring", "packets", struct.pack("<I", tail) + data
    yield "fuzz_send_ring", "past-tail", struct.pack("<I", 8) + struct.pack("<I", 100) + bytes(100)
    RTM_NEWLINK, RTM_NEWADDR, NLMSG_DONE, NLMSG_ERROR = 16, 20, 3, 2
    link = struct.pack("=BxHiII", 0, 0, 7, 1, 0) + rta(4, struct.pack("=I", 1400)) + rta(3, b"wt0\0")
    yield "fuzz_netlink", "link", b"\x01" + nlmsg(RTM_NEWLINK, link) + nlmsg(NLMSG_ERROR, struct.pack("=i", 0) + bytes(16))
    addr4 = struct.pack("=BBBBI", 2, 24, 0, 0, 7) + rta(2, bytes([10, 0, 0, 1])) + rta(1, bytes([10, 0, 0, 1]))
    addr6 = struct.pack("=BBBBI", 10, 64, 0, 0, 7) + rta(1, bytes([0xFD] + [0] * 14 + [1]))
    yield "fuzz_netlink", "addresses", b"\x00" + nlmsg(RTM_NEWADDR, addr4) + nlmsg(RTM_NEWADDR, addr6) + nlmsg(NLMSG_DONE, bytes(4))
    yield "fuzz_netlink", "error", b"\x00" + nlmsg(NLMSG_ERROR, struct.pack("=i", -17) + bytes(16))
    yield "fuzz_icmp_echo", "v4", echo_request_v4("10.0.0.1", "10.0.0.2", 1)
    yield "fuzz_icmp_echo", "v6", echo_request_v6("fd00::1", "fd00::2", 1)
    yield "fuzz_icmp_echo", "udp", ipv4(40)
    vnet = struct.pack("=BBHHHH", 1, 1, 40, 1000, 20, 16)
    yield "fuzz_offload", "split-tcp4", b"\x00" + vnet + tcp4(1000, bytes(range(256)) * 12, 0x19, partial=True)
    batch = b"".join(struct.pack("<H", len(p)) + p for p in
                     (tcp4(1 + 1000 * i, bytes([i]) * 1000, ident=1 + i) for i in range(4)))
    yield "fuzz_offload", "plan-tcp4", b"\x01" + batch
    yield "fuzz_offload", "plan-fixed", b"\x07" + batch

    def helper(kind, adapter=0, payload=b"", version=1):
        return struct.pack("=IHHII", 0x50485457, version, kind, adapter, len(payload)) + payload

    name, ttype = b"pymobiledevice3-tunnel-x", b"Wintun"
    create = helper(1, 0, bytes(16) + bytes([len(name), len(ttype)]) + name + ttype)
    address6 = struct.pack("=HBB", 10, 64, 0) + bytes([0xFD] + [0] * 14 + [2])
    yield "fuzz_helper_request", "session", b"\x00" + create + helper(2, 1, struct.pack("=I", 1280)) + helper(
        3, 1, address6) + helper(5, 1, struct.pack("=I", 1)) + helper(6, 1) + helper(4, 1, address6) + helper(7, 1)
    yield "fuzz_helper_request", "version", b"\x00" + helper(6, 1, version=2) + helper(6, 1)
    yield "fuzz_helper_request", "create-vnet", b"\x00" + helper(
        1, 0, bytes(16) + bytes([len(name), len(ttype)]) + name + ttype + struct.pack("=I", 1))
    reply = struct.pack("=IH", 0, 0) + struct.pack("=III", 1280, 1, 7) + b"pymobi-12345678\0" + struct.pack(
        "=I", 1) + address6
    yield "fuzz_helper_request", "reply", b"\x01" + helper(0x8006, 1, reply) + helper(
        0x8001, 1, struct.pack("=IH", 5, 4) + b"nope")


for name, tag, data in seeds():
    os.makedirs(os.path.join(ROOT, name), exist_ok=True)
    with open(os.path.join(ROOT, name, f"seed-{tag}"), "wb") as f:
        f.write(data)
