"""The OS side of an emulated adapter, for tests and demos.

On an emulated adapter the "OS" lives in this process: it answers ICMP echo requests to the
adapter's own addresses, and otherwise keeps what your program writes for ``capture()``;
``inject()`` plays the OS sending a packet out of the adapter, which your program then
``read()``s. ``connect()`` wires two emulated adapters back to back, like a veth pair (lossless:
a peer that does not read makes your writes raise RingFullError).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterable, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from . import TunDevice


class EmulatedOS:
    """``tun.os_side``: drive the OS side of an emulated ``TunDevice``."""

    __slots__ = ("_device",)

    def __init__(self, device: "TunDevice") -> None:
        self._device = device

    def inject(self, packet: bytes) -> None:
        """The OS sends ``packet`` out of the adapter: your next read() gets it.

        RingFullError if the ring is full, AdapterClosedError if the adapter is down (the packet
        is dropped and counted in ``stats.read_drops``, as the OS would)."""
        self._device._emu_inject([packet])

    def inject_batch(self, packets: Iterable[bytes]) -> None:
        """Several packets at once, delivered all or nothing (at most 256)."""
        self._device._emu_inject(list(packets))

    def capture(self, timeout: Optional[float] = 0) -> Optional[bytes]:
        """The oldest packet your program wrote that the OS kept, or None.

        ``timeout``: 0 (the default) does not wait, None waits for ever, else seconds. down() from
        another thread ends the wait (None); close() makes it raise AdapterClosedError."""
        from . import _FOREVER, _check_timeout

        _check_timeout(timeout)  # as wait_read_event checks it
        packet = self._device._emu_capture()
        if packet is not None or timeout == 0:
            return packet
        if timeout is not None and timeout >= _FOREVER:
            timeout = None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            woken = self._device._emu_wait_capture(remaining)  # GIL released; Windows too
            packet = self._device._emu_capture()
            if packet is not None or not woken:  # timed out, or down() ended the wait
                return packet

    def capture_all(self) -> List[bytes]:
        """Every captured packet waiting now."""
        packets = []
        while True:
            packet = self._device._emu_capture()
            if packet is None:
                return packets
            packets.append(packet)

    def connect(self, peer: "TunDevice") -> None:
        """Wire this adapter to another emulated adapter, back to back."""
        self._device._emu_connect(peer)

    def disconnect(self) -> None:
        """Unwire this adapter (and its peer). NotFoundError if it is not wired."""
        self._device._emu_disconnect()
