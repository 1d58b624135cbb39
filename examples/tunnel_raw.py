#!/usr/bin/env python3
"""The baseline of examples/tunnel.py: the same tunnel, the same script shape, over a raw TUN fd
with os.read/os.write, as python-pytun users write it today (IFF_TUN | IFF_NO_PI; configured
with ip). Linux only, needs CAP_NET_ADMIN.

    ip netns exec B python3 examples/tunnel_raw.py --listen 10.99.0.2:5555 --addr fd00:77::2/64
    ip netns exec A python3 examples/tunnel_raw.py --connect 10.99.0.2:5555 --addr fd00:77::1/64
"""
import argparse
import asyncio
import fcntl
import os
import signal
import struct
import subprocess
import sys

HEADER = struct.Struct("!H")
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


async def adapter_to_tcp(fd: int, writer: asyncio.StreamWriter) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def drain() -> None:
        while True:
            try:
                queue.put_nowait(os.read(fd, 65535))
            except BlockingIOError:
                return

    loop.add_reader(fd, drain)
    try:
        while True:
            packet = await queue.get()
            writer.write(HEADER.pack(len(packet)) + packet)
            await writer.drain()
    finally:
        loop.remove_reader(fd)


async def tcp_to_adapter(fd: int, reader: asyncio.StreamReader) -> None:
    while True:
        (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
        packet = await reader.readexactly(size)
        try:
            os.write(fd, packet)
        except BlockingIOError:
            pass


async def run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    fd = open_tun(args.name)
    subprocess.run(["ip", "link", "set", args.name, "mtu", str(args.mtu), "up"], check=True)
    subprocess.run(["ip", "addr", "add", args.addr, "dev", args.name, "nodad"], check=True)
    try:
        if args.listen:
            host, port = args.listen.rsplit(":", 1)
            connected: asyncio.Future = loop.create_future()
            server = await asyncio.start_server(
                lambda r, w: connected.done() or connected.set_result((r, w)), host, int(port))
            print(f"ready: {args.name} {args.addr}, listening on {args.listen}", flush=True)
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
            print(f"ready: {args.name} {args.addr}, connected to {args.connect}", flush=True)
        tasks = [asyncio.ensure_future(adapter_to_tcp(fd, writer)), asyncio.ensure_future(tcp_to_adapter(fd, reader))]
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait(tasks + [waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks + [waiter]:
            task.cancel()
        await asyncio.gather(*tasks, waiter, return_exceptions=True)
        writer.close()
        print("done", flush=True)
    finally:
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    end = parser.add_mutually_exclusive_group(required=True)
    end.add_argument("--listen", metavar="HOST:PORT")
    end.add_argument("--connect", metavar="HOST:PORT")
    parser.add_argument("--addr", required=True)
    parser.add_argument("--name", default="wtraw")
    parser.add_argument("--mtu", type=int, default=1280)
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
