"""What examples/tunnel.py and examples/tunnel_raw.py share, so that they differ only in how they
move packets: the TCP link between the two ends (one listens, the other connects), the 2-byte
length-prefixed framing, and running both directions until a signal or an error."""
import asyncio
import signal
import struct
from typing import Awaitable, Callable, Tuple

HEADER = struct.Struct("!H")

Streams = Tuple[asyncio.StreamReader, asyncio.StreamWriter]


def frame(packet: bytes) -> bytes:
    return HEADER.pack(len(packet)) + packet


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return await reader.readexactly(size)


async def open_link(listen: str, connect: str) -> Streams:
    """The TCP connection to the other end: accepted on listen, or made to connect."""
    if listen:
        host, port = listen.rsplit(":", 1)
        connected: asyncio.Future = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(lambda r, w: connected.done() or connected.set_result((r, w)), host, int(port))
        print(f"ready: listening on {listen}", flush=True)
        streams = await connected
        server.close()
        return streams
    host, port = connect.rsplit(":", 1)
    for _ in range(100):
        try:
            streams = await asyncio.open_connection(host, int(port))
            print(f"ready: connected to {connect}", flush=True)
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
