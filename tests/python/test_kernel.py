"""The kernel backend end to end, each test in network namespaces of its own: real TUN
interfaces, checked with iproute2, ping and iperf3."""
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

import wintun
from netns import Netns, tunnel_iperf3
from packets import wait_until
from wintun.packets import echo_reply

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples"))
import ping_responder  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not shutil.which("ip"),
    reason="the kernel tests need root, /dev/net/tun and iproute2 (CI has them)",
)


@pytest.fixture
def ns():
    with Netns() as namespace:
        yield namespace


def ip_json(ns, *args):
    return json.loads(ns.run("ip", "-j", *args).stdout)


def test_seed_flow_on_a_kernel_adapter(ns):
    lines = []
    wintun.set_logger(lambda *a: lines.append(a))
    try:
        with wintun.TunDevice("wtseed", "tunnel", 0x40000, netns=ns.name) as tun:
            assert tun.backend == "kernel"
            assert wintun.get_driver_version() == 14
            tun.mtu = 1400
            tun.addr = "10.8.0.1/24"
            tun.add_address("fd00:8::1/64")
            tun.up()
            assert tun.mtu == 1400 and tun.is_up
            # The kernel sends the pings out of the adapter; we read them and answer.
            ping = ns.popen("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.8.0.2", stdout=subprocess.PIPE, text=True)
            requests = 0
            deadline = time.monotonic() + 10
            while requests < 3 and time.monotonic() < deadline:
                packet = tun.read()
                if packet is None:
                    tun.wait_read_event(timeout=0.5)
                    continue
                reply = echo_reply(packet)
                if reply is not None and packet[16:20] == bytes([10, 8, 0, 2]):
                    requests += 1
                    assert tun.write(reply) == len(reply)  # the kernel accepts it
            out, _ = ping.communicate(timeout=10)
            assert requests == 3
            assert ping.returncode == 0 and "3 received" in out
            assert wait_until(lambda: tun.stats.write_packets == 3) and tun.stats.read_packets >= 3
    finally:
        wintun.set_logger(None)
    assert any("Created kernel adapter" in line[2] for line in lines)


def test_ping_and_ping6_get_every_reply(ns):
    with wintun.TunDevice("wtping", netns=ns.name) as tun:
        tun.addr = "10.7.0.1/24"
        tun.add_address("fd00:7::1/64")
        tun.up()
        stop = threading.Event()
        answered = []
        responder = threading.Thread(target=lambda: answered.append(ping_responder.respond(tun, stop)))
        responder.start()
        try:
            v4 = ns.run("ping", "-c", "5", "-i", "0.2", "-W", "2", "10.7.0.2", check=False)
            v6 = ns.run("ping", "-6", "-c", "5", "-i", "0.2", "-W", "2", "fd00:7::2", check=False)
        finally:
            stop.set()
            responder.join(10)
        assert v4.returncode == 0 and "5 packets transmitted, 5 received" in v4.stdout, v4.stdout + v4.stderr
        assert v6.returncode == 0 and "5 packets transmitted, 5 received" in v6.stdout, v6.stdout + v6.stderr
        assert answered == [10]


def test_iproute2_sees_exactly_what_the_api_set(ns):
    with wintun.TunDevice("wtcheck", netns=ns.name) as tun:
        tun.mtu = 1380
        tun.addr = "192.0.2.1/28"
        tun.add_address("2001:db8:1::1/64")
        tun.add_address("2001:db8:2::1/48")
        tun.up()
        link = ip_json(ns, "link", "show", "dev", "wtcheck")[0]
        assert link["mtu"] == 1380 and "UP" in link["flags"] and link["ifindex"] == tun.luid >> 24 & 0xFFFFFF
        addr = ip_json(ns, "addr", "show", "dev", "wtcheck")[0]
        seen = {(a["local"], a["prefixlen"]) for a in addr["addr_info"]}
        assert seen == {("192.0.2.1", 28), ("2001:db8:1::1", 64), ("2001:db8:2::1", 48)}  # nothing more
        assert {str(a) for a in tun.addresses} == {"192.0.2.1/28", "2001:db8:1::1/64", "2001:db8:2::1/48"}
        tun.addr = "192.0.2.9/24"  # replaces the IPv4 address
        tun.remove_address("2001:db8:2::1/48")
        addr = ip_json(ns, "addr", "show", "dev", "wtcheck")[0]
        assert {(a["local"], a["prefixlen"]) for a in addr["addr_info"]} == {("192.0.2.9", 24), ("2001:db8:1::1", 64)}
        # And the other way: changes made with ip are what the getters read back.
        ns.run("ip", "link", "set", "dev", "wtcheck", "mtu", "1300")
        assert tun.mtu == 1300
        tun.down()
        assert "UP" not in ip_json(ns, "link", "show", "dev", "wtcheck")[0]["flags"]
    assert ns.run("ip", "link", "show", "dev", "wtcheck", check=False).returncode != 0  # removed by close()


def test_removal_under_a_blocked_reader(ns):
    with wintun.TunDevice("wtgone", netns=ns.name) as tun:
        tun.up()
        outcome = []

        def reader():
            try:
                while True:
                    if tun.read() is None:
                        tun.wait_read_event()  # no timeout: only EOF can end it
            except wintun.AdapterClosedError as error:
                outcome.append(error)

        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.2)
        ns.run("ip", "link", "del", "wtgone")  # another process
        thread.join(10)
        assert not thread.is_alive()
        assert outcome and outcome[0].winerror == 38  # ERROR_HANDLE_EOF
        with pytest.raises(wintun.AdapterClosedError):
            tun.write(echo_reply(wintun.packets.echo_request_v4("10.0.0.2", "10.0.0.1", 1)))
        # What is left of the device still answers: it is down, and goes away quietly.
        assert tun.is_up is False
        assert "down" in repr(tun)
        tun.down()
        tun.close()
        assert tun.closed


def test_deleted_without_a_session(ns):
    """After ip link del, with no session to notice it: repr, is_up, down and close all work."""
    tun = wintun.TunDevice("wtgone2", netns=ns.name)
    tun.down()
    ns.run("ip", "link", "del", "wtgone2")
    assert tun.is_up is False
    assert "down" in repr(tun)
    tun.down()
    with pytest.raises(wintun.AdapterClosedError):
        tun.read()
    tun.close()


def test_names_and_existing_interfaces(ns):
    for bad in ("wt%d", "has space", "a/b", "per%cent-and-longer-than-15", "é" * 127):
        with pytest.raises(ValueError, match="cannot take"):
            wintun.TunDevice(bad, netns=ns.name)
    assert "wt0" not in ns.run("ip", "link").stdout  # never a template
    with pytest.raises(ValueError, match="127"):
        wintun.TunDevice("x" * 128, netns=ns.name)
    with pytest.raises(wintun.AlreadyExistsError, match="never"):
        wintun.TunDevice("lo", netns=ns.name)
    assert ip_json(ns, "link", "show", "dev", "lo")[0]["ifname"] == "lo"
    with pytest.raises(wintun.NotFoundError):
        wintun.TunDevice("wtx", netns="no-such-namespace-here")


def test_long_names_as_pymobiledevice3_gives_them(ns):
    """Wintun's names up to 127 characters: the interface's name is derived from it (15 bytes,
    stable), the full name is its alternative name, and the adapter is opened by it."""
    name = "pymobiledevice3-tunnel-00008030-001A2B3C4D5E802E"
    with wintun.TunDevice(name, netns=ns.name) as tun:
        assert tun.name == name
        ifname = tun.ifname
        assert ifname.startswith("pymobi-") and len(ifname) == 15
        link = ip_json(ns, "link", "show", name)[0]  # ip finds it by the full name
        assert link["ifname"] == ifname and name in link.get("altnames", [])
        tun.addr = "fd00:6::1/64"
        assert ip_json(ns, "-6", "addr", "show", "dev", ifname)[0]["addr_info"][0]["local"] == "fd00:6::1"
        with pytest.raises(wintun.AlreadyExistsError):
            wintun.TunDevice(name, netns=ns.name)
    assert name not in ns.run("ip", "link").stdout
    with wintun.TunDevice(name, netns=ns.name) as again:
        assert again.ifname == ifname  # stable
    with wintun.TunDevice("wtshort", netns=ns.name) as short:
        assert short.ifname == "wtshort" == short.name
        ns.run("ip", "link", "set", "dev", "wtshort", "name", "wtrenamed")
        assert short.ifname == "wtrenamed"  # as the kernel has it now


def test_asyncio_on_a_kernel_adapter(ns):
    import asyncio

    with wintun.TunDevice("wtaio", netns=ns.name) as tun:
        tun.addr = "10.9.0.1/24"
        tun.up()

        async def main():
            ping = ns.popen("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.9.0.2", stdout=subprocess.DEVNULL)
            answered = 0
            while answered < 3:
                for packet in await asyncio.wait_for(tun.async_read_batch(), 5):
                    reply = echo_reply(packet)
                    if reply is not None:
                        tun.write(reply)
                        answered += 1
            return await asyncio.get_running_loop().run_in_executor(None, ping.wait, 10)

        assert asyncio.run(main()) == 0


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]


def run_as_nobody(code, *prefix):
    env = dict(os.environ, PYTHONPATH=ROOT, WINTUN_BACKEND="")
    return subprocess.run([*prefix, *NOBODY, sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)


def test_without_privileges_auto_says_why():
    result = run_as_nobody(
        "import wintun\n"
        "try:\n"
        "    wintun.TunDevice('wtnopriv')\n"
        "except wintun.NotPermittedError as e:\n"
        "    print('NotPermitted', e.winerror, e)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("NotPermitted 5")
    assert "backend='emulated'" in result.stdout and "netns='private'" in result.stdout


@pytest.mark.skipif(not shutil.which("unshare") or not shutil.which("mknod"), reason="needs util-linux")
def test_private_namespace_without_privileges(tmp_path):
    """An unprivileged user gets a real TUN device in a namespace of its own, where the kernel
    allows user namespaces and /dev/net/tun is usable by others (mode 0666, as on Debian). This
    machine's node may be 0600: the test brings a 0666 node of its own, in a mount namespace of its
    own, and changes nothing outside."""
    node = tmp_path / "tun"
    code = (
        "import wintun\n"
        "with wintun.TunDevice('wtpriv', netns='private') as tun:\n"
        "    tun.mtu = 1280; tun.addr = 'fd00:5::1/64'; tun.up()\n"
        "    out = tun.run_in_netns(['ip', '-br', 'addr', 'show', 'dev', 'wtpriv'], capture_output=True, text=True)\n"
        "    print(tun.backend, tun.mtu, tun.addr, out.stdout.split()[0], out.stdout.split()[-1])\n"
    )
    script = (
        f"mknod -m 666 {node} c 10 200 && mount --bind {node} /dev/net/tun && "
        f"exec {' '.join(NOBODY)} {sys.executable} -c \"$CODE\""
    )
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=ROOT, CODE=code))
    if "mknod" in result.stderr or "mount" in result.stderr:
        pytest.skip(f"cannot make a device node here: {result.stderr.strip()}")
    if "user namespace" in result.stderr:
        pytest.skip("the kernel does not allow unprivileged user namespaces here")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["kernel", "1280", "fd00:5::1/64", "wtpriv", "fd00:5::1/64"]


@pytest.mark.skipif(not shutil.which("iperf3"), reason="needs iperf3")
@pytest.mark.parametrize("script", ["tunnel.py", "tunnel_raw.py"])
def test_tunnel_carries_iperf3(script):
    report = tunnel_iperf3(ROOT, script, 3)
    assert "error" not in report, report.get("error")
    assert report["end"]["sum_received"]["bytes"] > 0


def test_the_ipv6_mtu_floor_on_a_kernel_adapter(ns):
    """The kernel refused an IPv6 address under MTU 1280 with a generic error, and a link-local
    address was not counted when the MTU was lowered."""
    with wintun.TunDevice("wtmtu", netns=ns.name) as tun:
        tun.mtu = 1000
        with pytest.raises(ValueError, match="1280"):
            tun.add_address("fd00:6::1/64")
        tun.mtu = 1280
        tun.add_address("fe80::6/64")
        assert ipaddress.ip_interface("fe80::6/64") in tun.addresses  # link-local listed too
        with pytest.raises(ValueError):
            tun.mtu = 1000
        assert tun.mtu == 1280
