#!/usr/bin/env python3
"""The kernel backend against the raw TUN fd, every figure measured in this run, in a network
namespace of its own (needs root, /dev/net/tun, iproute2, iperf3):

  read:   packets/s draining a TUN whose queue was filled first (400 000-packet txqueuelen),
          with the default 4 MiB ring:
          TunDevice.read() (the driver thread reads the fd into the ring) against a C loop of
          read() on a raw TUN fd, and against Python os.read() on one (what python-pytun does)
  write:  packets/s of TunDevice.write() until the driver has written them all, against a C loop
          of write() and Python os.write() (UDP to a closed port of the adapter's own address)
  tunnel: iperf3 TCP throughput through examples/tunnel.py against examples/tunnel_raw.py (the
          os.read/os.write tunnel of the same shape), between two namespaces joined by a veth
Targets (issue 4): read and write >= 85 % of C, >= 1.2x os.read, >= 1.1x os.write; tunnel >= 1.3x.

    sudo python3 bench/bench_kernel.py [--repeat N] [--seconds S]
"""
import argparse
import fcntl
import os
import select
import socket
import statistics
import struct
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import wintun  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bench"))
import _wintun_bench  # noqa: E402  (make bench builds it: bench/bench_module.c)
from netns import Netns, tunnel_iperf3  # noqa: E402
from wintun.packets import checksum, echo_request_v4  # noqa: E402

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
QUEUE = 400_000


def in_namespace(ns: Netns, fn):
    """fn() run by a thread inside the namespace: descriptors it opens belong there."""
    result = {}

    def body():
        fd = os.open(f"/var/run/netns/{ns.name}", os.O_RDONLY)
        try:
            wintun._setns_function()(fd, 0x40000000)
            result["value"] = fn()
        finally:
            os.close(fd)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return result["value"]


def raw_tun(ns: Netns, name: str, addr: str) -> int:
    def open_tun():
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
        return fd

    fd = in_namespace(ns, open_tun)
    configure(ns, name, addr)
    return fd


def configure(ns: Netns, name: str, addr: str) -> None:
    ns.run("ip", "addr", "add", addr, "dev", name)
    ns.run("ip", "link", "set", name, "txqueuelen", str(QUEUE), "up")


def flood(sock: socket.socket, dst: str, size: int, count: int) -> None:
    payload = bytes(size - 28)  # IPv4 + UDP headers make it size bytes on the wire
    for _ in range(count):
        sock.sendto(payload, (dst, 9999))


def os_read_drain(fd: int, count: int):
    done, start = 0, time.perf_counter()
    read = os.read
    while done < count:
        try:
            read(fd, 65535)
            done += 1
        except BlockingIOError:
            if not select.select([fd], [], [], 0.5)[0]:
                break
    return done, time.perf_counter() - start


def read_benchmark(ns: Netns, size: int, count: int):
    sock = in_namespace(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    rates = {}
    # C loop on a raw fd.
    fd = raw_tun(ns, "wtbc", "10.210.0.1/24")
    flood(sock, "10.210.0.2", size, count)
    done, seconds = _wintun_bench.read_fd(fd, count)
    os.close(fd)
    rates["c"] = done / seconds
    # Python os.read on a raw fd.
    fd = raw_tun(ns, "wtbp", "10.211.0.1/24")
    flood(sock, "10.211.0.2", size, count)
    done, seconds = os_read_drain(fd, count)
    os.close(fd)
    rates["os"] = done / seconds
    # TunDevice.read(): the queue fills while no session runs, then up() and drain.
    with wintun.TunDevice("wtbw", "Bench", netns=ns.name) as tun:
        configure(ns, "wtbw", "10.212.0.1/24")
        flood(sock, "10.212.0.2", size, count)
        tun.up()
        read, wait = tun.read, tun.wait_read_event
        done, start = 0, time.perf_counter()
        while done < count:
            if read() is not None:
                done += 1
            elif not wait(0.5):
                break
        rates["wintun"] = done / (time.perf_counter() - start)
        rates["wintun_drops"] = tun.stats.read_drops
    sock.close()
    return rates


def write_benchmark(ns: Netns, size: int, count: int):
    packet = echo_request_v4("10.220.0.2", "10.220.0.1", 1, bytes(size - 28))
    udp = bytearray(packet)
    udp[9] = 17  # UDP to a closed port of the adapter's own address: routed, then dropped
    udp[10:12] = b"\0\0"
    udp[10:12] = struct.pack("!H", checksum(bytes(udp[:20])))
    udp[20:28] = struct.pack("!HHHH", 40000, 9, size - 20, 0)
    packet = bytes(udp)
    rates = {}
    fd = raw_tun(ns, "wtwc", "10.220.0.1/24")
    done, seconds = _wintun_bench.write_fd(fd, packet, count)
    rates["c"] = done / seconds
    write = os.write
    start = time.perf_counter()
    for _ in range(count):
        write(fd, packet)
    rates["os"] = count / (time.perf_counter() - start)
    os.close(fd)
    with wintun.TunDevice("wtww", "Bench", netns=ns.name) as tun:
        tun.addr = "10.220.0.1/24"
        tun.up()
        write = tun.write
        start = time.perf_counter()
        for _ in range(count):
            while True:
                try:
                    write(packet)
                    break
                except wintun.RingFullError:
                    time.sleep(0.0001)
        while tun.stats.write_packets + tun.stats.write_drops + tun.stats.write_errors < count:
            time.sleep(0.0005)
        rates["wintun"] = count / (time.perf_counter() - start)
    return rates


def tunnel_benchmark(seconds: float):
    return {script: tunnel_iperf3(ROOT, script, seconds)["end"]["sum_received"]["bits_per_second"] / 1e9
            for script in ("tunnel.py", "tunnel_raw.py")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="iperf3 run length")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_kernel.py needs root (it makes network namespaces)")
    wintun.set_logger(lambda *a: None)
    print(f"Python {sys.version.split()[0]}; medians of {args.repeat} runs\n")
    print("| benchmark | packet | C loop | Python os.read/os.write | TunDevice | TunDevice / C | TunDevice / os |")
    print("|---|---|---|---|---|---|---|")
    for kind, bench in (("read", read_benchmark), ("write", write_benchmark)):
        for size, count in ((64, 200_000), (1400, 40_000)):
            runs = []
            for _ in range(args.repeat):
                with Netns("bench") as ns:
                    runs.append(bench(ns, size, count))
            c, py, ours = (statistics.median(r[k] for r in runs) / 1e3 for k in ("c", "os", "wintun"))
            print(f"| {kind} (kpps) | {size} B | {c:.0f} | {py:.0f} | {ours:.0f} | {ours / c:.2f} | {ours / py:.2f} |",
                  flush=True)
    runs = [tunnel_benchmark(args.seconds) for _ in range(args.repeat)]
    ours = statistics.median(r["tunnel.py"] for r in runs)
    raw = statistics.median(r["tunnel_raw.py"] for r in runs)
    print(f"| tunnel, iperf3 TCP (Gbit/s) | MTU 1280 | | {raw:.3f} (tunnel_raw.py) | {ours:.3f} (tunnel.py) | | {ours / raw:.2f} |")


if __name__ == "__main__":
    main()
