"""No leak over 100k read and write calls (tracemalloc) and no reference leak (sys.getrefcount)."""
import sys
import tracemalloc

import wintun
from packets import ipv4

N = 100_000


def _traffic(tun, peer, rounds):
    packet = ipv4(200)
    buffer = bytearray(2048)
    for i in range(rounds):
        tun.write(packet)
        got = None
        while got is None:
            got = peer.read() if i % 2 else (peer.readinto(buffer) or None)
            if got is None:
                peer.wait_read_event(1)
        if i % 1000 == 0:
            peer.read_batch(8)
            tun.write_batch([packet])


def test_no_memory_growth_over_100k_calls(tun_pair):
    a, b = tun_pair
    _traffic(a, b, 2000)  # warm up caches and free lists
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        _traffic(a, b, N)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 64 * 1024, f"{growth} bytes more after {N} round trips"


def test_no_reference_leaks(tun_pair):
    a, b = tun_pair
    packet = ipv4(100)
    refs = sys.getrefcount(packet)
    for _ in range(10000):
        a.write(packet)
        a.write_batch([packet])
        while b.read_batch(16):
            pass
    assert sys.getrefcount(packet) == refs
    assert sys.getrefcount(a) == sys.getrefcount(b)
