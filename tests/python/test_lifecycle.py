"""Control calls against each other and against the data path, from any number of threads: up(),
down() and close() racing, Ctrl-C in every wait, a fork's child, writes under load."""
import faulthandler
import os
import shutil
import signal
import sys
import threading
import time

import pytest

import wintun
from packets import ipv4, ipv6

TIMEOUT = 20


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(TIMEOUT * 3, exit=True)  # a hang fails loudly
    yield
    faulthandler.cancel_dump_traceback_later()


def _race(*calls, rounds=1):
    """Runs the calls at once from their own threads; the exceptions they raised, by call."""
    raised = [[] for _ in calls]

    def run(i, call, barrier):
        barrier.wait()
        try:
            call()
        except Exception as error:  # reported by the caller
            raised[i].append(error)

    for _ in range(rounds):
        barrier = threading.Barrier(len(calls))
        threads = [threading.Thread(target=run, args=(i, c, barrier)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
            assert not t.is_alive()
    return raised


def test_up_racing_close_leaves_a_closed_device(tun_factory):
    for _ in range(30):
        tun = tun_factory()
        tun.down()
        raised = _race(tun.up, tun.close)
        assert all(isinstance(e, wintun.AdapterClosedError) for e in raised[0])  # up() after close()
        assert raised[1] == []
        assert tun.closed and not tun.is_up
        with pytest.raises(wintun.AdapterClosedError):
            tun.read()
        tun.close()  # still idempotent


def test_two_up_at_once_is_idempotent(tun_factory):
    for _ in range(30):
        tun = tun_factory()
        tun.down()
        raised = _race(tun.up, tun.up, tun.up)
        assert raised == [[], [], []]
        assert tun.is_up
        tun.write(ipv4(40, 1))
        tun.close()


def test_down_racing_up_ends_consistent(tun_factory):
    tun = tun_factory()
    for _ in range(30):
        raised = _race(tun.down, tun.up)
        assert raised == [[], []]
        if tun.is_up:  # whichever won, the device is in one state or the other
            tun.read()
        else:
            with pytest.raises(wintun.AdapterClosedError):
                tun.read()
        tun.up()
        assert tun.is_up
        assert tun.write(ipv4(40, 2)) == 40


def test_close_racing_reads_writes_and_waits(tun_pair):
    a, b = tun_pair
    stop = threading.Event()
    errors = []

    def pump():
        try:
            while not stop.is_set():
                a.write_batch([ipv4(100, i) for i in range(8)])
                b.read_batch(64)
                b.wait_read_event(timeout=0.01)
        except wintun.AdapterClosedError:
            return
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=pump) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    _race(b.down, b.close, a.close)
    stop.set()
    for t in threads:
        t.join(TIMEOUT)
    assert errors == []


def test_a_logger_callback_may_close_the_device(tun_factory):
    tun = tun_factory()
    refused = []

    def callback(level, timestamp, message):
        try:
            tun.close()  # from the ERR line below; then again from close()'s own line
        except RuntimeError as error:
            refused.append(error)

    wintun.set_logger(callback)
    try:
        with pytest.raises(wintun.AlreadyExistsError):
            wintun.TunDevice(tun.name, backend=tun.backend)  # an ERR line, delivered once the call returned
    finally:
        wintun.set_logger(None)
    assert tun.closed and not tun.is_up
    assert len(refused) == 1 and "within one of them" in str(refused[0])  # close() inside close()


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("wait", ["read_event", "capture"])
def test_ctrl_c_interrupts_a_wait_within_100_ms(tun_device, wait):
    call = {
        "read_event": lambda: tun_device.wait_read_event(None),
        "capture": lambda: tun_device.os_side.capture(timeout=None),
    }[wait]
    tun_device.read()  # empty: the event is armed
    timer = _interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        call()
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 0.2 + 0.1
    assert tun_device.write(ipv4(40, 3)) == 40  # still usable


def test_ctrl_c_interrupts_the_executor_fallback(tun_device, monkeypatch):
    import asyncio

    monkeypatch.setattr(wintun, "_ASYNC_BY_FD", False)
    tun_device.read()

    async def main():
        await tun_device.async_wait_read(None)

    timer = _interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    timer.join()
    assert time.monotonic() - start < 0.2 + 0.1 + wintun._THREAD_WAIT_SLICE


def test_write_batch_takes_any_iterable_and_a_copy(tun_device, tun_os):
    packets = [ipv4(40, i) for i in range(3)]
    assert tun_device.write_batch(p for p in packets) == 3
    assert [tun_os.capture(timeout=2)[24:28] for _ in packets] == [p[24:28] for p in packets]
    with pytest.raises(TypeError):
        tun_device.write_batch(None)


def test_ring_full_error_says_what_happened(tun_pair):
    a, _ = tun_pair
    a.on_full, a.write_timeout = "raise", 0
    with pytest.raises(wintun.RingFullError) as excinfo:
        for i in range(100000):
            a.write(ipv4(1400, i))
    assert "ring is full" in str(excinfo.value)
    assert "file name" not in str(excinfo.value)
    with pytest.raises(ValueError):
        a.on_full = "sometimes"
    with pytest.raises(ValueError):
        a.write_timeout = -1
    with pytest.raises(TypeError):
        a.write_timeout = "1"


_FORK_SCRIPT = r"""
import os, sys, time
import wintun
tun = wintun.TunDevice("forked", backend="emulated")
tun.up()
tun.read()  # empty: the driver's receive thread goes to sleep
time.sleep(0.05)
pid = os.fork()
if pid == 0:
    try:
        tun.write(bytes([0x45]) + bytes(39))
        sys.exit(3)  # it wrote into the parent's ring
    except wintun.AdapterClosedError:
        pass
    sys.exit(0)  # a normal exit: the interpreter finalizes, the TunDevice is deallocated
_, status = os.waitpid(pid, 0)
before = time.process_time()
time.sleep(0.3)
spent = time.process_time() - before
packet = bytes([0x45, 0, 0, 40]) + bytes(36)
assert tun.write(packet) == 40
assert tun.os_side.capture(timeout=2) == packet
print(os.waitstatus_to_exitcode(status), round(spent, 3))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_child_leaves_the_parent_alone():
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", _FORK_SCRIPT], capture_output=True, text=True, timeout=TIMEOUT,
                         env={**os.environ, "PYTHONPATH": root})
    assert out.returncode == 0, out.stderr
    code, spent = out.stdout.split()
    assert code == "0"  # the child's inherited device refused to act on the parent's
    assert float(spent) < 0.1  # no thread of the parent spinning on a stray stop signal


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="a kernel adapter needs root")
def test_writes_under_load_on_a_kernel_adapter_never_raise():
    """pymobiledevice3's pump treats any OSError from write() as a dead connection."""
    with wintun.TunDevice("wtload", "tunnel", netns="private") as tun:
        tun.mtu = 16000
        tun.addr = "fd00:77::1/64"
        tun.up()
        packet = ipv6(16000)
        start = time.monotonic()
        for _ in range(20000):
            assert tun.write(packet) == 16000
            if time.monotonic() - start > 60:
                pytest.fail("20 000 writes took more than a minute")
        tun.down()
        st = tun.stats
        assert st.write_packets + st.write_drops + st.write_discards + st.write_errors == 20000
