#!/usr/bin/env python3
"""A pymobiledevice3-style tunnel: an IPv6 /64 adapter whose packets are forwarded over a TCP
connection to the other end, and back.

Both directions run in one asyncio loop: adapter -> TCP with async_read_batch() (add_reader on the
read event, no thread); TCP -> adapter with write() from the loop thread. When both ends run this
script on kernel adapters with offloads, they agree (examples/tunnel_link.py) to carry
super-packets: the adapter is opened with offload=True, so that one frame carries up to 64 KiB of a
TCP stream with its virtio-net header, and the kernel on the far side takes it whole. Otherwise
each packet travels as its own frame (a 2-byte length, then the packet), written and drained one
at a time, as pymobiledevice3 does towards a device.

    # end B (listens), end A (connects), each in its own network namespace:
    ip netns exec B python3 examples/tunnel.py --listen 10.99.0.2:5555 --addr fd00:77::2/64
    ip netns exec A python3 examples/tunnel.py --connect 10.99.0.2:5555 --addr fd00:77::1/64
    ip netns exec A ping -6 fd00:77::2

--no-super-packets keeps one packet per frame. examples/tunnel_raw.py is the same tunnel over raw
TUN fds with os.read/os.write (python-pytun style), the baseline of bench/bench_kernel.py.
"""
import argparse
import asyncio
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wintun  # noqa: E402
from tunnel_link import PLAIN, SUPER, frame, greet, open_link, read_frame, run_directions  # noqa: E402


async def adapter_to_tcp(tun: wintun.TunDevice, writer: asyncio.StreamWriter, header: struct.Struct) -> None:
    if header is SUPER:  # between two wintun ends: a batch of frames, then one drain
        while True:
            batch = await tun.async_read_batch()
            writer.writelines([part for packet in batch for part in (header.pack(len(packet)), packet)])
            await writer.drain()
    while True:
        for packet in await tun.async_read_batch():  # add_reader on the read event: no thread
            writer.write(frame(packet, header))  # one frame per packet, drained one at a time
            await writer.drain()


async def tcp_to_adapter(tun: wintun.TunDevice, reader: asyncio.StreamReader, header: struct.Struct) -> None:
    if header is SUPER:  # between two wintun ends: what has arrived, cut into frames in place
        buffer = bytearray()
        while True:
            data = await reader.read(1 << 20)
            if not data:
                raise asyncio.IncompleteReadError(bytes(buffer), None)
            buffer += data
            view, offset = memoryview(buffer), 0
            while len(buffer) - offset >= 4:
                (size,) = SUPER.unpack_from(buffer, offset)
                if size > wintun.MAX_IP_PACKET_SIZE:  # no ring packet is larger: not our peer
                    raise ValueError(f"a frame of {size} bytes from the other end")
                end = offset + 4 + size
                if end > len(buffer):
                    break
                tun.write(view[offset + 4:end])
                offset = end
            view.release()
            del buffer[:offset]
    while True:
        tun.write(await read_frame(reader, header))  # a full ring drops and counts, as a NIC would


async def run(args: argparse.Namespace) -> None:
    with wintun.TunDevice(args.name, "Tunnel", args.ring, backend=args.backend) as tun:
        tun.mtu = args.mtu
        tun.addr = args.addr
        print(f"adapter: {tun.name} {tun.addr}", flush=True)
        reader, writer = await open_link(args.listen, args.connect)
        can_super = args.super_packets and tun.offload != "none"
        super_packets = await greet(reader, writer, can_super)
        if can_super:
            tun.offload = "super_packets" if super_packets else "transparent"
        tun.up()
        print(f"ready: {'super-packets' if super_packets else 'one packet per frame'}", flush=True)
        header = SUPER if super_packets else PLAIN
        await run_directions(writer, lambda: adapter_to_tcp(tun, writer, header),
                             lambda: tcp_to_adapter(tun, reader, header))
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
    parser.add_argument("--no-super-packets", dest="super_packets", action="store_false",
                        help="one packet per frame even if both ends could carry super-packets")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
