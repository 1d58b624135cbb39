"""Threads: wait_read_event releases the GIL and is woken by close()/down() from another thread."""
import faulthandler
import threading
import time

import pytest

import wintun
from packets import ipv4, seq_of

TIMEOUT = 20


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(TIMEOUT * 2, exit=True)  # a hang fails loudly, never silently
    yield
    faulthandler.cancel_dump_traceback_later()


def test_reader_writer_and_close_from_a_third_thread(tun_pair):
    a, b = tun_pair
    a.on_full, a.write_timeout = "raise", 0  # lossless: the writer backs off itself
    received, errors = [], []
    reader_waiting = threading.Event()

    def reader():
        try:
            while True:
                batch = b.read_batch(128)
                if batch:
                    received.extend(batch)
                    continue
                reader_waiting.set()
                b.wait_read_event()
        except wintun.AdapterClosedError:
            return
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    def writer():
        i = 0
        deadline = time.monotonic() + 2
        while i < 20000 and time.monotonic() < deadline:
            try:
                a.write(ipv4(100, i))
                i += 1
            except wintun.RingFullError:
                time.sleep(0.0005)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    threads[1].join(TIMEOUT)
    # Let the reader drain, then close B from this (third) thread while it waits.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (reader_waiting.is_set() and len(received) >= 20000):
        time.sleep(0.01)
    closer = threading.Thread(target=b.close)
    closer.start()
    closer.join(TIMEOUT)
    threads[0].join(TIMEOUT)
    assert not any(t.is_alive() for t in threads + [closer])
    assert not errors
    assert [seq_of(p) for p in received] == list(range(len(received)))
    assert len(received) == 20000


@pytest.mark.parametrize("how", ["down", "close"])
def test_wait_is_woken_by(how, tun_factory):
    tun = tun_factory()
    result = {}

    def wait():
        start = time.monotonic()
        result["value"] = tun.wait_read_event()  # no timeout: only the wake-up ends it
        result["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.1)
    getattr(tun, how)()
    t.join(TIMEOUT)
    assert not t.is_alive()
    assert result["value"] is False
    assert result["elapsed"] < 5
    with pytest.raises(wintun.AdapterClosedError):
        tun.read()


def test_wait_releases_the_gil(tun_device):
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = counter[0]
        assert tun_device.wait_read_event(timeout=0.3) is False
        progressed = counter[0] - before
    finally:
        stop.set()
        t.join()
    assert progressed > 1000  # the other thread ran while we waited


def test_many_waiters_all_woken(tun_device):
    results = []
    threads = [threading.Thread(target=lambda: results.append(tun_device.wait_read_event())) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    tun_device.down()
    for t in threads:
        t.join(TIMEOUT)
    assert results == [False] * 4


def test_up_down_cycles_under_a_waiter(tun_device, tun_os):
    """A wake-up by down() does not leave later waits returning at once."""
    for _ in range(20):
        tun_device.down()
        tun_device.up()
        start = time.monotonic()
        assert tun_device.wait_read_event(timeout=0.02) is False
        assert time.monotonic() - start >= 0.015
        tun_os.inject(ipv4())
        assert tun_device.wait_read_event(timeout=2) is True
        assert tun_device.read() is not None


def test_capture_wait_is_woken_by_a_write_down_and_close(tun_device, tun_os):
    """The emulated OS side waits on its capture event with the GIL released (no fd: Windows too)."""
    results = []

    def capture_forever():
        try:
            results.append(tun_os.capture(timeout=None))
        except wintun.AdapterClosedError as error:
            results.append(error)

    waiter = threading.Thread(target=capture_forever)
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive()  # waiting, and this thread still runs: the GIL is free
    tun_device.write(ipv4(60, 3))
    waiter.join(TIMEOUT)
    assert not waiter.is_alive() and seq_of(results[0]) == 3

    for end, expected in ((tun_device.down, type(None)), (tun_device.close, wintun.AdapterClosedError)):
        if not tun_device.is_up and not tun_device.closed:
            tun_device.up()
        waiter = threading.Thread(target=capture_forever)
        waiter.start()
        time.sleep(0.05)
        assert waiter.is_alive()
        end()  # must not free the capture event under the waiter
        waiter.join(TIMEOUT)
        assert not waiter.is_alive() and isinstance(results[-1], expected)
