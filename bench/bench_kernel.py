#!/usr/bin/env python3
"""The kernel backend against the raw TUN fd, every figure measured in this run, in a network
namespace of its own (needs root, /dev/net/tun, iproute2, iperf3):

  read:   packets/s draining a TUN whose queue was filled first (400 000-packet txqueuelen),
          with the default 4 MiB ring:
          TunDevice.read() (the driver thread reads the fd into the ring) against a C loop of
          read() on a raw TUN fd, and against Python os.read() on one (what python-pytun does)
  write:  packets/s of TunDevice.write() until the driver has written them all, against a C loop
          of write() and Python os.write() (UDP to a closed port of the adapter's own address)
  streams (iperf3 TCP, MTU 1280 unless said; Gbit/s, and the CPU seconds the forwarding
  processes spent per GB carried):
    tunnel.py:    examples/tunnel.py, its ends agreeing on super-packets, against
                  examples/tunnel_raw.py (os.read/os.write tunnel of the same shape) between two
                  namespaces joined by a veth, and against the ceiling: bench/tun_forward.c with
                  IFF_VNET_HDR passing super-packets between two TUNs
    transparent:  two kernel adapters in transparent mode joined by a Python read_batch()/
                  write_batch() forwarder, against bench/tun_forward.c's per-packet read()/write()
    pmd3 pump:    pymobiledevice3's pump (bench/pmd3_pump.py) with wintun against pytun-pmd3's way
                  (no IFF_NO_PI, os.read/os.write), to a fake device in C (bench/tun_forward.c,
                  so that the pump is what is measured) and back, MTU 1280 and 16000
Targets (issue 4): read and write >= 85 % of C, >= 1.2x os.read, >= 1.1x os.write. Issue 11:
tunnel.py >= 3x tunnel_raw.py and >= 50 % of the ceiling; transparent >= 2x C per-packet;
pmd3 pump >= 1.5x at MTU 1280, >= 1.3x at 16000.

    sudo python3 bench/bench_kernel.py [--repeat N] [--seconds S] [--only read,write,streams]
"""
import argparse
import fcntl
import json
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import wintun  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bench"))
import _wintun_bench  # noqa: E402  (make bench builds it: bench/bench_module.c)
from netns import Netns, cpu_seconds, tunnel_iperf3, veth, wait_ready as ready  # noqa: E402
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


TUN_FORWARD = os.path.join(ROOT, "build", "bench", "tun_forward")
PUMP = os.path.join(ROOT, "bench", "pmd3_pump.py")


def build_forwarder() -> None:
    source = os.path.join(ROOT, "bench", "tun_forward.c")
    if not os.path.exists(TUN_FORWARD) or os.path.getmtime(TUN_FORWARD) < os.path.getmtime(source):
        os.makedirs(os.path.dirname(TUN_FORWARD), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-pthread", "-o", TUN_FORWARD, source], check=True)


def iperf3(client: Netns, server: Netns, address: str, seconds: float, *extra: str) -> dict:
    listener = server.popen("iperf3", "-s", "-1", "-B", address, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    out = client.run("iperf3", "-c", address, "-t", str(seconds), "-J", *extra, check=False, timeout=seconds + 60)
    listener.wait(15)
    return json.loads(out.stdout)


def rate(report: dict, cpu: float):
    """(Gbit/s, CPU seconds per GB) of an iperf3 report and the CPU the forwarders used meanwhile."""
    received = report["end"]["sum_received"]
    return received["bits_per_second"] / 1e9, cpu / max(received["bytes"] / 1e9, 1e-9)


def stop(*processes) -> None:
    for process in processes:
        process.terminate()
        process.wait(10)


def c_forwarder(mode: str, seconds: float, mtu: int = 1280):
    with Netns("fa") as a, Netns("fb") as b:
        forwarder = subprocess.Popen([TUN_FORWARD, mode, a.name, "wtfa", b.name, "wtfb"], stdout=subprocess.PIPE, text=True)
        try:
            ready(forwarder)
            for ns, name, host in ((a, "wtfa", 1), (b, "wtfb", 2)):
                ns.run("ip", "link", "set", name, "mtu", str(mtu), "up")
                ns.run("ip", "addr", "add", f"10.97.0.{host}/24", "dev", name)
            cpu = cpu_seconds(forwarder.pid)
            report = iperf3(a, b, "10.97.0.2", seconds)
            return rate(report, cpu_seconds(forwarder.pid) - cpu)
        finally:
            stop(forwarder)


def wintun_forwarder(seconds: float, mtu: int = 1280, offload: str = "transparent"):
    """Two kernel adapters joined by a Python read_batch()/write_batch() thread each way."""
    with Netns("wa") as a, Netns("wb") as b:
        ta = wintun.TunDevice("wtbfa", netns=a.name, offload=offload)
        tb = wintun.TunDevice("wtbfb", netns=b.name, offload=offload)
        done = threading.Event()

        def forward(src, dst):
            read_batch, wait, write_batch = src.read_batch, src.wait_read_event, dst.write_batch
            while not done.is_set():
                batch = read_batch()
                if batch:
                    write_batch(batch)
                else:
                    wait(0.05)

        try:
            for tun, host in ((ta, 1), (tb, 2)):
                tun.mtu = mtu
                tun.addr = f"10.97.0.{host}/24"
                tun.up()
            threads = [threading.Thread(target=forward, args=pair) for pair in ((ta, tb), (tb, ta))]
            for thread in threads:
                thread.start()
            cpu = time.process_time()
            report = iperf3(a, b, "10.97.0.2", seconds)
            result = rate(report, time.process_time() - cpu)
            done.set()
            for thread in threads:
                thread.join()
            return result
        finally:
            done.set()
            ta.close()
            tb.close()


def tunnel(script: str, seconds: float):
    report = tunnel_iperf3(ROOT, script, seconds)
    return rate(report, report["tunnel_cpu_seconds"])


def pmd3_pump(tun: str, mtu: int, seconds: float):
    """{"host->device": (Gbit/s, CPU s/GB of the host pump), "device->host": ...}"""
    env = dict(os.environ, PYTHONPATH=ROOT)
    with Netns("ph") as host_ns, Netns("pd") as device_ns:
        veth(host_ns, device_ns, "10.98.0.1/24", "10.98.0.2/24")
        device = subprocess.Popen([TUN_FORWARD, "device", device_ns.name, "pmd3dev", "10.98.0.2", "5600"],
                                  stdout=subprocess.PIPE, text=True)
        host = None
        try:
            ready(device)
            device_ns.run("ip", "link", "set", "pmd3dev", "mtu", str(mtu), "up")
            device_ns.run("ip", "addr", "add", "fd00:6d3::1/64", "dev", "pmd3dev", "nodad")
            host = host_ns.popen(sys.executable, PUMP, "--role", "host", "--tun", tun, "--connect", "10.98.0.2:5600",
                                 "--addr", "fd00:6d3::2", "--mtu", str(mtu), stdout=subprocess.PIPE, text=True, env=env)
            ready(host)
            time.sleep(0.5)
            result = {}
            for direction, extra in (("host->device", ()), ("device->host", ("-R",))):
                cpu = cpu_seconds(host.pid)
                report = iperf3(host_ns, device_ns, "fd00:6d3::1", seconds, *extra)
                result[direction] = rate(report, cpu_seconds(host.pid) - cpu)
            return result
        finally:
            stop(*(p for p in (host, device) if p))


def median_rate(runs):
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def stream_benchmarks(repeat: int, seconds: float) -> None:
    build_forwarder()
    print("\n| stream (iperf3 TCP) | wintun | Gbit/s | CPU s/GB | against | Gbit/s | CPU s/GB | ratio | target |")
    print("|---|---|---|---|---|---|---|---|---|")

    def row(what, ours_name, ours, theirs_name, theirs, target):
        print(f"| {what} | {ours_name} | {ours[0]:.2f} | {ours[1]:.2f} | {theirs_name} | {theirs[0]:.2f} | "
              f"{theirs[1]:.2f} | {ours[0] / theirs[0]:.2f} | {target} |", flush=True)

    runs = {key: [] for key in ("tunnel.py", "tunnel_raw.py", "vnet", "plain", "transparent")}
    for _ in range(repeat):
        runs["tunnel.py"].append(tunnel("tunnel.py", seconds))
        runs["tunnel_raw.py"].append(tunnel("tunnel_raw.py", seconds))
        runs["vnet"].append(c_forwarder("vnet", seconds))
        runs["plain"].append(c_forwarder("plain", seconds))
        runs["transparent"].append(wintun_forwarder(seconds))
    m = {key: median_rate(value) for key, value in runs.items()}
    row("TCP through a tunnel, MTU 1280", "tunnel.py (super-packets)", m["tunnel.py"], "tunnel_raw.py", m["tunnel_raw.py"], "≥ 3")
    row("the same, against the ceiling", "tunnel.py (super-packets)", m["tunnel.py"], "C forwarder, IFF_VNET_HDR",
        m["vnet"], "≥ 0.5")
    row("two adapters joined in Python, MTU 1280", "transparent, read_batch/write_batch", m["transparent"],
        "C forwarder, read()/write()", m["plain"], "≥ 2")
    for mtu, target in ((1280, "≥ 1.5"), (16000, "≥ 1.3")):
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(pmd3_pump("wintun", mtu, seconds))
            theirs.append(pmd3_pump("pytun", mtu, seconds))
        for direction in ("host->device", "device->host"):
            row(f"pmd3 pump, MTU {mtu}, {direction}", "wintun", median_rate([r[direction] for r in ours]),
                "pytun-pmd3's way", median_rate([r[direction] for r in theirs]), target)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="iperf3 run length")
    parser.add_argument("--only", default="read,write,streams", help="a comma-separated subset of read,write,streams")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if os.geteuid() != 0:
        sys.exit("bench_kernel.py needs root (it makes network namespaces)")
    wintun.set_logger(lambda *a: None)
    print(f"Python {sys.version.split()[0]}; medians of {args.repeat} runs\n")
    print("| benchmark | packet | C loop | Python os.read/os.write | TunDevice | TunDevice / C | TunDevice / os |")
    print("|---|---|---|---|---|---|---|")
    for kind, bench in (("read", read_benchmark), ("write", write_benchmark)):
        if kind not in only:
            continue
        for size, count in ((64, 200_000), (1400, 40_000)):
            runs = []
            for _ in range(args.repeat):
                with Netns("bench") as ns:
                    runs.append(bench(ns, size, count))
            c, py, ours = (statistics.median(r[k] for r in runs) / 1e3 for k in ("c", "os", "wintun"))
            print(f"| {kind} (kpps) | {size} B | {c:.0f} | {py:.0f} | {ours:.0f} | {ours / c:.2f} | {ours / py:.2f} |",
                  flush=True)
    if "streams" in only:
        stream_benchmarks(args.repeat, args.seconds)

if __name__ == "__main__":
    main()
