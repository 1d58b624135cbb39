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
import signal
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wintun  # noqa: E402

HEADER = struct.Struct("!H")


async def adapter_to_tcp(tun: wintun.TunDevice, writer: asyncio.StreamWriter) -> None:
    while True:
        for packet in await tun.async_read_batch():
            writer.write(HEADER.pack(len(packet)) + packet)  # one frame per packet
            await writer.drain()


async def tcp_to_adapter(tun: wintun.TunDevice, reader: asyncio.StreamReader) -> None:
    dropped = 0
    while True:
        (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
        packet = await reader.readexactly(size)
        try:
            tun.write(packet)
        except wintun.RingFullError:
            dropped += 1  # the ring is full: dropped, as a NIC would; TCP inside retransmits


async def run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with wintun.TunDevice(args.name, "Tunnel", args.ring, backend=args.backend) as tun:
        tun.mtu = args.mtu
        tun.addr = args.addr
        tun.up()
        if args.listen:
            host, port = args.listen.rsplit(":", 1)
            connected: asyncio.Future = loop.create_future()
            server = await asyncio.start_server(
                lambda r, w: connected.done() or connected.set_result((r, w)), host, int(port))
            print(f"ready: {tun.name} {tun.addr}, listening on {args.listen}", flush=True)
            reader, writer = await connected
            server.close()
        else:
            host, port = args.connect.rsplit(":", 1)
            for _ in range(100):
                try:
                    reader, writer = await asyncio.open_connection(host, int(port))
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit(f"cannot connect to {args.connect}")
            print(f"ready: {tun.name} {tun.addr}, connected to {args.connect}", flush=True)
        tasks = [asyncio.ensure_future(adapter_to_tcp(tun, writer)), asyncio.ensure_future(tcp_to_adapter(tun, reader))]
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait(tasks + [waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks + [waiter]:
            task.cancel()
        await asyncio.gather(*tasks, waiter, return_exceptions=True)
        writer.close()
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
