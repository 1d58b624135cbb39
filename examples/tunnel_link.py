"""What examples/tunnel.py and examples/tunnel_raw.py share, so that they differ only in how they
move packets: the TCP link between the two ends (one listens, the other connects), the greeting
that settles the framing, and running both directions until a signal or an error.

The greeting is one line each way, b"wintun-tunnel 1 plain\\n" or b"wintun-tunnel 1 super\\n". Both
ends say "super" (tunnel.py on a kernel adapter with offloads): each frame is a 4-byte big-endian
length and a packet of offload="super_packets" (its 10-byte virtio-net header, then an IP packet
or a super-packet of up to 64 KiB). Otherwise each frame is a 2-byte length and an IP packet, as
pymobiledevice3 frames packets towards a device."""
import asyncio
import signal
import struct
from typing import Awaitable, Callable, Tuple

PLAIN = struct.Struct("!H")
SUPER = struct.Struct("!I")
GREETING = b"wintun-tunnel 1 "

Streams = Tuple[asyncio.StreamReader, asyncio.StreamWriter]


def frame(packet: bytes, header: struct.Struct = PLAIN) -> bytes:
    return header.pack(len(packet)) + packet


async def read_frame(reader: asyncio.StreamReader, header: struct.Struct = PLAIN) -> bytes:
    (size,) = header.unpack(await reader.readexactly(header.size))
    return await reader.readexactly(size)


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, super_packets: bool) -> bool:
    """Says what this end can carry and hears the other: True if both carry super-packets."""
    writer.write(GREETING + (b"super\n" if super_packets else b"plain\n"))
    await writer.drain()
    line = await reader.readline()
    if not line.startswith(GREETING):
        raise SystemExit(f"the other end is not a wintun tunnel: {line[:40]!r}")
    return super_packets and line[len(GREETING):].strip() == b"super"


async def open_link(listen: str, connect: str) -> Streams:
    """The TCP connection to the other end: accepted on listen, or made to connect."""
    if listen:
        host, port = listen.rsplit(":", 1)
        connected: asyncio.Future = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(lambda r, w: connected.done() or connected.set_result((r, w)), host, int(port))
        print(f"listening on {listen}", flush=True)
        streams = await connected
        server.close()
        return streams
    host, port = connect.rsplit(":", 1)
    for _ in range(100):
        try:
            streams = await asyncio.open_connection(host, int(port))
            print(f"connected to {connect}", flush=True)
            return streams
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit(f"cannot connect to {connect}")


async def run_directions(writer: asyncio.StreamWriter, *directions: Callable[[], Awaitable[None]]) -> None:
    """Runs the forwarding directions until SIGINT/SIGTERM or until one of them ends."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.ensure_future(direction()) for direction in directions]
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait(tasks + [waiter], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks + [waiter]:
        task.cancel()
    await asyncio.gather(*tasks, waiter, return_exceptions=True)
    writer.close()
