"""TunDevice: the seed usage flow, every property, every bad input."""
import ipaddress
import os
import pathlib
import re
import sys
import threading
import uuid

import pytest

import wintun
from packets import echo_request_v4, ipv4, ipv6, seq_of, wait_until


def test_seed_usage_flow():
    """The README example of the package's ancestor, on the emulated backend."""
    lines = []
    wintun.set_logger(lambda level, timestamp, message: lines.append((level, timestamp, message)))
    try:
        tun = wintun.TunDevice("Demo", "tunnel", 0x40000, backend="emulated")
        assert wintun.get_driver_version() == (0 << 16) | 14
        assert tun.mtu == 1500
        tun.mtu = 1400
        assert tun.mtu == 1400
        tun.ring_capacity = 8 * 1024 * 1024
        assert tun.ring_capacity == 0x800000
        tun.addr = "10.2.0.1"
        assert tun.addr == "10.2.0.1/24"
        tun.up()
        assert tun.is_up

        received, stop = [], threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    packet = tun.read()
                except wintun.AdapterClosedError:
                    return
                if packet is None:
                    tun.wait_read_event(timeout=1)
                else:
                    received.append(packet)

        thread = threading.Thread(target=reader)
        thread.start()
        for seq in range(10):
            tun.os_side.inject(ipv4(100, seq))
        tun.write(echo_request_v4("10.2.0.9", "10.2.0.1", 1))  # the OS answers its own address
        for _ in range(200):
            if len(received) == 11:
                break
            threading.Event().wait(0.01)
        tun.down()
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert len(received) == 11
        assert [seq_of(p) for p in received[:10]] == list(range(10))
        assert received[10][20] == 0  # the OS's ICMP echo reply
        assert not tun.is_up
        tun.close()
    finally:
        wintun.set_logger(None)
    levels = {level for level, _, _ in lines}
    assert wintun.LOG_INFO in levels
    assert any('Created emulated adapter "Demo"' in message for _, _, message in lines)


def test_constructor_defaults_and_positional(tun_factory):
    tun = wintun.TunDevice(backend="emulated")
    other = wintun.TunDevice(backend="emulated")  # a default name is a fresh one, as tun%d
    try:
        assert re.fullmatch(r"wintun\d+", tun.name) and re.fullmatch(r"wintun\d+", other.name)
        assert tun.name != other.name
        assert tun.ifname is None  # no Linux interface behind an emulated adapter
        assert tun.tunnel_type == "Wintun"
        assert tun.ring_capacity == 0x400000
        assert tun.backend == "emulated"
        assert not tun.is_up and not tun.closed
    finally:
        tun.close()
        other.close()
    assert tun.closed
    tun = wintun.TunDevice("pos", "tunnel", 0x40000, "deadbabe-cafe-beef-0123-456789abcdef", backend="emulated")
    try:
        assert tun.guid == uuid.UUID("deadbabe-cafe-beef-0123-456789abcdef")
        assert tun.ring_capacity == 0x40000
    finally:
        tun.close()


def test_identity(tun_factory):
    g = uuid.uuid4()
    tun = tun_factory("ident", guid=g)
    assert tun.guid == g
    assert tun.luid >> 48 == 53  # IfType: virtual
    assert (tun.luid >> 24) & 0xFFFFFF != 0
    other = tun_factory("ident2", guid="{" + str(uuid.uuid4()).upper() + "}")
    assert other.luid != tun.luid
    assert "ident" in repr(tun) and "emulated" in repr(tun)


def test_environment_picks_the_auto_backend(monkeypatch):
    monkeypatch.setenv("WINTUN_BACKEND", "emulated")
    with wintun.TunDevice("envpick") as tun:
        assert tun.backend == "emulated"
    monkeypatch.setenv("WINTUN_BACKEND", "nonsense")
    with pytest.raises(ValueError, match="WINTUN_BACKEND"):
        wintun.TunDevice("envpick")


@pytest.mark.skipif(os.geteuid() == 0, reason="as root, test_kernel.py checks this as an unprivileged user")
def test_auto_without_kernel_names_the_way_out(monkeypatch):
    monkeypatch.delenv("WINTUN_BACKEND", raising=False)
    with pytest.raises(wintun.NotPermittedError) as excinfo:
        wintun.TunDevice("autopick")
    assert "backend='emulated'" in str(excinfo.value) and "netns='private'" in str(excinfo.value)


def test_mtu_round_trip_and_bad_values(tun_device):
    for mtu in (68, 576, 1280, 1500, 9000, 65535):
        tun_device.mtu = mtu
        assert tun_device.mtu == mtu
    for bad in (0, 67, 65536, -1, 1 << 40):
        with pytest.raises(ValueError, match="mtu"):
            tun_device.mtu = bad
    for bad in ("1500", 1500.0, None, True):
        with pytest.raises(TypeError, match="mtu must be an int"):
            tun_device.mtu = bad
    with pytest.raises(AttributeError):
        del tun_device.mtu
    assert tun_device.mtu == 65535  # failed sets changed nothing
    tun_device.add_address("fd00::1")
    with pytest.raises(ValueError, match="1279"):
        tun_device.mtu = 1279  # IPv6 needs 1280


def test_ring_capacity_validated(tun_device):
    for good in (wintun.MIN_RING_CAPACITY, 0x40000, 0x800000, wintun.MAX_RING_CAPACITY):
        tun_device.ring_capacity = good
        assert tun_device.ring_capacity == good
    for bad in (0, 0x10000, 0x30000, 0x8000000, -0x20000, 1 << 70):
        with pytest.raises(ValueError, match="power of two"):
            tun_device.ring_capacity = bad
    for bad in ("0x20000", 0x20000 * 1.0, None, True):
        with pytest.raises(TypeError):
            tun_device.ring_capacity = bad
    with pytest.raises(ValueError):
        wintun.TunDevice("badcap", "t", 12345, backend="emulated")


def test_ring_capacity_takes_effect_at_next_up(tun_device):
    tun_device.ring_capacity = 0x20000
    tun_device.down()
    tun_device.up()
    sent = 0
    with pytest.raises(wintun.RingFullError):
        while sent < 10000:  # 128 KiB holds ~88 packets of 1400 bytes, while nobody reads the OS side
            tun_device.os_side.inject(ipv4(1400, sent))
            sent += 1
    assert 80 <= sent <= 95


def test_addr_and_addresses(tun_device):
    assert tun_device.addr is None and tun_device.addresses == []
    tun_device.addr = "10.0.0.1"
    assert tun_device.addr == "10.0.0.1/24"
    tun_device.addr = "10.0.0.2/16"  # replaces the IPv4 address
    assert tun_device.addresses == [ipaddress.ip_interface("10.0.0.2/16")]
    tun_device.addr = "fd00:1::2"
    assert ipaddress.ip_interface("fd00:1::2/64") in tun_device.addresses
    tun_device.addr = ipaddress.ip_interface("fd00:2::2/56")
    tun_device.add_address(ipaddress.ip_address("10.9.9.9"))
    assert set(map(str, tun_device.addresses)) == {"10.0.0.2/16", "fd00:2::2/56", "10.9.9.9/24"}
    tun_device.remove_address("10.9.9.9/24")
    with pytest.raises(wintun.NotFoundError):
        tun_device.remove_address("10.9.9.9/24")
    with pytest.raises(wintun.AlreadyExistsError):
        tun_device.add_address("10.0.0.2/16")
    for bad in ("10.0.0.256", "nope", "10.0.0.1/33", "fd00::1/129", "10.0.0.1/x", ""):
        with pytest.raises(ValueError):
            tun_device.addr = bad
    for bad in (None, 167772161, b"10.0.0.1"):
        with pytest.raises(TypeError):
            tun_device.addr = bad
    assert set(map(str, tun_device.addresses)) == {"10.0.0.2/16", "fd00:2::2/56"}


def test_stats(tun_device, tun_os):
    tun_device.write(ipv4(100))
    tun_device.write(ipv6(120))
    tun_os.inject(ipv4(60))
    assert tun_device.read() is not None
    assert tun_os.capture(timeout=2) and tun_os.capture(timeout=2)
    # Written packets are counted once the batch is handed over, just after the capture.
    assert wait_until(lambda: tun_device.stats.write_packets == 2)
    stats = tun_device.stats
    assert stats.read_packets == 1 and stats.read_bytes == 60
    assert stats.write_packets == 2 and stats.write_bytes == 220
    assert stats.read_drops == stats.write_drops == stats.write_discards == stats.write_errors == 0
    assert isinstance(stats, wintun.Statistics) and stats._fields[0] == "read_packets"


def test_read_write_batch_readinto(tun_device, tun_os):
    assert tun_device.read() is None
    assert tun_device.read_batch() == []
    tun_os.inject_batch([ipv4(64, i) for i in range(10)])
    batch = tun_device.read_batch(4)
    assert [seq_of(p) for p in batch] == [0, 1, 2, 3]
    assert [seq_of(p) for p in tun_device.read_batch()] == [4, 5, 6, 7, 8, 9]
    tun_os.inject(ipv4(200, 42))
    small = bytearray(100)
    with pytest.raises(ValueError, match="too small"):
        tun_device.readinto(small)
    big = bytearray(2048)
    assert tun_device.readinto(big) == 200 and seq_of(big) == 42  # the packet was kept, not lost
    assert tun_device.readinto(big) is None
    assert tun_device.write_batch([ipv4(64, i) for i in range(5)]) == 5
    assert tun_device.write_batch([]) == 0
    captured = [tun_os.capture(timeout=2) for _ in range(5)]
    assert [seq_of(p) for p in captured] == list(range(5))
    assert tun_device.write(memoryview(ipv6(80, 7))) == 80
    assert seq_of(tun_os.capture(timeout=2)) == 7


def test_write_strips_tun_packet_information():
    """pymobiledevice3 prepends Linux's 4-byte PI header; it is stripped."""
    with wintun.TunDevice("pi", backend="emulated") as tun:
        tun.up()
        packet = ipv6(80, 3)
        assert tun.write(b"\x00\x00\x86\xdd" + packet) == 80
        assert tun.write(b"\x00\x00\x08\x00" + ipv4(40, 4)) == 40
        assert tun.os_side.capture(timeout=2) == packet
        assert seq_of(tun.os_side.capture(timeout=2)) == 4


def test_write_bad_input(tun_device, tun_os):
    with pytest.raises(TypeError, match="not str"):
        tun_device.write("E" * 40)
    with pytest.raises(TypeError):
        tun_device.write(12345)
    with pytest.raises(ValueError, match="larger than 65535"):
        tun_device.write(b"\x45" + bytes(65535))
    with pytest.raises(ValueError, match="packet 1 is larger"):
        tun_device.write_batch([ipv4(40, 1), b"\x45" + bytes(65535), ipv4(40, 2)])
    with pytest.raises(TypeError):
        tun_device.write_batch([ipv4(40), "str"])
    with pytest.raises(TypeError):
        tun_device.write_batch(5)
    assert tun_os.capture_all() == []  # nothing of a refused batch was written
    assert tun_device.write(ipv4(40, 9)) == 40  # still usable
    assert seq_of(tun_os.capture(timeout=2)) == 9


def test_bytes_that_are_not_ip_are_discarded_and_counted(tun_device, tun_os):
    """pymobiledevice3 does not catch ValueError: one malformed frame from the device must not
    kill its pump. As Wintun's driver, the adapter discards what is no IP packet and counts it."""
    lines = []
    wintun.set_logger(lambda level, stamp, text: lines.append((level, text)))
    try:
        assert tun_device.write(b"") == 0
        assert tun_device.write(b"\x45" * 19) == 19  # shorter than an IPv4 header
        assert tun_device.write(b"\x12" * 100) == 100
        assert tun_device.write_batch([ipv4(40, 1), b"junk", ipv4(40, 2)]) == 3
        assert [seq_of(tun_os.capture(timeout=2)) for _ in range(2)] == [1, 2]
        assert wait_until(lambda: tun_device.stats.write_discards == 4)
        assert wait_until(lambda: any("not IPv4 or IPv6" in text for _, text in lines))
    finally:
        wintun.set_logger(None)
    assert sum("not IPv4 or IPv6" in text for _, text in lines) <= 2  # rate-limited
    assert tun_os.capture_all() == []


def test_ring_full_drops_and_counts_by_default(tun_pair):
    a, b = tun_pair  # b never reads: the lossless wire pushes back
    assert a.on_full == "drop" and a.write_timeout == 0.05
    a.write_timeout = 0.001
    sent = 7000  # more than both rings (4 MiB each) hold
    for i in range(sent):
        assert a.write(ipv4(1400, i)) == 1400  # never raises, as a kernel TUN write
    got = []
    while True:
        batch = b.read_batch(256)
        if not batch and not b.wait_read_event(timeout=0.5):
            break
        got += batch
    seqs = [seq_of(p) for p in got]
    assert seqs == sorted(seqs)  # in order, the dropped ones missing
    a.down()  # what is still in a's ring is handed over or counted
    b.down()
    st = a.stats
    assert st.write_drops > 0
    assert st.write_packets + st.write_drops == sent
    assert b.stats.read_packets == len(got) + b.stats.read_unread


def test_ring_full_raises_with_on_full_raise(tun_pair):
    a, b = tun_pair  # b never reads: the lossless wire pushes back
    a.on_full = "raise"
    a.write_timeout = 0
    written = 0
    with pytest.raises(wintun.RingFullError) as excinfo:
        for i in range(100000):
            a.write(ipv4(1400, i))
            written += 1
    assert isinstance(excinfo.value, BlockingIOError)
    assert excinfo.value.winerror == 111 and excinfo.value.errno == 11
    assert written > 100
    got = []
    while len(got) < written:
        batch = b.read_batch(256)
        if not batch:
            assert b.wait_read_event(timeout=5)
        got += batch
    assert [seq_of(p) for p in got] == list(range(written))
    assert a.stats.write_drops == 0 and b.stats.read_drops == 0


def test_wait_read_event(tun_device, tun_os):
    assert tun_device.wait_read_event(timeout=0) is False
    assert tun_device.wait_read_event(0.05) is False
    tun_os.inject(ipv4())
    assert tun_device.wait_read_event(timeout=2) is True
    assert tun_device.wait_read_event() is True  # still there: returns at once
    tun_device.read()
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError):
            tun_device.wait_read_event(bad)
    with pytest.raises(TypeError):
        tun_device.wait_read_event("1")


def test_fileno_is_pollable(tun_device, tun_os):
    import select

    fd = tun_device.fileno()
    assert tun_device.read() is None  # drained: the fd is armed
    assert select.select([fd], [], [], 0)[0] == []
    tun_os.inject(ipv4())
    assert select.select([fd], [], [], 2)[0] == [fd]
    assert tun_device.read() is not None
    assert tun_device.read() is None
    assert select.select([fd], [], [], 0)[0] == []


def test_lifecycle_and_closed_errors():
    tun = wintun.TunDevice("life", backend="emulated")
    with pytest.raises(wintun.AdapterClosedError, match="up"):
        tun.read()
    with pytest.raises(wintun.AdapterClosedError):
        tun.write(ipv4())
    with pytest.raises(wintun.AdapterClosedError):
        tun.wait_read_event(0)
    with pytest.raises(wintun.AdapterClosedError):
        tun.fileno()
    tun.up()
    tun.up()  # idempotent
    tun.down()
    tun.down()  # idempotent
    tun.up()
    tun.close()
    tun.close()  # idempotent
    tun.down()
    for call in (tun.up, tun.read, lambda: tun.write(ipv4()), lambda: tun.mtu, lambda: tun.luid):
        with pytest.raises(wintun.AdapterClosedError, match="closed"):
            call()
    assert not tun.is_up and tun.closed
    with pytest.raises(wintun.AdapterClosedError):
        with tun:
            pass
    with pytest.raises(TypeError):
        tun.up(1)


def test_context_manager_removes_the_adapter():
    with wintun.TunDevice("ctx", backend="emulated") as tun:
        tun.up()
    assert tun.closed
    with wintun.TunDevice("ctx", backend="emulated"):  # the name is free again
        pass


def test_constructor_bad_input():
    with pytest.raises(ValueError, match="empty"):
        wintun.TunDevice("", backend="emulated")
    with pytest.raises(ValueError, match="at most 127"):
        wintun.TunDevice("x" * 128, backend="emulated")
    with pytest.raises(ValueError, match="NUL"):
        wintun.TunDevice("a\0b", backend="emulated")
    with pytest.raises(ValueError, match="tunnel_type"):
        wintun.TunDevice("a", "", backend="emulated")
    with pytest.raises(TypeError):
        wintun.TunDevice(b"bytes", backend="emulated")
    with pytest.raises(ValueError, match="guid"):
        wintun.TunDevice("a", guid="not-a-guid", backend="emulated")
    with pytest.raises(TypeError, match="guid"):
        wintun.TunDevice("a", guid=12, backend="emulated")
    with pytest.raises(ValueError, match="backend"):
        wintun.TunDevice("a", backend="fast")
    with pytest.raises(TypeError):
        wintun.TunDevice("a", "b", 0x40000, None, "emulated")  # backend is keyword-only
    with pytest.raises(ValueError, match="cannot take"):
        wintun.TunDevice("a\udc80", backend="emulated")
    with wintun.TunDevice("dup", backend="emulated"):
        with pytest.raises(wintun.AlreadyExistsError) as excinfo:
            wintun.TunDevice("DUP", backend="emulated")
        assert excinfo.value.winerror == 183 and isinstance(excinfo.value, FileExistsError)
        assert "already exists" in str(excinfo.value)


def test_os_side_only_on_emulated(tun_device):
    assert isinstance(tun_device.os_side, wintun.EmulatedOS)
    with pytest.raises(ValueError):
        tun_device.os_side.connect(tun_device)
    with pytest.raises(TypeError):
        tun_device.os_side.connect("peer")
    with pytest.raises(wintun.NotFoundError):
        tun_device.os_side.disconnect()
    with pytest.raises(ValueError):
        tun_device.os_side.inject(bytes(65536))
    with pytest.raises(ValueError):
        tun_device.os_side.capture(timeout=-1)


def test_pair_and_echo(tun_pair):
    a, b = tun_pair
    for i in range(100):
        a.write(ipv4(64 + i, i))
    got = []
    while len(got) < 100:
        got += b.read_batch()
        if len(got) < 100:
            assert b.wait_read_event(timeout=2)
    assert [seq_of(p) for p in got] == list(range(100))
    b.write(ipv6(100, 5))
    assert a.wait_read_event(timeout=2) and seq_of(a.read()) == 5


@pytest.mark.skipif(sys.platform == "win32", reason="Linux: there is no wintun.dll to load")
def test_load_dll_is_windows_only():
    with pytest.raises(wintun.WintunError) as info:
        wintun.load_dll()
    assert info.value.winerror == 50 and "system's TUN device" in str(info.value)
    with pytest.raises(TypeError):
        wintun.load_dll(42)
    with pytest.raises(wintun.WintunError):
        wintun.load_dll(pathlib.Path("/nonexistent/wintun.dll"))


@pytest.mark.parametrize(
    "bad",
    ["0.0.0.0", "0.0.0.0/0", "::", "::/0", "224.0.0.1/4", "ff02::1", "255.255.255.255", "10.1.2.255/24",
     "fe80::1%eth0", "fe80::1%eth0/64", "10.0.0.1/２４", "10.0.0.1/+8", "10.0.0.1/ 8"],
)
def test_addresses_an_adapter_cannot_hold_are_refused(tun_device, bad):
    with pytest.raises(ValueError):
        tun_device.addr = bad
    with pytest.raises(ValueError):
        tun_device.add_address(bad)
    assert tun_device.addresses == []  # nothing half-configured


def test_address_objects_are_checked_too(tun_device):
    with pytest.raises(ValueError):
        tun_device.add_address(ipaddress.ip_interface("0.0.0.0/0"))
    with pytest.raises(ValueError):
        tun_device.add_address(ipaddress.ip_address("ff02::1"))
    tun_device.add_address(ipaddress.ip_interface("10.1.2.254/24"))  # the last host address is fine
    tun_device.add_address("10.9.0.1/31")  # a /31 has no broadcast address (RFC 3021)
    assert [str(a) for a in tun_device.addresses] == ["10.1.2.254/24", "10.9.0.1/31"]


def test_inject_refuses_an_empty_packet(tun_device, tun_os):
    with pytest.raises(ValueError, match="empty"):
        tun_os.inject(b"")
    tun_os.inject(ipv4(40, 3))
    assert seq_of(tun_device.read_batch(1)[0] if tun_device.wait_read_event(2) else b"") == 3


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_a_closed_device_holds_no_descriptor():
    def count():
        return len(os.listdir("/proc/self/fd"))

    warm = wintun.TunDevice(backend="emulated")  # process-wide state made once
    warm.up()
    warm.close()
    before = count()
    devices = [wintun.TunDevice(backend="emulated") for _ in range(5)]
    for tun in devices:
        tun.up()
    assert count() > before
    for tun in devices:
        tun.close()  # the objects stay referenced: no garbage collection helps here
    assert count() == before


def test_the_ipv6_mtu_floor_holds_both_ways(tun_device):
    """IPv6 needs an MTU of 1280: refused when the MTU is set and when an address is added."""
    tun_device.mtu = 1000
    with pytest.raises(ValueError, match="1280"):
        tun_device.add_address("fd00:5::1/64")  # the emulated backend accepted it before
    assert tun_device.addresses == []
    tun_device.mtu = 1280
    tun_device.add_address("fd00:5::1/64")
    with pytest.raises(ValueError):
        tun_device.mtu = 1279
    with pytest.raises(ValueError):
        tun_device.mtu = 2**70  # no OverflowError
    assert tun_device.mtu == 1280
