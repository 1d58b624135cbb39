"""Small IPv4/IPv6 helpers for examples, tests and the CLI: checksums, ICMP echo requests and
replies, a one-line description of a packet. Not a packet library."""
from __future__ import annotations

import ipaddress
import struct
from typing import Optional

__all__ = ["checksum", "echo_request_v4", "echo_request_v6", "echo_reply", "describe"]


def checksum(data: bytes, initial: int = 0) -> int:
    """The Internet checksum (RFC 1071) of data, folded, starting from initial."""
    if len(data) % 2:
        data += b"\0"
    total = initial + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_header_v6(src: bytes, dst: bytes, length: int) -> bytes:
    return src + dst + struct.pack("!IxxxB", length, 58)


def echo_request_v4(src: str, dst: str, seq: int, payload: bytes = b"wintun demo") -> bytes:
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5754, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq & 0xFFFF, 0, 64, 1, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + icmp


def echo_request_v6(src: str, dst: str, seq: int, payload: bytes = b"wintun demo") -> bytes:
    s, d = ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed
    icmp = struct.pack("!BBHHH", 128, 0, 0, 0x5754, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(_pseudo_header_v6(s, d, len(icmp)) + icmp)) + icmp[4:]
    return struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64) + s + d + icmp


def echo_reply(packet: bytes) -> Optional[bytes]:
    """The reply to an ICMPv4/ICMPv6 echo request (addresses swapped, checksums recomputed), or
    None if packet is not one."""
    if len(packet) >= 28 and packet[0] >> 4 == 4 and packet[9] == 1:
        ihl = (packet[0] & 0x0F) * 4
        total = struct.unpack("!H", packet[2:4])[0]
        if ihl < 20 or total > len(packet) or total < ihl + 8 or packet[ihl] != 8:
            return None
        header = bytearray(packet[:ihl])
        header[12:16], header[16:20] = packet[16:20], packet[12:16]
        header[8] = 64
        header[10:12] = b"\0\0"
        header[10:12] = struct.pack("!H", checksum(bytes(header)))
        icmp = bytearray(packet[ihl:total])
        icmp[0] = 0
        icmp[2:4] = b"\0\0"
        icmp[2:4] = struct.pack("!H", checksum(bytes(icmp)))
        return bytes(header) + bytes(icmp)
    if len(packet) >= 48 and packet[0] >> 4 == 6 and packet[6] == 58:
        length = struct.unpack("!H", packet[4:6])[0]
        if 40 + length > len(packet) or length < 8 or packet[40] != 128:
            return None
        src, dst = packet[24:40], packet[8:24]
        icmp = bytearray(packet[40 : 40 + length])
        icmp[0] = 129
        icmp[2:4] = b"\0\0"
        icmp[2:4] = struct.pack("!H", checksum(_pseudo_header_v6(src, dst, length) + bytes(icmp)))
        return packet[:7] + b"\x40" + src + dst + bytes(icmp)
    return None


def describe(packet: bytes) -> str:
    """One line about a packet: version, ICMP echo kind or protocol, addresses, size."""
    version = packet[0] >> 4 if packet else 0
    if version == 4 and len(packet) >= 20:
        src, dst = ipaddress.IPv4Address(packet[12:16]), ipaddress.IPv4Address(packet[16:20])
        ihl = (packet[0] & 0x0F) * 4
        kind = f"proto {packet[9]}"
        if packet[9] == 1 and len(packet) > ihl:
            kind = {0: "ICMP echo reply", 8: "ICMP echo request"}.get(packet[ihl], "ICMP")
        return f"IPv4 {kind} {src} -> {dst}, {len(packet)} bytes"
    if version == 6 and len(packet) >= 40:
        src, dst = ipaddress.IPv6Address(packet[8:24]), ipaddress.IPv6Address(packet[24:40])
        kind = f"next header {packet[6]}"
        if packet[6] == 58 and len(packet) > 40:
            kind = {129: "ICMPv6 echo reply", 128: "ICMPv6 echo request"}.get(packet[40], "ICMPv6")
        return f"IPv6 {kind} {src} -> {dst}, {len(packet)} bytes"
    return f"not IP, {len(packet)} bytes"
