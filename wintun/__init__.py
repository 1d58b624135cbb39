"""wintun: Wintun's userspace tunnel system, portable.

A TUN adapter whose packets cross between the OS and this process through Wintun's two
shared-memory rings::

    import wintun

    with wintun.TunDevice("Demo", "tunnel", 0x40000, backend="emulated") as tun:
        tun.mtu = 1400
        tun.addr = "10.6.7.7/24"
        tun.up()
        tun.write(packet)                  # one IPv4/IPv6 packet
        if tun.wait_read_event(timeout=1):
            print(tun.read())              # bytes, or None when nothing is waiting

See docs/python.md for the whole API.
"""
from __future__ import annotations

import asyncio
import atexit
import errno
import functools
import math
import os
import subprocess
import ipaddress
import json
import re
import sys
import uuid
from typing import List, NamedTuple, Optional, Tuple, Union

from . import _wintun
from ._logging import logging_callback
from ._version import __version__
from ._wintun import (
    LOG_ERR,
    LOG_INFO,
    LOG_WARN,
    MAX_IP_PACKET_SIZE,
    MAX_RING_CAPACITY,
    MIN_RING_CAPACITY,
    VNET_HDR_LEN,
    AdapterClosedError,
    AlreadyExistsError,
    InvalidRingDataError,
    NotFoundError,
    NotPermittedError,
    RingFullError,
    WintunError,
    get_driver_version,
    load_dll,
    split_super_packet,
)
from .emulated import EmulatedOS

__all__ = [
    "TunDevice",
    "AdapterInfo",
    "list_adapters",
    "Statistics",
    "EmulatedOS",
    "set_logger",
    "get_driver_version",
    "load_dll",
    "split_super_packet",
    "WintunError",
    "RingFullError",
    "AdapterClosedError",
    "InvalidRingDataError",
    "NotPermittedError",
    "AlreadyExistsError",
    "NotFoundError",
    "LOG_INFO",
    "LOG_WARN",
    "LOG_ERR",
    "MIN_RING_CAPACITY",
    "MAX_RING_CAPACITY",
    "MAX_IP_PACKET_SIZE",
    "VNET_HDR_LEN",
    "__version__",
]

Interface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
AddressLike = Union[str, ipaddress.IPv4Address, ipaddress.IPv6Address, Interface]

#: Prefix lengths used when an address is given without one.
DEFAULT_PREFIX = {4: 24, 6: 64}


def set_logger(callback) -> None:
    """Send the library's log lines to ``callback(level, timestamp, message)``.

    ``level`` is LOG_INFO, LOG_WARN or LOG_ERR; ``timestamp`` a FILETIME (100 ns units since
    1601-01-01 UTC); ``message`` a str. The callback may be called from any thread. An exception it
    raises goes to ``sys.unraisablehook``. ``None`` restores the default: the ``logging`` logger
    named "wintun".
    """
    if callback is not None and not callable(callback):
        raise TypeError(f"set_logger() takes a callable or None, not {type(callback).__name__}")
    _wintun.set_logger(logging_callback if callback is None else callback)


set_logger(None)
atexit.register(_wintun._shutdown)


class Statistics(NamedTuple):
    """Counters of an adapter, from your side: "read" packets came from the OS (read()),
    "write" packets went to it (write())."""

    read_packets: int
    read_bytes: int
    read_drops: int  # the OS sent them while the ring was full, or while down
    read_errors: int  # larger than MAX_IP_PACKET_SIZE
    write_packets: int
    write_bytes: int
    write_discards: int  # not IPv4/IPv6 (the driver's check)
    write_drops: int  # the OS side could not take them, or the ring stayed full (on_full="drop")
    write_errors: int  # corrupt ring framing
    read_unread: int = 0  # delivered to the ring, still unread when the session ended


def _interface(value: AddressLike) -> Interface:
    """An ipaddress interface from 'addr', 'addr/prefix' or an ipaddress object; the prefix
    defaults to /24 for IPv4 and /64 for IPv6. Refused with ValueError: the unspecified address
    (0.0.0.0, ::), multicast, broadcast (255.255.255.255, and the broadcast address of the given
    IPv4 prefix), a scoped literal (fe80::1%eth0: the adapter is the scope, another one is never
    silently dropped), and a prefix that is not written in ASCII digits."""
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return _usable(value, str(value))
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return _usable(ipaddress.ip_interface((value, DEFAULT_PREFIX[value.version])), str(value))
    if not isinstance(value, str):
        raise TypeError(f"an address must be a str or an ipaddress object, not {type(value).__name__}")
    text, slash, prefix = value.strip().partition("/")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None
    if getattr(address, "scope_id", None):
        raise ValueError(f"{value!r}: a scoped address cannot be given: the adapter is its scope")
    if not slash:
        return _usable(ipaddress.ip_interface((address, DEFAULT_PREFIX[address.version])), value)
    limit = 32 if address.version == 4 else 128
    if not (prefix.isascii() and prefix.isdigit()) or int(prefix) > limit:
        raise ValueError(f"{value!r}: the prefix length must be an integer from 0 to {limit}")
    return _usable(ipaddress.ip_interface((address, int(prefix))), value)


def _usable(interface: Interface, text: str) -> Interface:
    """The interface, if an adapter can hold it as its own address."""
    ip = interface.ip
    if getattr(ip, "scope_id", None):
        raise ValueError(f"{text!r}: a scoped address cannot be given: the adapter is its scope")
    if ip.is_unspecified:
        raise ValueError(f"{text!r} is the unspecified address: it cannot be an adapter's address")
    if ip.is_multicast:
        raise ValueError(f"{text!r} is a multicast address: it cannot be an adapter's address")
    if ip.version == 4 and (
        ip == ipaddress.IPv4Address("255.255.255.255")
        or (interface.network.prefixlen < 31 and ip == interface.network.broadcast_address)
    ):
        raise ValueError(f"{text!r} is a broadcast address: it cannot be an adapter's address")
    return interface


def _raw(interface: Interface) -> Tuple[int, bytes, int]:
    return interface.version, interface.ip.packed, interface.network.prefixlen


class TunDevice(_wintun.TunDevice):
    """A Wintun adapter, created at construction and removed by close(), and its session.

    ``TunDevice(name='wintun', tunnel_type='Wintun', ring_capacity=0x400000, guid=None, *,
    backend='auto')``. ``backend`` is 'kernel', 'emulated', or 'auto': the kernel where the OS
    allows it, else an error that says why (never a silent fallback); the environment variable
    WINTUN_BACKEND sets what 'auto' means.
    """

    __slots__ = ("_addr_set",)

    # ---- the adapter's network namespace (kernel backend, Linux) ----

    def _enter_netns(self):
        netns_fd, userns_fd = self._netns_fds()
        setns = _setns_function()  # looked up here: the child only calls it

        def enter() -> None:  # runs in the forked child, before exec
            if userns_fd >= 0:
                setns(userns_fd, 0x10000000)  # CLONE_NEWUSER
            if netns_fd >= 0:
                setns(netns_fd, 0x40000000)  # CLONE_NEWNET

        return enter

    def popen_in_netns(self, args, **kwargs) -> subprocess.Popen:
        """subprocess.Popen, with the child in the adapter's network namespace (and the private
        user namespace owning it, if any): to run ping, iperf3 or ip next to the adapter."""
        return subprocess.Popen(args, preexec_fn=self._enter_netns(), **kwargs)

    def run_in_netns(self, args, **kwargs) -> subprocess.CompletedProcess:
        """subprocess.run in the adapter's network namespace (see popen_in_netns)."""
        return subprocess.run(args, preexec_fn=self._enter_netns(), **kwargs)

    def __repr__(self) -> str:
        if self.closed:
            return f"<wintun.TunDevice {self.name!r} closed>"
        state = "up" if self.is_up else "down"
        return f"<wintun.TunDevice {self.name!r} backend={self.backend} {state}>"

    # ---- identity and configuration ----

    @property
    def guid(self) -> uuid.UUID:
        """The adapter's GUID."""
        return uuid.UUID(self._guid)

    @property
    def addresses(self) -> List[Interface]:
        """Every address the OS holds for the adapter, as ipaddress interfaces."""
        return [ipaddress.ip_interface((ipaddress.ip_address(packed), prefix)) for _, packed, prefix in self._addresses()]

    @property
    def addr(self) -> Optional[str]:
        """The adapter's address as 'address/prefix', read back from the OS, or None.

        Setting it ('10.0.0.1', '10.0.0.1/16', 'fd00::2', an ipaddress object) makes it the
        adapter's only address of that family; without a prefix, /24 (IPv4) or /64 (IPv6).
        Reading it gives the address last set this way for as long as the OS holds it (whatever
        else was added meanwhile); otherwise the OS's first address that is not link-local,
        else its first one.
        """
        addresses = self.addresses
        chosen = getattr(self, "_addr_set", None)
        if chosen in addresses:
            return str(chosen)
        for interface in addresses:
            if not interface.ip.is_link_local:
                return str(interface)
        return str(addresses[0]) if addresses else None

    @addr.setter
    def addr(self, value: AddressLike) -> None:
        interface = _interface(value)
        current = self.addresses
        if interface not in current:
            self._add_address(*_raw(interface))
        for other in current:
            if other.version == interface.version and other != interface:
                self._delete_address(*_raw(other))
        self._addr_set = interface

    def add_address(self, value: AddressLike) -> None:
        """Add an address (AlreadyExistsError if the adapter has it)."""
        self._add_address(*_raw(_interface(value)))

    def remove_address(self, value: AddressLike) -> None:
        """Remove an address (NotFoundError if the adapter does not have it)."""
        self._delete_address(*_raw(_interface(value)))

    @property
    def stats(self) -> Statistics:
        """Packets and bytes each way, drops and errors, counted by the driver half."""
        s = self._statistics()
        return Statistics(
            read_packets=s[0],
            read_bytes=s[1],
            read_drops=s[2],
            read_errors=s[3],
            write_packets=s[4],
            write_bytes=s[5],
            write_discards=s[6],
            write_drops=s[7],
            write_errors=s[8],
            read_unread=s[9],
        )

    @property
    def os_side(self) -> EmulatedOS:
        """The OS side of an emulated adapter: inject and capture packets, wire to a peer."""
        if self.backend != "emulated":
            error = WintunError(errno.EOPNOTSUPP, "only an emulated adapter has an OS side to drive")
            error.winerror = 50  # ERROR_NOT_SUPPORTED
            raise error
        return EmulatedOS(self)

    # ---- asyncio: add_reader on the read event's fd, no thread (Linux); on Windows, whose
    # events are not file descriptors, the wait runs in the loop's executor, in short slices so
    # that a cancelled wait frees its thread within _THREAD_WAIT_SLICE seconds ----

    async def async_wait_read(self, timeout: Optional[float] = None) -> bool:
        """Wait until a packet may be read: True; False on timeout. Call read() until None
        first. When the session ends meanwhile (down() or close() from anywhere), it returns
        True and the next read() raises AdapterClosedError. No thread on Linux."""
        _check_timeout(timeout)
        if timeout is not None and timeout >= _FOREVER:
            timeout = None  # as long as forever, and no float overflow in the loop's arithmetic
        if not _ASYNC_BY_FD:
            return await self._async_wait_in_thread(timeout)
        loop = asyncio.get_running_loop()
        # A duplicate of the event's fd, one per session (the C side keeps it): it stays valid,
        # and becomes readable, when the session ends and closes its own, so the loop is never
        # left watching a closed descriptor.
        fd = self._wait_fd()
        future: asyncio.Future[bool] = loop.create_future()
        try:
            loop.add_reader(fd, _set_ready, future)
            if timeout is None:
                return await future
            done, _ = await asyncio.wait({future}, timeout=timeout)
            return bool(done)
        finally:
            loop.remove_reader(fd)
            self._wait_done(fd)

    async def _async_wait_in_thread(self, timeout: Optional[float]) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + max(0.0, timeout)
        while True:
            left = _THREAD_WAIT_SLICE if deadline is None else min(_THREAD_WAIT_SLICE, max(0.0, deadline - loop.time()))
            if await loop.run_in_executor(None, self.wait_read_event, left):
                return True
            if deadline is not None and loop.time() >= deadline:
                return False

    async def async_read(self) -> bytes:
        """The next packet, awaited (without a thread on Linux). AdapterClosedError once the
        session ends."""
        while True:
            packet = self.read()
            if packet is not None:
                return packet
            await self.async_wait_read()

    async def async_read_batch(self, max: int = 64) -> List[bytes]:
        """The waiting packets (at least one, at most max), awaited (without a thread on Linux)."""
        while True:
            packets = self.read_batch(max)
            if packets:
                return packets
            await self.async_wait_read()


# Whether the read event is a file descriptor asyncio can watch (Linux's eventfd).
_ASYNC_BY_FD = sys.platform != "win32"
_THREAD_WAIT_SLICE = 0.05
_FOREVER = 2.0**32  # seconds: a longer timeout is no timeout (136 years)


@functools.lru_cache(maxsize=None)
def _setns_function():
    """setns(2): os.setns from Python 3.12, else libc's through ctypes (looked up once)."""
    if hasattr(os, "setns"):
        return os.setns
    import ctypes

    call = ctypes.CDLL(None, use_errno=True).setns
    call.argtypes = [ctypes.c_int, ctypes.c_int]

    def setns(fd: int, nstype: int) -> None:
        if call(fd, nstype) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    return setns


def _check_timeout(timeout: Optional[float]) -> None:
    """As wait_read_event checks its timeout: None, or a number of seconds, not negative, not NaN."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if isinstance(timeout, float) and math.isnan(timeout):
        raise ValueError("timeout must not be negative or NaN")
    if timeout < 0:
        raise ValueError("timeout must not be negative")


def _set_ready(future: "asyncio.Future[bool]") -> None:
    if not future.done():
        future.set_result(True)


class AdapterInfo(NamedTuple):
    """One adapter, as :func:`list_adapters` finds it."""

    name: str
    tunnel_type: str  # Wintun 0.9-0.13's pool
    backend: str  # 'kernel' or 'emulated'
    luid: int  # NET_LUID: IfType 53 << 48 | NetLuidIndex << 24
    guid: str
    state: str  # 'up', 'down' or 'unknown'
    ifname: str  # the kernel's interface name ('' for an emulated adapter)
    this_process: bool  # made or opened by this process (else found on the system: Linux)


_ALIAS = re.compile(r"wintun:\{([0-9A-Fa-f-]{36})\}:(.*)", re.S)


def _system_adapters() -> List[AdapterInfo]:
    """Kernel adapters of any process in this network namespace (Linux): the interfaces this library
    marked with the alias "wintun:{GUID}:<tunnel type>" when it made them, directly or through
    wintun-helper. Read with `ip -j link` (iproute2); OSError with its errno when that cannot run or
    fails, never a silently empty list."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired as error:
        raise OSError(errno.ETIMEDOUT, "`ip -j link show` did not answer in 10 s") from error
    try:
        if out.returncode:
            raise ValueError(out.stderr.strip() or f"exit status {out.returncode}")
        links = json.loads(out.stdout)
    except ValueError as error:
        raise OSError(errno.EIO, f"cannot list the system's interfaces with `ip -j link show`: {error}") from error
    found = []
    for link in links:
        match = _ALIAS.fullmatch(link.get("ifalias") or "")
        if not match:
            continue
        ifname = link.get("ifname", "")
        name = (link.get("altnames") or [ifname])[0]  # a long name is the interface's alternative name
        luid = (53 << 48) | ((int(link.get("ifindex", 0)) & 0xFFFFFF) << 24)
        state = "up" if "UP" in (link.get("flags") or []) else "down"
        found.append(AdapterInfo(name, match.group(2), "kernel", luid, match.group(1).lower(), state, ifname, False))
    return found


def list_adapters(tunnel_type: Optional[str] = None, system: bool = True) -> List[AdapterInfo]:
    """The adapters of this process (WintunEnumAdapters), then, with system (Linux), the kernel
    adapters other processes made in this network namespace; of one tunnel type (Wintun 0.9's pool,
    compared without case) or all. Sorted by name. With system, OSError if `ip` (iproute2) cannot
    list the interfaces."""
    own = [AdapterInfo(**info, this_process=True) for info in _wintun.list_adapters(tunnel_type)]
    seen = {info.luid for info in own if info.backend == "kernel"}
    others = [info for info in _system_adapters() if info.luid not in seen] if system else []
    if tunnel_type is not None:
        others = [info for info in others if info.tunnel_type.casefold() == tunnel_type.casefold()]
    return sorted(own + others, key=lambda info: (info.name.casefold(), info.luid))
