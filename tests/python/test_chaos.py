"""The chaos test on the Python API: for a bounded time (WINTUN_CHAOS_SECONDS, default 5), threads
pick random calls on shared devices: up/down/close, reads, writes and batches, waits, the OS side,
wiring, properties, statistics and the logger (whose callback calls the API). Nothing may crash
or hang (a watchdog), every exception is a documented one, and every packet written to an
accounted device is counted exactly once."""
import faulthandler
import os
import random
import threading
import time

import wintun
from packets import ipv4

SECONDS = float(os.environ.get("WINTUN_CHAOS_SECONDS", "5"))
THREADS = 6
EXPECTED = (wintun.AdapterClosedError, wintun.RingFullError, wintun.AlreadyExistsError)


def test_chaos(tun_factory):
    faulthandler.dump_traceback_later(SECONDS + 60, exit=True)  # a hang fails loudly
    accounted = [tun_factory() for _ in range(2)]  # never closed, never wired
    wired = [tun_factory() for _ in range(2)]
    spare = [None] * 3
    sent = [0] * len(accounted)
    lock = threading.Lock()  # for the counters of this test only
    unexpected = []
    calls = [0]
    stop = threading.Event()

    def logger(level, timestamp, message):
        accounted[0].stats
        accounted[1].is_up

    def one_call(rng):
        k = rng.randrange(len(accounted))
        dev = rng.choice(accounted + wired)
        op = rng.randrange(14)
        if op == 0:
            dev.down()
        elif op == 1:
            dev.up()
        elif op in (2, 3):
            if dev.write(ipv4(rng.choice((40, 300, 1400)), rng.randrange(1 << 30))) and dev in accounted:
                with lock:
                    sent[accounted.index(dev)] += 1
        elif op == 4:
            n = dev.write_batch([ipv4(100, i) for i in range(rng.randrange(1, 9))])
            if dev in accounted:
                with lock:
                    sent[accounted.index(dev)] += n
        elif op in (5, 6):
            dev.read_batch(rng.randrange(1, 65))
        elif op == 7:
            dev.read()
            dev.wait_read_event(timeout=0.002)
        elif op == 8:
            dev.os_side.inject(ipv4(200, 1))
        elif op == 9:
            dev.os_side.capture_all()
        elif op == 10:
            try:
                wired[0].os_side.connect(wired[1])
            except wintun.WintunError:
                pass
            if rng.random() < 0.5:
                try:
                    rng.choice(wired).os_side.disconnect()
                except wintun.WintunError:
                    pass
        elif op == 11:
            dev.mtu = rng.randrange(1280, 9000)
            dev.stats, dev.is_up, dev.addresses, repr(dev)
            wintun.list_adapters(system=False)  # enumerates while other threads close spare devices
        elif op == 12:
            i = rng.randrange(len(spare))
            old, spare[i] = spare[i], (wintun.TunDevice(backend="emulated", name=f"chaos{os.getpid()}-{i}-{rng.random()}")
                                       if rng.random() < 0.7 else None)
            if old is not None:
                old.close()
        else:
            wintun.set_logger(logger if rng.random() < 0.5 else None)
        del k

    def worker(seed):
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                one_call(rng)
            except EXPECTED:
                pass
            except Exception as error:  # reported below
                unexpected.append(repr(error))
            with lock:
                calls[0] += 1

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    wintun.set_logger(None)
    faulthandler.cancel_dump_traceback_later()
    for dev in spare:
        if dev is not None:
            dev.close()
    assert unexpected == []
    assert calls[0] > 1000
    for i, dev in enumerate(accounted):
        dev.down()
        st = dev.stats
        assert st.write_packets + st.write_discards + st.write_drops + st.write_errors == sent[i], st
        dev.up()
        assert dev.write(ipv4(40, 5)) == 40  # still usable
