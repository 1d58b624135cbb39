#!/usr/bin/env python3
"""A pymobiledevice3-style tunnel: an IPv6 /64 adapter whose packets are forwarded one by one
over a TCP connection to the other end, and back.

Each packet travels as its own frame (a 2-byte big-endian length, then the packet), written
and drained one at a time, as pymobiledevice3 does towards a device. Both directions run in one
asyncio loop: adapter -> TCP with async_read_batch() (add_reader on the read event, no thread);
TCP -> adapter with write() from the loop thread.

    # end B (listens), end A (connects), each in its own network namespace:
    ip netns exec B python3 examples/tunnel.py --listen 10.99.0.2:5555 --addr fd00:77::2/64
    ip netns exec A python3 examples/tunnel.py --connect 10.99.0.2:5555 --addr fd00:77::1/64
    ip netns exec A ping -6 fd00:77::2

examples/tunnel_raw.py is the same tunnel over raw TUN fds with os.read/os.write (python-pytun
style), the baseline of bench/bench_kernel.py.
"""
import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wintun  # noqa: E402
from tunnel_link import frame, open_link, read_frame, run_directions  # noqa: E402


async def adapter_to_tcp(tun: wintun.TunDevice, writer: asyncio.StreamWriter) -> None:
    while True:
        for packet in await tun.async_read_batch():  # add_reader on the read event: no thread
            writer.write(frame(packet))  # one frame per packet, drained one at a time
            await writer.drain()


async def tcp_to_adapter(tun: wintun.TunDevice, reader: asyncio.StreamReader) -> None:
    while True:
        packet = await read_frame(reader)
        try:
            tun.write(packet)  # never blocks the loop
        except wintun.RingFullError:
            pass  # dropped (counted in tun.stats), as a NIC would; TCP inside retransmits


async def run(args: argparse.Namespace) -> None:
    with wintun.TunDevice(args.name, "Tunnel", args.ring, backend=args.backend) as tun:
        tun.mtu = args.mtu
        tun.addr = args.addr
        tun.up()
        print(f"adapter: {tun.name} {tun.addr}", flush=True)
        reader, writer = await open_link(args.listen, args.connect)
        await run_directions(writer, lambda: adapter_to_tcp(tun, writer), lambda: tcp_to_adapter(tun, reader))
        print(f"done: {tun.stats}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    end = parser.add_mutually_exclusive_group(required=True)
    end.add_argument("--listen", metavar="HOST:PORT")
    end.add_argument("--connect", metavar="HOST:PORT")
    parser.add_argument("--addr", required=True, help="the adapter's address, e.g. fd00:77::1/64")
    parser.add_argument("--name", default="wttunnel")
    parser.add_argument("--mtu", type=int, default=1280)
    parser.add_argument("--ring", type=int, default=0x400000)
    parser.add_argument("--backend", default="auto")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
