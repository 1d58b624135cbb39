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
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tunnel_link import frame, greet, open_link, read_frame, run_directions  # noqa: E402

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


async def adapter_to_tcp(fd: int, writer: asyncio.StreamWriter) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def drain() -> None:  # pymobiledevice3's Linux pattern: add_reader, os.read until EAGAIN
        while True:
            try:
                queue.put_nowait(os.read(fd, 65535))
            except BlockingIOError:
                return

    loop.add_reader(fd, drain)
    try:
        while True:
            writer.write(frame(await queue.get()))
            await writer.drain()
    finally:
        loop.remove_reader(fd)


async def tcp_to_adapter(fd: int, reader: asyncio.StreamReader) -> None:
    while True:
        packet = await read_frame(reader)
        try:
            os.write(fd, packet)
        except BlockingIOError:
            pass


async def run(args: argparse.Namespace) -> None:
    fd = open_tun(args.name)
    try:
        subprocess.run(["ip", "link", "set", args.name, "mtu", str(args.mtu), "up"], check=True)
        subprocess.run(["ip", "addr", "add", args.addr, "dev", args.name, "nodad"], check=True)
        print(f"adapter: {args.name} {args.addr}", flush=True)
        reader, writer = await open_link(args.listen, args.connect)
        await greet(reader, writer, super_packets=False)
        print("ready", flush=True)
        await run_directions(writer, lambda: adapter_to_tcp(fd, writer), lambda: tcp_to_adapter(fd, reader))
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
