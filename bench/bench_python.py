"""Python read()/read_batch()/write() against the cost of making (or taking) a bytes object in C.

Every figure is measured in this run, on this machine:
  - read():          draining a full Send ring (the default 4 MiB), one call per packet
  - read_batch(64):  draining the same ring, 64 packets per call
  - bytes baseline:  a Python loop calling a C function that only returns a new bytes object of
                     the same size (the floor for any read() that returns bytes)
  - write():         one call per packet into the Receive ring (the driver thread drains it)
  - buffer baseline: a Python loop calling a C function that only takes a bytes-like argument
                     and copies it
Targets (issue 3): read() >= 60 % of the bytes baseline; read_batch(64) >= 3x read() per packet.

    python3 bench/bench_python.py [--repeat N]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wintun  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bench"))
import _wintun_bench  # noqa: E402  (make bench builds it: bench/bench_module.c)

CAPACITY = 0x400000  # the default ring capacity
PACKETS = 300_000  # per measurement, over as many fill/drain cycles as it takes


def packet(size):
    return bytes([0x45]) + bytes(size - 1)


def fill(tun, size):
    """Fill the Send ring; returns how many packets it holds."""
    batch = [packet(size)] * 256
    n = 0
    while True:
        try:
            tun.os_side.inject_batch(batch)
            n += 256
        except wintun.RingFullError:
            break
    while True:
        try:
            tun.os_side.inject(batch[0])
            n += 1
        except wintun.RingFullError:
            return n


def drain_read(tun, size):
    """read() over fill/drain cycles; only the draining is timed."""
    read, total, elapsed = tun.read, 0, 0.0
    while total < PACKETS:
        n = fill(tun, size)
        start = time.perf_counter()
        for _ in range(n):
            read()
        elapsed += time.perf_counter() - start
        assert read() is None
        total += n
    return total / elapsed


def drain_batch(tun, size):
    read_batch, total, elapsed = tun.read_batch, 0, 0.0
    while total < PACKETS:
        n = fill(tun, size)
        got = 0
        start = time.perf_counter()
        while True:
            b = read_batch(64)
            if not b:
                break
            got += len(b)
        elapsed += time.perf_counter() - start
        assert got == n, (got, n)
        total += n
    return total / elapsed


def bytes_baseline(size, n):
    make = _wintun_bench.bytes_of_size
    start = time.perf_counter()
    for _ in range(n):
        make(size)
    return n / (time.perf_counter() - start)


def write_loop(tun, size, n):
    """write() of n packets, fewer than the ring holds, then waits for the driver to drain them."""
    write, data = tun.write, packet(size)
    start = time.perf_counter()
    for _ in range(n):
        write(data)
    elapsed = time.perf_counter() - start
    wait_drained(tun)
    return n / elapsed


def buffer_baseline(size, n):
    take, data = _wintun_bench.take_buffer, packet(size)
    start = time.perf_counter()
    for _ in range(n):
        take(data)
    return n / (time.perf_counter() - start)


def wait_drained(tun):
    """Until the driver thread has taken everything written so far."""
    deadline = time.monotonic() + 10
    last = -1
    while time.monotonic() < deadline:
        s = tun.stats
        done = s.write_packets + s.write_drops + s.write_discards
        if done == last:
            return
        last = done
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not 1 <= args.repeat <= 50:
        parser.error("--repeat must be 1..50")
    wintun.set_logger(lambda *a: None)
    rows = []
    with wintun.TunDevice("bench-py", "Bench", CAPACITY, backend="emulated") as tun:
        tun.up()
        for size in (64, 1400):
            base, single, batch, wbase, writes = [], [], [], [], []
            per_write = CAPACITY // (size + 8) // 2
            for _ in range(args.repeat):
                base.append(bytes_baseline(size, PACKETS))
                single.append(drain_read(tun, size))
                batch.append(drain_batch(tun, size))
                wbase.append(buffer_baseline(size, PACKETS))
                writes.append(sum(write_loop(tun, size, per_write) for _ in range(5)) / 5)
            rows.append((size, *(statistics.median(v) / 1e6 for v in (base, single, batch, wbase, writes))))
    print(f"Python {sys.version.split()[0]}; medians of {args.repeat} runs; Mpps (millions of packets per second)\n")
    print("| packet | bytes baseline | read() | read() / baseline | read_batch(64) | read_batch / read() | buffer baseline | write() | write() / baseline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size, base, single, batch, wbase, writes in rows:
        print(f"| {size} B | {base:.2f} | {single:.2f} | {single / base:.2f} | {batch:.2f} | {batch / single:.2f} | "
              f"{wbase:.2f} | {writes:.2f} | {writes / wbase:.2f} |")


if __name__ == "__main__":
    main()
