"""pymobiledevice3's contract with its TUN device, on real kernel adapters.

The pump below has the shape of pymobiledevice3's tunnel code (see docs/python.md, "wintun as
pymobiledevice3's TUN device"): the device is made by a create_tun_device() factory and
configured as pymobiledevice3 does it (addr without a prefix, mtu, up(), then mtu and name read);
the host->device task picks its read path as pymobiledevice3 does (async_read_batch first) and sends
each packet by its own call; the device->host task frames packets by the IPv6 header's payload
length and writes them with the 00 00 86 DD prefix, inline on the event loop; any OSError or
ValueError ends a loop, as in the original.

The "device" is a fake: a TCP server on loopback that bridges the stream to a second kernel TUN
in another namespace, where the device's address lives. ping, iperf3 and floods run in the
namespaces; everything is bounded in count and time.
"""
import asyncio
import inspect
import json
import os
import random
import shutil
import struct
import sys

import pytest

import wintun
from netns import Netns

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not shutil.which("ip") or not shutil.which("ping"),
    reason="the contract test needs root, /dev/net/tun, iproute2 and ping (CI has them)",
)

LOOPBACK_HEADER = b"\x00\x00\x86\xdd"  # pymobiledevice3's osu loopback_header on Linux and Windows
UDID = "00008030-001A2B3C4D5E802E"
HOST, DEVICE = "fd00:6d3::2", "fd00:6d3::1"


def create_tun_device(name: str, netns: str) -> wintun.TunDevice:
    """The factory pymobiledevice3 looks up at call time, replaced: its win32 branch names the
    adapter; here the name is honoured on Linux too."""
    return wintun.TunDevice(name, netns=netns)


class HostPump:
    """pymobiledevice3's RemotePairingTcpTunnel, reduced to its TUN contract."""

    def __init__(self, tun, reader, writer):
        self.tun, self.reader, self.writer = tun, reader, writer
        self.ended = {}  # task name -> the exception that ended it
        self.to_device = self.from_device = 0

    async def start(self, mtu: int) -> None:
        self.tun.addr = HOST  # an IPv6 address without a prefix: /64
        self.tun.mtu = mtu
        result = self.tun.up()
        if inspect.isawaitable(result):
            await result
        assert self.tun.mtu == mtu and self.tun.name.startswith("pymobiledevice3-tunnel-")
        self.tasks = [asyncio.create_task(self.tun_read_task(), name="tun_read_task"),
                      asyncio.create_task(self.sock_read_task(), name="sock_read_task")]

    async def send_packet_to_device(self, packet: bytes) -> None:
        self.writer.write(packet)  # one packet per write: coalescing breaks CoreDeviceProxy
        await self.writer.drain()
        self.to_device += 1

    async def tun_read_task(self) -> None:
        try:
            if hasattr(self.tun, "async_read_batch"):
                while True:
                    for packet in await self.tun.async_read_batch():
                        if not packet or packet[0] >> 4 != 6:
                            continue
                        await self.send_packet_to_device(packet)
            else:  # never taken with wintun: the first path is there
                raise AssertionError("wintun.TunDevice has async_read_batch")
        except (ConnectionResetError, OSError, ValueError) as e:
            self.ended["tun_read_task"] = e

    async def sock_read_task(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(40)
                (length,) = struct.unpack(">H", header[4:6])
                body = await self.reader.readexactly(length)
                self.tun.write(LOOPBACK_HEADER + header + body)
                self.from_device += 1
        except (OSError, ValueError, asyncio.IncompleteReadError) as e:
            self.ended["sock_read_task"] = e

    def alive(self) -> bool:
        return not self.ended and not any(task.done() for task in self.tasks)

    async def stop(self) -> None:
        self.tasks[0].cancel()
        await asyncio.gather(self.tasks[0], return_exceptions=True)
        result = self.tun.close()
        if inspect.isawaitable(result):
            await result
        self.writer.close()
        await asyncio.gather(self.tasks[1], return_exceptions=True)


class FakeDevice:
    """The device: IPv6 packets framed by their own header over TCP, bridged to a kernel TUN."""

    def __init__(self, ns: Netns, mtu: int):
        self.tun = wintun.TunDevice("wtdevice", netns=ns.name)
        self.tun.mtu = mtu
        self.tun.addr = DEVICE
        self.tun.up()
        self.tasks = []
        self.writer = None

    async def serve(self):
        self.server = await asyncio.start_server(self.connected, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def connected(self, reader, writer):
        self.writer = writer
        self.tasks = [asyncio.create_task(self.from_host(reader)), asyncio.create_task(self.to_host(writer))]

    async def from_host(self, reader):
        try:
            while True:
                header = await reader.readexactly(40)
                body = await reader.readexactly(struct.unpack(">H", header[4:6])[0])
                self.tun.write(header + body)
        except (OSError, asyncio.IncompleteReadError):
            pass

    async def to_host(self, writer):
        try:
            while True:
                for packet in await self.tun.async_read_batch():
                    writer.write(packet)
                await writer.drain()
        except OSError:
            pass

    def send_garbage(self, count: int, seed: int) -> int:
        """Frames whose header is random but for its payload length (the framing holds)."""
        rng = random.Random(seed)
        for _ in range(count):
            length = rng.randrange(0, 2000)
            header = bytearray(rng.randbytes(40))
            header[4:6] = struct.pack(">H", length)
            self.writer.write(bytes(header) + rng.randbytes(length))
        return count

    async def close(self):
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tun.close()


async def in_thread(function, *args, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(None, lambda: function(*args, **kwargs))


def tunnel(mtu: int, scenario):
    """Runs scenario(pump, device, host_ns, device_ns) on a live tunnel, then takes it down."""

    async def main():
        with Netns("h") as host_ns, Netns("d") as device_ns:
            device = FakeDevice(device_ns, mtu)
            port = await device.serve()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            tun = create_tun_device(f"pymobiledevice3-tunnel-{UDID}", host_ns.name)
            pump = HostPump(tun, reader, writer)
            try:
                await pump.start(mtu)
                await scenario(pump, device, host_ns, device_ns)
            finally:
                if not tun.closed:
                    await pump.stop()
                await device.close()
            # The interface is gone with the tunnel.
            assert host_ns.run("ip", "link", "show", tun.name, check=False).returncode != 0

    asyncio.run(asyncio.wait_for(main(), 120))


async def eventually(condition, seconds: float) -> None:
    """Until condition() holds, twice 0.1 s apart (a moving count may pass it once), or seconds."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            await asyncio.sleep(0.1)
            if condition():
                return
        await asyncio.sleep(0.05)


async def ping_20(ns) -> None:
    result = await in_thread(ns.run, "ping", "-6", "-c", "20", "-i", "0.05", "-W", "2", DEVICE, check=False)
    assert "20 packets transmitted, 20 received" in result.stdout, result.stdout + result.stderr


def test_ping6_gets_every_reply():
    async def scenario(pump, device, host_ns, device_ns):
        await ping_20(host_ns)
        assert pump.alive() and pump.to_device >= 20 and pump.from_device >= 20

    tunnel(1280, scenario)


@pytest.mark.skipif(not shutil.which("iperf3"), reason="iperf3 is not installed")
@pytest.mark.parametrize("mtu", [1280, 16000])
def test_iperf3_tcp_in_each_direction(mtu):
    async def scenario(pump, device, host_ns, device_ns):
        for reverse in (False, True):
            server = device_ns.popen("iperf3", "-s", "-1", "-B", DEVICE, stdout=asyncio.subprocess.DEVNULL)
            try:
                await asyncio.sleep(0.5)
                args = ["iperf3", "-c", DEVICE, "-t", "2", "-J"] + (["-R"] if reverse else [])
                client = await in_thread(host_ns.run, *args, check=False, timeout=60)
                report = json.loads(client.stdout)
                assert "error" not in report, report.get("error")
                assert report["end"]["sum_received"]["bytes"] > 100_000, (reverse, report["end"])
            finally:
                await in_thread(server.wait, 10)
            assert pump.alive()

    tunnel(mtu, scenario)


FLOOD = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
payload = bytes(int(sys.argv[2]))
deadline = time.monotonic() + 10
sent = 0
while sent < int(sys.argv[3]) and time.monotonic() < deadline:
    try:
        s.sendto(payload, (sys.argv[1], 9))
        sent += 1
    except OSError:
        time.sleep(0.001)
print(sent)
"""


def test_a_flood_at_mtu_16000_leaves_the_pump_alive():
    """Device->host at full speed with the largest packets: tun.write() never raises (a full ring
    drops and counts, as a kernel TUN write does), and the tunnel still carries pings after."""

    async def scenario(pump, device, host_ns, device_ns):
        flood = await in_thread(device_ns.run, sys.executable, "-c", FLOOD, HOST, "15900", "20000", check=False,
                                timeout=60)
        assert flood.returncode == 0, flood.stderr
        assert int(flood.stdout) > 1000
        def accounted():
            s = pump.tun.stats
            return s.write_packets + s.write_drops + s.write_discards + s.write_errors

        # The stream drains, and every packet written is counted once.
        await eventually(lambda: accounted() == pump.from_device, 10)
        assert pump.alive(), pump.ended
        assert accounted() == pump.from_device > 1000
        await ping_20(host_ns)
        assert pump.alive(), pump.ended

    tunnel(16000, scenario)


def test_garbage_from_the_device_leaves_the_pump_alive():
    async def scenario(pump, device, host_ns, device_ns):
        await ping_20(host_ns)
        before = pump.from_device
        sent = device.send_garbage(200, seed=6)
        await device.writer.drain()
        await eventually(lambda: pump.from_device - before >= sent, 5)
        assert pump.from_device - before >= sent and pump.alive(), pump.ended
        assert pump.tun.stats.write_discards > 0  # what is no IP packet was discarded and counted
        await ping_20(host_ns)
        assert pump.alive(), pump.ended

    tunnel(1280, scenario)


def test_close_while_the_read_task_is_pending_ends_it_cleanly():
    async def scenario(pump, device, host_ns, device_ns):
        await ping_20(host_ns)
        await asyncio.sleep(0.2)  # the read task is waiting in async_read_batch()
        assert not pump.tasks[0].done()
        pump.tun.close()
        await asyncio.wait_for(pump.tasks[0], 2)
        ended = pump.ended["tun_read_task"]
        assert isinstance(ended, wintun.AdapterClosedError)  # an OSError: pymobiledevice3 ends quietly
        assert host_ns.run("ip", "link", "show", pump.tun.name, check=False).returncode != 0
        pump.writer.close()

    tunnel(1280, scenario)
