"""The TUN offloads of kernel adapters (issue 11), end to end in network namespaces.

Transparent mode: two kernel adapters in two namespaces, joined by a forwarder in this process
that moves packets ring to ring and checks each one on the way (no larger than the MTU, valid
checksums, as wintun.packets' own checksum sees them). TCP and UDP streams cross with every byte
verified, iperf3 TCP and UDP cross, the interfaces' counters show that the kernel handed over
super-packets that were cut, and that what was written was merged. A third namespace behind a
veth with offloads off captures what the kernel made of the merged writes: only valid packets.
Super-packet mode: examples/tunnel.py with both ends agreeing, bytes verified, iperf3 through it.
"""
import errno
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time

import pytest

import wintun
from netns import Netns, run, veth, wait_ready
from wintun.packets import checksum

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not shutil.which("ip") or not shutil.which("iperf3"),
    reason="the offload tests need root, /dev/net/tun, iproute2 and iperf3 (CI has them)",
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_USO4 = 1, 2, 4, 0x20


def features(ns: Netns, ifname: str) -> dict:
    out = ns.run("ethtool", "-k", ifname).stdout
    return {k.strip(): v.split()[0] for k, v in (line.split(":", 1) for line in out.splitlines()[1:] if ":" in line)}


def link_stats(ns: Netns, ifname: str) -> dict:
    stats = json.loads(ns.run("ip", "-j", "-s", "link", "show", "dev", ifname).stdout)[0]["stats64"]
    return {f"{way}_{key}": value for way in ("rx", "tx") for key, value in stats[way].items()}


def invalid(packet: bytes, mtu: int):
    """Why packet is not an ordinary IP packet of at most mtu bytes with valid checksums, or None."""
    if len(packet) > mtu:
        return f"{len(packet)} bytes, larger than the MTU"
    version = packet[0] >> 4
    if version == 4:
        ihl = (packet[0] & 15) * 4
        if checksum(packet[:ihl]):
            return "a bad IPv4 header checksum"
        protocol, l4 = packet[9], packet[ihl:]
        pseudo = packet[12:20] + struct.pack("!BBH", 0, protocol, len(l4))
        if protocol == 17 and l4[6:8] == b"\0\0":
            return None
    elif version == 6:
        protocol, l4 = packet[6], packet[40:]
        pseudo = packet[8:40] + struct.pack("!IxxxB", len(l4), protocol)
    else:
        return f"IP version {version}"
    if protocol in (6, 17) and checksum(pseudo + l4):
        return f"a bad {'TCP' if protocol == 6 else 'UDP'} checksum"
    return None


class Pair:
    """Two kernel adapters in two namespaces, A (10.90.0.1, fd00:90::1) and B (.2, ::2), and a
    forwarder thread each way that checks every packet it moves."""

    def __init__(self, mtu: int = 1500, **options):
        self.mtu, self.options = mtu, options
        self.problems, self.moved = [], {"ab": 0, "ba": 0}
        self.stop = threading.Event()

    def __enter__(self) -> "Pair":
        self.a, self.b = Netns("oa").__enter__(), Netns("ob").__enter__()
        tag = os.getpid() % 10000
        self.ta = wintun.TunDevice(f"wto{tag}a", netns=self.a.name, **self.options)
        self.tb = wintun.TunDevice(f"wto{tag}b", netns=self.b.name, **self.options)
        for tun, ns, host in ((self.ta, self.a, 1), (self.tb, self.b, 2)):
            tun.mtu = self.mtu
            tun.addr = f"10.90.0.{host}/24"
            tun.add_address(f"fd00:90::{host}/64")
            tun.up()
        self.threads = [threading.Thread(target=self.forward, args=(self.ta, self.tb, "ab"), daemon=True),
                        threading.Thread(target=self.forward, args=(self.tb, self.ta, "ba"), daemon=True)]
        for thread in self.threads:
            thread.start()
        return self

    def forward(self, src: wintun.TunDevice, dst: wintun.TunDevice, way: str) -> None:
        try:
            while not self.stop.is_set():
                batch = src.read_batch()
                if not batch:
                    src.wait_read_event(0.05)
                    continue
                for packet in batch:
                    why = invalid(packet, self.mtu)
                    if why and len(self.problems) < 10:
                        self.problems.append(f"{way}: {why}: {packet[:60].hex()}")
                self.moved[way] += len(batch)
                dst.write_batch(batch)
        except wintun.AdapterClosedError:
            pass

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)
        self.ta.close()
        self.tb.close()
        self.a.__exit__(*exc)
        self.b.__exit__(*exc)


# A TCP or UDP stream of pseudo-random bytes, hashed at both ends.
SERVER = r"""
import hashlib, socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5300)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    data = c.recv(1 << 20)
    if not data:
        break
    h.update(data); n += len(data)
print(n, h.hexdigest(), flush=True)
"""
CLIENT = r"""
import hashlib, random, socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
data = random.Random(int(sys.argv[3])).randbytes(int(sys.argv[2]))
s = socket.create_connection((sys.argv[1], 5300), timeout=30)
s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1)
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""


def tcp_stream(client_ns: Netns, server_ns: Netns, address: str, size: int, seed: int = 7) -> None:
    server = server_ns.popen(sys.executable, "-c", SERVER, address, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "listening"
        sent = client_ns.run(sys.executable, "-c", CLIENT, address, str(size), str(seed), timeout=120).stdout.split()
        received = server.stdout.readline().split()
        assert received == sent and int(sent[0]) == size
    finally:
        server.kill()
        server.wait(10)


UDP_SERVER = r"""
import hashlib, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind((sys.argv[1], 5301)); s.settimeout(3); print("listening", flush=True)
good = bad = 0
try:
    while True:
        d = s.recv(65535)
        seq = int.from_bytes(d[:4], "big")
        if d == seq.to_bytes(4, "big") + hashlib.sha256(d[:4]).digest() * 37 + bytes(1200 - 4 - 32 * 37):
            good += 1
        else:
            bad += 1
except socket.timeout:
    pass
print(good, bad, flush=True)
"""
UDP_CLIENT = r"""
import hashlib, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1200)  # UDP_SEGMENT: the kernel hands the TUN USO super-packets
count = int(sys.argv[2])
def datagram(seq):
    head = seq.to_bytes(4, "big")
    return head + hashlib.sha256(head).digest() * 37 + bytes(1200 - 4 - 32 * 37)
for first in range(0, count, 20):
    s.sendto(b"".join(datagram(q) for q in range(first, first + 20)), (sys.argv[1], 5301))
    time.sleep(0.002)
print(count, flush=True)
"""


def iperf3(client_ns: Netns, server_ns: Netns, address: str, *extra: str) -> dict:
    server = server_ns.popen("iperf3", "-s", "-1", "-B", address, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = client_ns.run("iperf3", "-c", address, "-t", "2", "-J", *extra, check=False, timeout=60).stdout
        report = json.loads(out)
        assert "error" not in report, report.get("error")
        return report
    finally:
        server.wait(15)


# ---- configuration ----

def test_offloads_are_on_by_default_and_off_on_request():
    with Netns("o") as ns:
        with wintun.TunDevice(f"wto{os.getpid() % 10000}c", netns=ns.name) as tun:
            assert tun.offload == "transparent"
            assert tun.kernel_offloads & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
            on = features(ns, tun.ifname)
            assert on["tcp-segmentation-offload"] == "on" and on["tx-checksumming"] == "on"
            if tun.kernel_offloads & TUN_F_USO4:
                assert on["tx-udp-segmentation"] == "on"
            tun.offload = False
            assert tun.offload == "none" and tun.kernel_offloads == 0
            assert features(ns, tun.ifname)["tcp-segmentation-offload"] == "off"
            tun.offload = "super_packets"
            assert tun.offload == "super_packets" and features(ns, tun.ifname)["tcp-segmentation-offload"] == "on"
            tun.up()
            with pytest.raises(OSError) as busy:
                tun.offload = "transparent"
            assert busy.value.errno == errno.EBUSY and tun.offload == "super_packets"
            tun.down()
            tun.offload = "transparent"
        with wintun.TunDevice(f"wto{os.getpid() % 10000}d", netns=ns.name, offload=False) as tun:
            assert tun.offload == "none" and features(ns, tun.ifname)["tcp-segmentation-offload"] == "off"


def test_the_environment_turns_offloads_off():
    code = ("import wintun, sys\n"
            "with wintun.TunDevice('wtoffenv', netns=sys.argv[1]) as t:\n"
            "    print(t.offload, t.kernel_offloads, flush=True)\n"
            "    try:\n"
            "        t.offload = 'transparent'\n"
            "    except OSError as e:\n"
            "        print(e.errno)\n")
    with Netns("o") as ns:
        out = run(sys.executable, "-c", code, ns.name, env=dict(os.environ, WINTUN_OFFLOAD="off", PYTHONPATH=ROOT))
        assert out.stdout.split() == ["none", "0", str(errno.EOPNOTSUPP)], out.stderr


def test_offload_arguments():
    with pytest.raises(ValueError, match="super_packets"):
        wintun.TunDevice(backend="emulated", offload="turbo")
    with pytest.raises(TypeError):
        wintun.TunDevice(backend="emulated", offload=3)
    with wintun.TunDevice(backend="emulated") as tun:
        assert tun.offload == "none" and tun.kernel_offloads == 0
        tun.offload = False
        with pytest.raises(OSError) as unsupported:
            tun.offload = True
        assert unsupported.value.errno == errno.EOPNOTSUPP
        with pytest.raises(AttributeError):
            del tun.offload
    with pytest.raises(OSError):
        wintun.TunDevice("wtoffemu", backend="emulated", offload=True)
    with wintun.TunDevice("wtoffemu", backend="emulated") as tun:  # the refused one left nothing behind
        assert tun.name == "wtoffemu"


# ---- transparent mode ----

@pytest.mark.parametrize("address", ["10.90.0.2", "fd00:90::2"])
def test_a_tcp_stream_crosses_as_ordinary_packets_cut_and_merged(address):
    with Pair() as pair:
        before_a, before_b = link_stats(pair.a, pair.ta.ifname), link_stats(pair.b, pair.tb.ifname)
        tcp_stream(pair.a, pair.b, address, 24 << 20)
        after_a, after_b = link_stats(pair.a, pair.ta.ifname), link_stats(pair.b, pair.tb.ifname)
        assert pair.problems == []
        # A's kernel sent super-packets (fewer than the packets the forwarder saw), which the driver
        # cut; B's kernel received merged writes (fewer than the packets written into B's ring).
        sent_by_a = after_a["tx_packets"] - before_a["tx_packets"]
        taken_by_b = after_b["rx_packets"] - before_b["rx_packets"]
        assert 0 < sent_by_a < pair.moved["ab"] / 3, (sent_by_a, pair.moved)
        assert 0 < taken_by_b < pair.moved["ab"] / 3, (taken_by_b, pair.moved)
        stats = pair.tb.stats
        assert stats.write_errors == 0 and stats.write_discards == 0


def test_udp_super_packets_cross_as_datagrams():
    with Pair() as pair:
        if not pair.ta.kernel_offloads & TUN_F_USO4:
            pytest.skip("this kernel has no USO on TUN (Linux 6.2 or later)")
        server = pair.b.popen(sys.executable, "-c", UDP_SERVER, "10.90.0.2", stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "listening"
            before = link_stats(pair.a, pair.ta.ifname)
            pair.a.run(sys.executable, "-c", UDP_CLIENT, "10.90.0.2", "4000", timeout=120)
            sent_by_a = link_stats(pair.a, pair.ta.ifname)["tx_packets"] - before["tx_packets"]
            good, bad = map(int, server.stdout.readline().split())
        finally:
            server.kill()
            server.wait(10)
        assert pair.problems == []
        assert bad == 0 and good >= 3600, (good, bad, pair.ta.stats, pair.tb.stats)
        assert sent_by_a <= 4000 / 10  # 20 datagrams a super-packet
        assert pair.ta.stats.read_errors == 0


def test_iperf3_tcp_and_udp_in_transparent_mode():
    with Pair() as pair:
        tcp = iperf3(pair.a, pair.b, "10.90.0.2")
        assert tcp["end"]["sum_received"]["bytes"] > 0
        udp = iperf3(pair.a, pair.b, "10.90.0.2", "-u", "-b", "200M", "-l", "1400")
        assert udp["end"]["sum"]["packets"] > 0 and udp["end"]["sum"]["lost_percent"] < 50
        assert pair.problems == []


def test_the_far_side_sees_only_valid_packets():
    """A -> B -> C: B forwards what the driver merged into B's kernel out of a veth with offloads
    off, so its kernel cuts and checksums each super-packet; tcpdump in C sees the result."""
    if not shutil.which("tcpdump"):
        pytest.skip("needs tcpdump")
    with Pair() as pair, Netns("oc") as c:
        veth(pair.b, c, "10.91.0.1/24", "10.91.0.2/24")
        end_b, end_c = f"v{pair.b.name[-6:]}", f"v{c.name[-6:]}"
        pair.b.run("ethtool", "-K", end_b, "tso", "off", "gso", "off", "tx", "off")
        pair.b.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        pair.a.run("ip", "route", "add", "10.91.0.0/24", "via", "10.90.0.2")
        c.run("ip", "route", "add", "10.90.0.0/24", "via", "10.91.0.1")
        capture = os.path.join("/tmp", f"{c.name}.pcap")
        dump = c.popen("tcpdump", "-i", end_c, "-w", capture, "-U", "-s", "0", "tcp", stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
        try:
            assert "listening" in dump.stderr.readline()
            tcp_stream(pair.a, c, "10.91.0.2", 8 << 20)
            time.sleep(0.5)
        finally:
            dump.terminate()
            dump.wait(10)
        with open(capture, "rb") as f:
            data = f.read()
        os.unlink(capture)
        checked = bad = 0
        offset = 24
        while offset + 16 <= len(data):
            _, _, caplen, length = struct.unpack_from("<IIII", data, offset)
            frame = data[offset + 16:offset + 16 + caplen]
            offset += 16 + caplen
            ip = frame[14:]
            if ip[0] >> 4 != 4 or ip[9] != 6 or ip[12:14] != bytes([10, 90]):
                continue  # only A -> C
            total = struct.unpack_from("!H", ip, 2)[0]
            checked += 1
            bad += invalid(ip, 1500) is not None or length != 14 + total or caplen != length
        assert checked > 1000 and bad == 0, (checked, bad)
        assert pair.problems == []


# ---- super-packet mode ----

def tunnel_ends(a: Netns, b: Netns, *extra: str):
    veth(a, b, "10.99.0.1/24", "10.99.0.2/24")
    path = os.path.join(ROOT, "examples", "tunnel.py")
    env = dict(os.environ, PYTHONPATH=ROOT)
    ends = [b.popen(sys.executable, path, "--listen", "10.99.0.2:5555", "--addr", "fd00:77::2/64", *extra,
                    stdout=subprocess.PIPE, text=True, env=env),
            a.popen(sys.executable, path, "--connect", "10.99.0.2:5555", "--addr", "fd00:77::1/64", *extra,
                    stdout=subprocess.PIPE, text=True, env=env)]
    return ends, [line.split(":", 1)[1].strip() for line in wait_ready(*ends)]


@pytest.mark.parametrize("extra,mode", [((), "super-packets"), (("--no-super-packets",), "one packet per frame")])
def test_tunnel_py_carries_every_byte(extra, mode):
    with Netns("ta") as a, Netns("tb") as b:
        ends, modes = tunnel_ends(a, b, *extra)
        try:
            assert modes == [mode, mode]
            tcp_stream(a, b, "fd00:77::2", 16 << 20)
            tcp_stream(b, a, "fd00:77::1", 4 << 20, seed=8)
            report = iperf3(a, b, "fd00:77::2")
            assert report["end"]["sum_received"]["bytes"] > 0
            udp = iperf3(a, b, "fd00:77::2", "-u", "-b", "100M", "-l", "1200")
            assert udp["end"]["sum"]["packets"] > 0
        finally:
            for end in ends:
                end.terminate()
                end.wait(10)


def test_split_super_packet():
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    payload = bytes(range(256)) * 12  # 3072 bytes, cut at 1000
    tcp = struct.pack("!HHIIBBHHH", 40000, 5201, 1000, 7, 5 << 4, 0x19, 512, 0, 0) + payload
    partial = 0xFFFF - checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)))
    tcp = tcp[:16] + struct.pack("!H", partial) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x100, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    vnet = struct.pack("=BBHHHH", 1, 1, 40, 1000, 20, 16)
    segments = wintun.split_super_packet(vnet + ip + tcp)
    assert [len(s) for s in segments] == [1040, 1040, 1040, 112]
    for i, s in enumerate(segments):
        assert invalid(s, 1500) is None
        assert struct.unpack_from("!H", s, 4)[0] == 0x100 + i  # IPv4 id
        assert struct.unpack_from("!I", s, 24)[0] == 1000 + 1000 * i  # sequence number
        assert s[33] == (0x19 if i == 3 else 0x10)  # PSH and FIN on the last only
        assert s[40:] == payload[1000 * i:1000 * (i + 1)]
    plain = ip[:2] + struct.pack("!H", 60) + ip[4:10]
    assert wintun.split_super_packet(bytes(10) + bytes([0x45]) + bytes(19)) == [bytes([0x45]) + bytes(19)]
    with pytest.raises(ValueError):
        wintun.split_super_packet(vnet + plain + tcp[:20])  # lengths disagree
    with pytest.raises(ValueError):
        wintun.split_super_packet(b"short")
    with pytest.raises(TypeError):
        wintun.split_super_packet("text")
    assert wintun.VNET_HDR_LEN == 10


UDP_BURST = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
segment, total, count = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s.setsockopt(socket.SOL_UDP, 103, segment)  # UDP_SEGMENT
for _ in range(count):
    s.sendto(bytes(total), (sys.argv[1], 9))
"""


def udp_burst(ns: Netns, segment: int, total: int, count: int = 1) -> None:
    ns.run(sys.executable, "-c", UDP_BURST, "10.93.0.2", str(segment), str(total), str(count))


def drain(tun: wintun.TunDevice, want: int, seconds: float = 5) -> list:
    packets, deadline = [], time.monotonic() + seconds
    while len(packets) < want and time.monotonic() < deadline:
        packets += tun.read_batch()
        if len(packets) < want:
            tun.wait_read_event(0.1)
    return packets


def test_super_packet_mode_carries_udp_super_packets_and_cuts_what_a_ring_cannot():
    with Netns("os") as ns, wintun.TunDevice(f"wto{os.getpid() % 10000}s", netns=ns.name, offload=True) as tun:
        if not tun.kernel_offloads & TUN_F_USO4:
            pytest.skip("this kernel has no USO on TUN (Linux 6.2 or later)")
        tun.mtu = 1500
        tun.addr = "10.93.0.1/24"
        tun.up()
        udp_burst(ns, 1200, 12000)  # one super-packet of 10 datagrams
        (packet,) = drain(tun, 1)
        flags, gso_type, _, gso_size = struct.unpack_from("=BBHH", packet)
        assert (flags, gso_type, gso_size) == (1, 5, 1200) and len(packet) == 10 + 20 + 8 + 12000
        datagrams = wintun.split_super_packet(packet)
        assert len(datagrams) == 10 and all(len(d) == 1228 and invalid(d, 1500) is None for d in datagrams)
        # 65 500 bytes: with its header more than a ring packet holds, so it arrives cut, each
        # datagram behind a zero header
        udp_burst(ns, 1310, 65500)
        packets = drain(tun, 50)
        assert len(packets) == 50 and all(p[:10] == bytes(10) and invalid(p[10:], 1500) is None for p in packets)
        assert tun.stats.read_errors == 0


def test_segments_that_find_the_ring_full_are_counted():
    with Netns("of") as ns, wintun.TunDevice(f"wto{os.getpid() % 10000}f", "T", 0x20000, netns=ns.name) as tun:
        if not tun.kernel_offloads & TUN_F_USO4:
            pytest.skip("this kernel has no USO on TUN (Linux 6.2 or later)")
        tun.mtu = 1500
        tun.addr = "10.93.0.1/24"
        tun.up()
        udp_burst(ns, 1400, 1400 * 40, count=4)  # 160 datagrams of 1428 bytes, 128 KiB ring unread
        deadline = time.monotonic() + 5
        while tun.stats.read_packets + tun.stats.read_drops < 160 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = tun.stats
        assert stats.read_packets + stats.read_drops == 160 and stats.read_drops > 0, stats
        assert len(drain(tun, stats.read_packets)) == stats.read_packets  # what was published is there
