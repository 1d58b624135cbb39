#!/usr/bin/env python3
"""pymobiledevice3's TCP tunnel pump, for bench/bench_kernel.py: the host end in one of two ways,
and a fake device.

  --role host --tun wintun   the pump as pymobiledevice3 drives wintun: TunDevice named
                             pymobiledevice3-tunnel-<UDID>, async_read_batch(), one send and drain
                             per IPv6 packet, device->host framed by the IPv6 header and written
                             with the 00 00 86 DD prefix
  --role host --tun pytun    the same pump the way pytun-pmd3 does it on Linux: a TUN without
                             IFF_NO_PI (every packet behind its 4-byte header), add_reader draining
                             os.read() into a queue, os.write() of the prefix and the packet
  --role device              the device: IPv6 packets framed by their header over TCP, bridged to a
                             raw TUN (the same for both hosts)

    python3 bench/pmd3_pump.py --role device --listen 10.98.0.2:5600 --addr fd00:6d3::1 --mtu 1280
    python3 bench/pmd3_pump.py --role host --tun wintun --connect 10.98.0.2:5600 --addr fd00:6d3::2 --mtu 1280

Each prints "ready" once its end is up, and runs until a signal.
"""
import argparse
import asyncio
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LOOPBACK_HEADER = b"\x00\x00\x86\xdd"
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
UDID = "00008030-001A2B3C4D5E802E"


def raw_tun(name: str, no_pi: bool, blocking: bool) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | (0 if blocking else os.O_NONBLOCK))
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | (IFF_NO_PI if no_pi else 0)))
    return fd


def configure(name: str, addr: str, mtu: int) -> None:
    subprocess.run(["ip", "link", "set", name, "mtu", str(mtu), "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{addr}/64", "dev", name, "nodad"], check=True)


async def read_ipv6_frames(reader: asyncio.StreamReader, deliver) -> None:
    """pymobiledevice3's sock_read_task: each packet framed by its own IPv6 header."""
    while True:
        header = await reader.readexactly(40)
        (length,) = struct.unpack(">H", header[4:6])
        deliver(header + await reader.readexactly(length))


async def wintun_host(args, reader, writer) -> None:
    import wintun

    tun = wintun.TunDevice(f"pymobiledevice3-tunnel-{UDID}")
    tun.addr = args.addr
    tun.mtu = args.mtu
    tun.up()
    print("ready", flush=True)

    async def tun_read_task():
        while True:
            for packet in await tun.async_read_batch():
                if not packet or packet[0] >> 4 != 6:
                    continue
                writer.write(packet)  # one packet per write, as pymobiledevice3 does
                await writer.drain()

    write = tun.write
    await asyncio.gather(tun_read_task(), read_ipv6_frames(reader, lambda p: write(LOOPBACK_HEADER + p)))


async def pytun_host(args, reader, writer) -> None:
    name = "pmd3pytun"
    fd = raw_tun(name, no_pi=False, blocking=True)  # pytun-pmd3: no IFF_NO_PI, a blocking fd
    configure(name, args.addr, args.mtu)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    size = args.mtu + 4

    def on_readable():
        while select.select([fd], [], [], 0)[0]:
            queue.put_nowait(os.read(fd, size))

    loop.add_reader(fd, on_readable)

    async def tun_read_task():
        while True:
            packets = [await queue.get()]
            while not queue.empty():
                packets.append(queue.get_nowait())
            for packet in packets:
                packet = packet[4:]
                if not packet or packet[0] >> 4 != 6:
                    continue
                writer.write(packet)
                await writer.drain()

    await asyncio.gather(tun_read_task(), read_ipv6_frames(reader, lambda p: os.write(fd, LOOPBACK_HEADER + p)))


async def device(args) -> None:
    name = "pmd3dev"
    fd = raw_tun(name, no_pi=True, blocking=False)
    configure(name, args.addr, args.mtu)
    loop = asyncio.get_running_loop()
    connected: asyncio.Future = loop.create_future()
    host, port = args.listen.rsplit(":", 1)
    server = await asyncio.start_server(lambda r, w: connected.done() or connected.set_result((r, w)), host, int(port))
    print("ready", flush=True)
    reader, writer = await connected
    server.close()

    def on_readable():
        while True:
            try:
                writer.write(os.read(fd, 65535))
            except BlockingIOError:
                return

    loop.add_reader(fd, on_readable)

    def deliver(packet):
        try:
            os.write(fd, packet)
        except BlockingIOError:
            pass

    await read_ipv6_frames(reader, deliver)


async def main_async(args) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.role == "device":
        work = asyncio.ensure_future(device(args))
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
        pump = wintun_host if args.tun == "wintun" else pytun_host
        work = asyncio.ensure_future(pump(args, reader, writer))
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait([work, waiter], return_when=asyncio.FIRST_COMPLETED)
    for task in (work, waiter):
        task.cancel()
    await asyncio.gather(work, waiter, return_exceptions=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=("host", "device"), required=True)
    parser.add_argument("--tun", choices=("wintun", "pytun"), default="wintun")
    parser.add_argument("--listen")
    parser.add_argument("--connect")
    parser.add_argument("--addr", required=True)
    parser.add_argument("--mtu", type=int, default=1280)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
