"""The bugs of the packages users come from (docs/python.md, "Coming from pywintunx-pmd3 or python-pytun"), each shown absent."""
import gc
import threading
import time
import uuid

import pytest

import wintun
from packets import ipv4, ipv6


# --- pywintunx-pmd3 -------------------------------------------------------------------------

def test_constructor_raises_instead_of_returning_none():
    with wintun.TunDevice("reg-none", backend="emulated") as tun:
        assert tun is not None
        with pytest.raises(wintun.AlreadyExistsError):
            wintun.TunDevice("reg-none", backend="emulated")


def test_existing_adapter_is_not_taken_over():
    """pywintunx opened an existing adapter of the same name instead of creating one."""
    with wintun.TunDevice("reg-take", backend="emulated") as first:
        first.up()
        with pytest.raises(wintun.AlreadyExistsError):
            wintun.TunDevice("reg-take", backend="emulated")
        assert first.is_up


def test_capacity_argument_exists_and_guid_is_honoured():
    g = uuid.UUID("deadbabe-cafe-beef-0123-456789abcdef")
    with wintun.TunDevice("reg-cap", "tunnel", 0x40000, g, backend="emulated") as tun:
        assert tun.ring_capacity == 0x40000
        assert tun.guid == g


def test_mtu_getter_reflects_the_setter(tun_device):
    """pywintunx stored the IPv6 MTU into mtu4: the getter never changed."""
    tun_device.mtu = 1280
    assert tun_device.mtu == 1280
    tun_device.mtu = 9000
    assert tun_device.mtu == 9000


def test_addr_prefix_honoured_and_bad_address_refused(tun_device):
    """pywintunx ignored "/64", and on a parse failure still set a zeroed address."""
    tun_device.addr = "fd00::2/112"
    assert tun_device.addr == "fd00::2/112"
    with pytest.raises(ValueError):
        tun_device.addr = "fd00::zz"
    assert [str(a) for a in tun_device.addresses] == ["fd00::2/112"]


def test_setters_raise_at_once(tun_device):
    """pywintunx's setters set an exception but returned success: it surfaced later as SystemError."""
    with pytest.raises(ValueError):
        tun_device.mtu = 0
    assert tun_device.mtu == 1500  # and the next statement runs cleanly


def test_read_before_up_raises_instead_of_crashing():
    with wintun.TunDevice("reg-early", backend="emulated") as tun:
        for call in (tun.read, tun.read_batch, lambda: tun.readinto(bytearray(10)), tun.fileno, tun.wait_read_event):
            with pytest.raises(wintun.AdapterClosedError):
                call()


def test_down_twice_then_close_is_safe():
    """pywintunx's down() did not clear the session: close() or dealloc freed it again."""
    tun = wintun.TunDevice("reg-double", backend="emulated")
    tun.up()
    tun.down()
    tun.down()
    tun.close()
    del tun
    gc.collect()


def test_dropping_the_object_removes_the_adapter():
    tun = wintun.TunDevice("reg-drop", backend="emulated")
    tun.up()
    del tun
    gc.collect()
    with wintun.TunDevice("reg-drop", backend="emulated"):  # the name is free again
        pass


def test_no_silent_protocol_filter(tun_device, tun_os):
    """pywintunx's proto_aware filter dropped IPv4 when only an IPv6 address was set."""
    tun_device.addr = "fd00::2"
    tun_os.inject(ipv4(60, 1))
    tun_os.inject(ipv6(80, 2))
    assert len(tun_device.read_batch()) == 2


def test_errors_carry_the_win32_code(tun_device):
    """pywintunx built read errors from errno: wrong code and text."""
    tun_device.down()
    with pytest.raises(wintun.AdapterClosedError) as excinfo:
        tun_device.read()
    assert excinfo.value.winerror != 0 and excinfo.value.errno != 0


def test_write_refuses_str(tun_device):
    """pywintunx parsed write() with "s#": a str was UTF-8 encoded and sent."""
    with pytest.raises(TypeError):
        tun_device.write("E" + "\0" * 39)


def test_full_ring_raises_not_minus_one(tun_pair):
    """pywintunx returned -1 without raising; pytun-pmd3 wrote to NULL."""
    a, _ = tun_pair
    a.on_full, a.write_timeout = "raise", 0
    with pytest.raises(wintun.RingFullError):
        for i in range(100000):
            assert a.write(ipv4(1400, i)) == 1400


def test_wait_has_a_timeout_and_releases_the_gil(tun_device):
    """pywintunx waited forever with the GIL held."""
    ticks = []
    t = threading.Thread(target=lambda: [ticks.append(time.sleep(0.01)) for _ in range(10)])
    t.start()
    assert tun_device.wait_read_event(timeout=0.3) is False
    t.join()
    assert len(ticks) == 10


def test_up_takes_no_arguments(tun_device):
    """pywintunx's up() was VARARGS and ignored what it was given."""
    with pytest.raises(TypeError):
        tun_device.up(0x800000)


# --- pytun-pmd3 (Windows) ---------------------------------------------------------------------

def test_a_wake_up_does_not_poison_later_waits(tun_device):
    """pytun-pmd3's manual-reset cancel event made every later read return None at once."""
    tun_device.down()
    tun_device.up()
    start = time.monotonic()
    assert tun_device.wait_read_event(timeout=0.1) is False
    assert time.monotonic() - start >= 0.09


def test_addr_getter_reads_back(tun_device):
    """pytun-pmd3's addr getter always returned ''."""
    tun_device.addr = "fd00:1::2"
    assert tun_device.addr == "fd00:1::2/64"


def test_logger_is_bound():
    """pytun-pmd3 never bound WintunSetLogger: the driver's messages were lost."""
    lines = []
    wintun.set_logger(lambda *a: lines.append(a))
    try:
        with wintun.TunDevice("reg-log", backend="emulated"):
            pass
    finally:
        wintun.set_logger(None)
    assert lines


def test_close_is_idempotent():
    """pymobiledevice3 #1420: a potential double close."""
    tun = wintun.TunDevice("reg-close", backend="emulated")
    tun.close()
    tun.close()
    tun.__exit__(None, None, None)


# --- python-pytun -----------------------------------------------------------------------------

def test_ipv6_addresses(tun_device):
    """pytun was IPv4-only."""
    tun_device.addr = "2001:db8::1/64"
    assert tun_device.addresses[0].version == 6


def test_close_wakes_a_blocked_reader(tun_device):
    """pytun #18: close() from another thread did not wake a thread blocked in read()."""
    results = []
    t = threading.Thread(target=lambda: results.append(tun_device.wait_read_event()))
    t.start()
    time.sleep(0.05)
    tun_device.close()
    t.join(5)
    assert results == [False]


def test_reads_carry_no_packet_information_header(tun_device, tun_os):
    """pytun (and pytun-pmd3 on Linux) read the 4-byte PI header in front of each packet."""
    packet = ipv6(80, 1)
    tun_os.inject(packet)
    assert tun_device.read() == packet
