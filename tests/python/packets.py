"""Packet builders (and a polling helper) shared by the Python tests."""
import struct
import time

from wintun.packets import echo_reply, echo_request_v4, echo_request_v6  # noqa: F401  (re-exported)


def ipv4(size: int = 64, seq: int = 0, proto: int = 17) -> bytes:
    """An IPv4-looking packet of size bytes with seq in bytes 24..27."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, 0, 0, 64, proto, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    body = struct.pack("!I", seq).rjust(8, b"\0")
    return (header + body + bytes(size))[:size]


def ipv6(size: int = 80, seq: int = 0) -> bytes:
    header = struct.pack("!IHBB", 6 << 28, size - 40, 17, 64) + bytes(15) + b"\1" + bytes(15) + b"\2"
    return (header + struct.pack("!I", seq) + bytes(size))[:size]


def seq_of(packet: bytes) -> int:
    return struct.unpack("!I", packet[24:28])[0] if packet[0] >> 4 == 4 else struct.unpack("!I", packet[40:44])[0]


def wait_until(predicate, timeout: float = 2.0) -> bool:
    """Polls predicate until true or timeout: for counters the driver adds just after handing over."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True
