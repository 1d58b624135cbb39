"""asyncio: awaiting a packet uses add_reader on the read event, no thread (Linux); the executor
fallback Windows uses runs the same tests here (wait_mode "thread")."""
import asyncio
import os
import threading

import pytest

import wintun
from packets import ipv4, seq_of


def run(coro, timeout=10):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(params=["fd", "thread"])
def wait_mode(request, monkeypatch):
    monkeypatch.setattr(wintun, "_ASYNC_BY_FD", request.param == "fd")
    return request.param


def test_async_read_needs_no_thread(tun_device, tun_os):
    async def main():
        before = threading.active_count()
        task = asyncio.ensure_future(tun_device.async_read())
        await asyncio.sleep(0.05)
        assert not task.done()
        assert threading.active_count() == before  # nothing went to a thread pool
        tun_os.inject(ipv4(64, 7))
        packet = await task
        assert seq_of(packet) == 7

    run(main())


def test_async_read_batch_and_writes_from_the_loop(tun_pair, wait_mode):
    a, b = tun_pair
    a.on_full, a.write_timeout = "raise", 0  # backpressure to the producer: it waits on the loop

    async def main():
        async def produce():
            for i in range(500):
                while True:
                    try:
                        a.write(ipv4(100, i))
                        break
                    except wintun.RingFullError:
                        await asyncio.sleep(0.001)
                if i % 50 == 0:
                    await asyncio.sleep(0)

        producer = asyncio.ensure_future(produce())
        got = []
        while len(got) < 500:
            got += await b.async_read_batch(64)
        await producer
        assert [seq_of(p) for p in got] == list(range(500))

    run(main())


def test_async_wait_timeout_and_cancel(tun_device, tun_os, wait_mode):
    async def main():
        assert await tun_device.async_wait_read(timeout=0.05) is False
        for bad, error in ((float("nan"), ValueError), (-1, ValueError), ("1", TypeError)):
            with pytest.raises(error):  # as wait_read_event checks it
                await tun_device.async_wait_read(timeout=bad)
            with pytest.raises(error):
                tun_device.wait_read_event(timeout=bad)
        task = asyncio.ensure_future(tun_device.async_read())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Cancellation left nothing registered: the next read works.
        tun_os.inject(ipv4(64, 1))
        assert seq_of(await tun_device.async_read()) == 1

    run(main())


def test_down_from_the_loop_ends_async_read(tun_device, wait_mode):
    async def main():
        task = asyncio.ensure_future(tun_device.async_read())
        await asyncio.sleep(0.02)
        tun_device.down()
        with pytest.raises(wintun.AdapterClosedError):
            await task

    run(main())


def test_close_from_another_thread_ends_async_read(tun_device, wait_mode):
    async def main():
        task = asyncio.ensure_future(tun_device.async_read())
        await asyncio.sleep(0.02)
        threading.Thread(target=tun_device.close).start()
        with pytest.raises(wintun.AdapterClosedError):
            await task

    run(main())


def test_add_reader_on_fileno_directly(tun_device, tun_os):
    """The pymobiledevice3 pattern: loop.add_reader(tun.fileno(), drain)."""

    async def main():
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        def drain():
            for packet in tun_device.read_batch(64):
                queue.put_nowait(packet)

        assert tun_device.read() is None
        loop.add_reader(tun_device.fileno(), drain)
        try:
            for i in range(3):
                tun_os.inject(ipv4(64, i))
                assert seq_of(await queue.get()) == i
        finally:
            loop.remove_reader(tun_device.fileno())

    run(main())


def open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not wintun._ASYNC_BY_FD, reason="the descriptor waits of Linux")
def test_waits_share_one_descriptor_per_session_and_leave_none(tun_device, tun_os):
    """Waits of a session one after the other watch one dup() of the read event, concurrent ones
    each their own (a loop watches a descriptor for one callback); a session that ends under
    pending waits wakes all of them and closes what they held once they are gone; up()/down()
    cycles leave no descriptor."""
    async def main():
        tun_device.down()
        down = open_fds()
        tun_device.up()
        waits = [asyncio.ensure_future(tun_device.async_wait_read()) for _ in range(3)]
        await asyncio.sleep(0.02)
        tun_device.down()  # wakes them: their next read raises AdapterClosedError
        assert all(await asyncio.gather(*waits))
        assert open_fds() == down
        for _ in range(50):
            tun_device.up()
            tun_os.inject(ipv4(64, 1))
            assert len(await tun_device.async_read_batch()) == 1
            task = asyncio.ensure_future(tun_device.async_read())
            await asyncio.sleep(0)
            tun_device.down()
            with pytest.raises(wintun.AdapterClosedError):
                await task

    baseline = open_fds()
    run(main())
    assert open_fds() <= baseline
    with pytest.raises(wintun.AdapterClosedError):
        tun_device._wait_fd()
    with pytest.raises(ValueError):
        tun_device._wait_done(-1)
