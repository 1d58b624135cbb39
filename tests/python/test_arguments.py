"""Bad arguments raise only the documented TypeError or ValueError (never OverflowError,
BufferError or WintunError), and leave the adapter usable; and what `addr` reads back."""
import array
import asyncio
import ipaddress

import pytest

import wintun
from packets import ipv6

HUGE = [2**31, 2**63, 2**64, 10**30, 10**400]
NEGATIVE = [-1, -2**63, -10**400]


def bad_int_setters():
    for value in HUGE + NEGATIVE + [0]:
        yield "mtu", value
        yield "ring_capacity", value
    for value in [1.5, "1280", None, b"x"]:
        yield "mtu", value
        yield "ring_capacity", value
    for value in HUGE + NEGATIVE + [float("nan"), float("inf"), "0.1", None, True]:
        yield "write_timeout", value
    for value in [None, 1, "", "drop ", b"drop"]:
        yield "on_full", value


@pytest.mark.parametrize("attribute,value", list(bad_int_setters()))
def test_bad_setter_values(tun_device, attribute, value):
    before = getattr(tun_device, attribute)
    with pytest.raises((TypeError, ValueError)) as info:
        setattr(tun_device, attribute, value)
    assert type(info.value) in (TypeError, ValueError)
    assert getattr(tun_device, attribute) == before


def bad_calls(tun):
    for value in HUGE + NEGATIVE + [0, 1.0, "1", None]:
        yield f"read_batch({value!r})", lambda value=value: tun.read_batch(value)
    for value in NEGATIVE + [float("nan"), "1", b"1", True]:
        yield f"wait_read_event({value!r})", lambda value=value: tun.wait_read_event(value)
        yield f"os_side.capture({value!r})", lambda value=value: tun.os_side.capture(value)
        yield f"async_wait_read({value!r})", lambda value=value: asyncio.run(tun.async_wait_read(value))
    for value in [None, 1, "str", memoryview(b"E" * 40)[::2], bytearray(70000)]:
        yield f"write({value!r:.30})", lambda value=value: tun.write(value)
        yield f"write_batch([{value!r:.30}])", lambda value=value: tun.write_batch([value])
        yield f"inject({value!r:.30})", lambda value=value: tun.os_side.inject(value)
        yield f"inject_batch([{value!r:.30}])", lambda value=value: tun.os_side.inject_batch([value])
    for value in [b"x" * 100, memoryview(b"x" * 100), memoryview(bytearray(100))[::2], "x" * 100, None]:
        yield f"readinto({value!r:.30})", lambda value=value: tun.readinto(value)
    yield "write_batch(None)", lambda: tun.write_batch(None)
    yield "write_batch(1)", lambda: tun.write_batch(1)
    for value in [1, b"10.0.0.1", "", "zz", "10.0.0.1/33", "10.0.0.1/-1", "::1/200", "10.0.0.1/ 24", "10.0.0.1/\u0662\u0664",
                  "0.0.0.0/0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "10.0.0.255/24", "fe80::1%eth0"]:
        yield f"addr = {value!r}", lambda value=value: setattr(tun, "addr", value)
        yield f"add_address({value!r})", lambda value=value: tun.add_address(value)


def test_bad_calls_raise_type_or_value_error(tun_device):
    tun_device.up()
    wrong = []
    for label, call in bad_calls(tun_device):
        try:
            call()
        except (TypeError, ValueError) as e:
            if type(e) not in (TypeError, ValueError):
                wrong.append(f"{label}: {type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001 - the point of the test
            wrong.append(f"{label}: {type(e).__name__}: {e}")
        else:
            wrong.append(f"{label}: accepted")
    assert not wrong, "\n".join(wrong)
    # The adapter is as usable as before.
    tun_device.os_side.inject(ipv6(40, 1))
    assert tun_device.wait_read_event(1) and tun_device.read() == ipv6(40, 1)


@pytest.mark.parametrize("kwargs", [
    dict(name=1), dict(name=""), dict(name="a\0b"), dict(name="x" * 128), dict(tunnel_type=""), dict(tunnel_type=1),
    dict(ring_capacity=10**400), dict(ring_capacity=-1), dict(ring_capacity=3), dict(guid="zz"), dict(guid=1),
    dict(backend="nope"), dict(backend=1), dict(netns=1), dict(on_full="x"), dict(write_timeout=-1),
    dict(write_timeout=float("nan")), dict(write_timeout=10**400), dict(write_timeout="1"),
])
def test_bad_constructor_arguments(kwargs):
    arguments = {"name": "wtargs", "backend": "emulated", **kwargs}
    with pytest.raises((TypeError, ValueError)) as info:
        wintun.TunDevice(**arguments).close()
    assert type(info.value) in (TypeError, ValueError)


def test_huge_timeouts_are_forever_not_overflow(tun_device):
    tun_device.up()

    async def wait():
        return await asyncio.wait_for(tun_device.async_wait_read(10**400), 0.1)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(wait())
    tun_device.write_timeout = 10
    assert tun_device.wait_read_event(1e-300) is False


def test_buffers_of_any_format_are_bytes(tun_device, tun_os):
    """A contiguous buffer is taken as its bytes, whatever its item format or shape."""
    tun_device.up()
    packet = ipv6(40, 7)
    words = array.array("H")
    words.frombytes(packet)  # items of 2 bytes: still len(packet) bytes
    tun_device.write(memoryview(bytearray(packet)).cast("B", (len(packet) // 8, 8)))
    tun_device.write(words)
    assert tun_os.capture(1) == packet and tun_os.capture(1) == packet


def test_addr_reads_back_what_was_set(tun_device):
    """After tun.addr = x, tun.addr is x while the OS holds it, whatever else was added."""
    tun_device.addr = "10.1.0.1/24"
    tun_device.addr = "fd00:1::1/64"
    assert tun_device.addr == "fd00:1::1/64"  # was: the IPv4 one, first in the OS's list
    tun_device.add_address("10.2.0.1/24")
    assert tun_device.addr == "fd00:1::1/64"
    tun_device.addr = "10.1.0.1/16"
    assert tun_device.addr == "10.1.0.1/16"
    assert ipaddress.ip_interface("fd00:1::1/64") in tun_device.addresses
    tun_device.remove_address("10.1.0.1/16")  # no longer held: the OS's first that is not link-local
    tun_device.add_address("fe80::1/64")
    assert tun_device.addr in ("fd00:1::1/64",)
    tun_device.remove_address("fd00:1::1/64")
    assert tun_device.addr == "fe80::1/64"
    tun_device.remove_address("fe80::1/64")
    assert tun_device.addr is None
