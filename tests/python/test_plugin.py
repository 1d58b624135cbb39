"""The pytest plugin: its fixtures, used here directly and from a test file run by pytester."""
import pytest

import wintun
from packets import ipv4, seq_of

pytest_plugins = ["pytester"]


def test_tun_device_fixture(tun_device):
    assert tun_device.is_up and tun_device.backend == "emulated"
    assert len(tun_device.name.encode()) <= 15


def test_tun_os_inject_and_capture(tun_device, tun_os):
    tun_os.inject(ipv4(64, 1))
    assert seq_of(tun_device.read()) == 1
    tun_device.write(ipv4(64, 2))
    assert seq_of(tun_os.capture(timeout=2)) == 2
    assert tun_os.capture() is None


def test_tun_pair_fixture(tun_pair):
    a, b = tun_pair
    a.write(ipv4(64, 3))
    assert b.wait_read_event(2) and seq_of(b.read()) == 3


def test_tun_factory_makes_more(tun_factory):
    down = tun_factory(up=False, ring_capacity=0x20000)
    assert not down.is_up and down.ring_capacity == 0x20000
    named = tun_factory("fixture-named")
    assert named.name == "fixture-named"


def test_fixtures_from_a_users_test_file(pytester, monkeypatch):
    import os

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(wintun.__file__)))
    monkeypatch.setenv("PYTHONPATH", package_root)
    pytester.makepyfile(
        """
        import wintun

        def test_uses_fixtures(tun_device, tun_os, tun_pair):
            tun_os.inject(b"\\x45" + bytes(39))
            assert tun_device.read() is not None
            a, b = tun_pair
            a.write(b"\\x45" + bytes(39))
            assert b.wait_read_event(2)
            test_uses_fixtures.devices = [tun_device, a, b]

        def test_adapters_were_closed():
            assert all(d.closed for d in test_uses_fixtures.devices)
        """
    )
    result = pytester.runpytest_subprocess("-p", "wintun.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
