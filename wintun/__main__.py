"""python -m wintun: ``info`` (version and backends), ``demo`` (traffic through an adapter) and
``list`` (adapters, by tunnel type)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional, Tuple

import wintun
from wintun.packets import describe, echo_request_v4, echo_request_v6

WINDOWS = sys.platform == "win32"
DEMO_V4 = ("10.6.7.7/24", "10.6.7.8")
DEMO_V6 = ("fd00:6:7::7/64", "fd00:6:7::8")


def probe_backends() -> List[Tuple[str, Optional[str]]]:
    """(backend, None if usable else why not), by creating and removing an adapter on each."""
    results = []
    for backend in ("kernel", "emulated"):
        try:
            tun = wintun.TunDevice(f"wtprobe{os.getpid() % 10000}", "Probe", backend=backend)
        except wintun.WintunError as error:
            results.append((backend, str(error)))
            continue
        tun.close()
        results.append((backend, None))
    return results


def cmd_info(args: argparse.Namespace) -> int:
    wintun.set_logger(lambda *a: None)  # the probes' failures are reported below, not logged
    print(f"wintun {wintun.__version__} (Python {sys.version.split()[0]}, {sys.platform})")
    what = "Wintun driver (through wintun.dll)" if WINDOWS else "driver half: Wintun protocol"
    try:
        version = wintun.get_driver_version()
        print(f"{what} {version >> 16}.{version & 0xFFFF}")
    except wintun.WintunError as error:
        print(f"{what}: unavailable: {error}")
    print("backends:")
    for backend, reason in probe_backends():
        print(f"  {backend:9} {'available' if reason is None else 'unavailable: ' + reason}")
    if not WINDOWS:
        try:
            wintun.TunDevice(f"wtprobe{os.getpid() % 10000}", "Probe", backend="kernel", netns="private").close()
            print("  kernel in a private network namespace (netns='private'): available")
        except wintun.WintunError as error:
            print(f"  kernel in a private network namespace (netns='private'): unavailable: {error}")
    if not WINDOWS:
        from wintun import _helper

        admitted, text = _helper.probe()
        print(f"  kernel through wintun-helper (without CAP_NET_ADMIN): {text}")
    default = os.environ.get("WINTUN_BACKEND") or "auto"
    print(f"backend='auto' means: {default if default != 'auto' else 'kernel'} (WINTUN_BACKEND={os.environ.get('WINTUN_BACKEND', '')!r})")
    return 0


def open_demo_adapter(backend: str) -> wintun.TunDevice:
    """The demo's adapter. On Linux a kernel one goes into a private network namespace of its own,
    so that the demo changes nothing on the machine's own network; on Windows it is a Wintun
    adapter of this process, removed when the demo ends."""
    name = f"wtdemo{os.getpid() % 10000}"
    if backend == "emulated":
        return wintun.TunDevice(name, "Demo", 0x100000, backend="emulated")
    try:
        if WINDOWS:
            tun = wintun.TunDevice(name, "Demo", 0x100000, backend="kernel")
            print("A Wintun adapter, through wintun.dll; removed when the demo ends.")
        else:
            tun = wintun.TunDevice(name, "Demo", 0x100000, backend="kernel", netns="private")
            print("A kernel TUN interface, in a private network namespace of its own.")
        return tun
    except wintun.WintunError as error:
        if backend == "kernel":
            raise
        print(f"The kernel backend is not available here ({error.strerror}).")
        print("This demo uses the emulated backend.")
        return wintun.TunDevice(name, "Demo", 0x100000, backend="emulated")


def ping_demo(tun: wintun.TunDevice, count: int) -> int:
    """ICMP echo requests to the adapter's own addresses: the OS answers through the adapter."""
    tun.mtu = 1400
    tun.addr = DEMO_V4[0]
    tun.add_address(DEMO_V6[0])
    tun.up()
    print(f"Adapter {tun.name!r}: backend {tun.backend}, LUID {tun.luid:#x}, GUID {tun.guid}")
    print(f"  MTU {tun.mtu}, addresses {', '.join(str(a) for a in tun.addresses)}, up: {tun.is_up}")
    replies = 0
    for seq in range(1, count + 1):
        for make, (local, peer) in ((echo_request_v4, DEMO_V4), (echo_request_v6, DEMO_V6)):
            request = make(peer, local.split("/")[0], seq)
            tun.write(request)
            print(f"  sent     {describe(request)}")
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                packet = tun.read()
                if packet is None:
                    tun.wait_read_event(timeout=max(0.0, deadline - time.monotonic()))
                    continue
                print(f"  received {describe(packet)}")
                if packet[0] >> 4 == 4 and packet[20] == 0 or packet[0] >> 4 == 6 and packet[40] == 129:
                    replies += 1
                    break
    return replies


def pair_demo(packets: int) -> None:
    """Two emulated adapters wired back to back: push packets through in batches."""
    with wintun.TunDevice("wtdemo-a", "Demo", backend="emulated") as a, wintun.TunDevice("wtdemo-b", "Demo", backend="emulated") as b:
        a.os_side.connect(b)
        a.up()
        b.up()
        packet = echo_request_v4("10.9.0.1", "10.9.0.2", 1, b"x" * 1372)  # 1400 bytes
        batch = [packet] * 64
        sent = received = 0
        start = time.perf_counter()
        while received < packets:
            if sent < packets:
                try:
                    sent += a.write_batch(batch[: min(64, packets - sent)])
                except wintun.RingFullError:
                    pass
            got = b.read_batch(256)
            if not got and sent >= packets:
                b.wait_read_event(timeout=1)
            received += len(got)
        elapsed = time.perf_counter() - start
        print(f"Pair: {received} packets of {len(packet)} bytes from {a.name} to {b.name} in {elapsed:.3f} s "
              f"({received / elapsed / 1e6:.2f} Mpps, {received * len(packet) * 8 / elapsed / 1e9:.2f} Gbit/s)")
        print(f"  {a.name}: {a.stats}")
        print(f"  {b.name}: {b.stats}")


def cmd_demo(args: argparse.Namespace) -> int:
    wintun.set_logger(lambda level, ts, msg: print(f"  [{'+-!'[level]}] {msg}"))
    version = wintun.get_driver_version()
    print(f"wintun {wintun.__version__}, driver half {version >> 16}.{version & 0xFFFF}")
    with open_demo_adapter(args.backend) as tun:
        replies = ping_demo(tun, args.count)
        # The driver counts a write once the OS took it, which may be after the reply came back.
        deadline = time.monotonic() + 1
        while tun.stats.write_packets < 2 * args.count and time.monotonic() < deadline:
            time.sleep(0.01)
        print(f"  {replies} of {2 * args.count} echo requests answered; counters: {tun.stats}")
    if args.pair_packets:
        pair_demo(args.pair_packets)
    return 0 if replies == 2 * args.count else 1


def cmd_list(args: argparse.Namespace) -> int:
    try:
        adapters = wintun.list_adapters(args.type)
    except OSError as error:
        print(f"python -m wintun list: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([info._asdict() for info in adapters], indent=2))
        return 0
    if not adapters:
        print("no adapters" + (f" of tunnel type {args.type!r}" if args.type else "")
              + ("" if WINDOWS else " in this network namespace"))
        return 0
    rows = [("NAME", "TYPE", "BACKEND", "LUID", "GUID", "STATE", "INTERFACE")]
    rows += [(i.name, i.tunnel_type, i.backend, f"0x{i.luid:016x}", i.guid, i.state, i.ifname or "-") for i in adapters]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wintun", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="version, and which backends work here and why not").set_defaults(run=cmd_info)
    demo = commands.add_parser("demo", help="create an adapter, push traffic through it, print what happens")
    demo.add_argument("--backend", choices=("auto", "kernel", "emulated"), default="auto",
                      help="auto: the kernel (in a private network namespace) where permitted, else (and saying "
                           "so) the emulated backend")
    demo.add_argument("--count", type=int, default=3, help="echo requests per IP version (default 3)")
    demo.add_argument("--pair-packets", type=int, default=200000,
                      help="packets pushed through an emulated pair afterwards (0: skip)")
    demo.set_defaults(run=cmd_demo)
    listing = commands.add_parser("list", help="the adapters (kernel ones of every process in this network namespace), "
                                               "with name, tunnel type, backend, LUID, GUID and state")
    listing.add_argument("--type", metavar="T", help="only those of tunnel type T (Wintun 0.9's pool; case ignored)")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(run=cmd_list)
    args = parser.parse_args(argv)
    if getattr(args, "count", 1) < 1 or getattr(args, "pair_packets", 0) < 0:
        parser.error("--count must be at least 1 and --pair-packets not negative")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
