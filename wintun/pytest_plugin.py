"""pytest fixtures for code that needs a TUN adapter.

Registered as the ``wintun`` pytest11 entry point when the package is installed; otherwise load
it with ``-p wintun.pytest_plugin``. Every adapter is emulated (no privileges needed), up, and
closed (removed) after the test.

- ``tun_device``: one adapter.
- ``tun_os``: the OS side of ``tun_device``: ``inject(packet)`` to have it read, ``capture()`` to
  see what it wrote.
- ``tun_pair``: two adapters wired back to back: what one writes, the other reads.
- ``tun_factory``: ``tun_factory(name=None, *, up=True, **kwargs)`` makes more.
"""
from __future__ import annotations

import itertools
import os
from typing import Callable, Iterator, List, Optional, Tuple

import pytest

import wintun

_serial = itertools.count()


def _unique_name() -> str:
    # Short enough for any OS (Linux interface names are at most 15 bytes).
    return f"wt{os.getpid() % 100000}-{next(_serial)}"


@pytest.fixture
def tun_factory() -> Iterator[Callable[..., wintun.TunDevice]]:
    devices: List[wintun.TunDevice] = []

    def make(name: Optional[str] = None, *, up: bool = True, **kwargs) -> wintun.TunDevice:
        kwargs.setdefault("backend", "emulated")
        device = wintun.TunDevice(name or _unique_name(), **kwargs)
        devices.append(device)
        if up:
            device.up()
        return device

    yield make
    for device in reversed(devices):
        device.close()


@pytest.fixture
def tun_device(tun_factory) -> wintun.TunDevice:
    return tun_factory()


@pytest.fixture
def tun_os(tun_device) -> wintun.EmulatedOS:
    return tun_device.os_side


@pytest.fixture
def tun_pair(tun_factory) -> Tuple[wintun.TunDevice, wintun.TunDevice]:
    a, b = tun_factory(), tun_factory()
    a.os_side.connect(b)
    return a, b
