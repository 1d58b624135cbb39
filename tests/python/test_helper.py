"""wintun-helper: kernel adapters for users without CAP_NET_ADMIN.

Each test runs the helper as root on a temporary socket, in a network namespace of its own, and
acts as user nobody (uid 65534, with or without the helper's group) through setpriv, or speaks
the protocol itself (wintun/_helper.py) to send what no library would."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from netns import Netns
from wintun import _helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPER = os.path.join(ROOT, "build", "wintun-helper")
GROUP = 64123  # a group id no one has: passed as a number, nothing is added to /etc/group
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not shutil.which("setpriv")
    or not os.path.exists(HELPER),
    reason="the helper tests need root, /dev/net/tun, setpriv and build/wintun-helper (make builds it)",
)

ERROR_ACCESS_DENIED, ERROR_ALREADY_EXISTS, ERROR_NOT_FOUND, ERROR_NOT_ENOUGH_QUOTA = 5, 183, 1168, 1816


class Helper:
    def __init__(self, ns, directory, config):
        self.ns, self.dir = ns, directory
        self.socket = os.path.join(directory, "helper.sock")
        self.config = os.path.join(directory, "helper.conf")
        with open(self.config, "w") as f:
            f.write(config)
        os.chmod(self.config, 0o644)
        self.log = open(os.path.join(directory, "log"), "w+")
        self.process = ns.popen(HELPER, "--socket", self.socket, "--group", str(GROUP), "--config", self.config,
                                stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            assert self.process.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.02)
        # The package, where user nobody can read it (the checkout may be private to root).
        self.package = os.path.join(directory, "pkg")
        shutil.copytree(os.path.join(ROOT, "wintun"), os.path.join(self.package, "wintun"),
                        ignore=shutil.ignore_patterns("__pycache__"))

    def text(self) -> str:
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect(self.socket)
        return sock

    def as_user(self, code, member=True, **kwargs) -> subprocess.Popen:
        """python3 -c code as nobody (in the group if member), in the helper's namespace."""
        groups = [f"--groups={GROUP}"] if member else ["--clear-groups"]
        return self.ns.popen("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", *groups, "--inh-caps=-all",
                             "env", f"WINTUN_HELPER_SOCKET={self.socket}", f"PYTHONPATH={self.package}",
                             sys.executable, "-c", code, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, **kwargs)

    def links(self) -> str:
        return self.ns.run("ip", "link").stdout

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)


@pytest.fixture
def helper():
    with Netns("p") as ns, tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)
        h = Helper(ns, directory, "max-adapters 2\nallow 10.77.0.0/16\nallow 10.6.7.0/24  # the example\nallow fd00::/8\n")
        try:
            yield h
        finally:
            h.stop()


def request(sock, kind, adapter=0, payload=b""):
    sock.sendall(_helper.message(kind, adapter, payload))
    return _helper.read_reply(sock)


def address(text):
    ip, prefix = text.split("/")
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    packed = socket.inet_pton(family, ip).ljust(16, b"\0")
    return struct.pack("=HBB", family, int(prefix), 0) + packed


RESPONDER = r"""
import sys, time, wintun
from wintun.packets import echo_reply
tun = wintun.TunDevice("wthelp0", backend="kernel")
tun.mtu = 1400
tun.addr = "10.77.0.1/24"
tun.up()
print("ready", tun.ifname, tun.mtu, tun.addr, tun.offload, tun.kernel_offloads & 7, flush=True)
answered, deadline = 0, time.monotonic() + 15
while answered < 3 and time.monotonic() < deadline:
    if not tun.wait_read_event(0.5):
        continue
    while (packet := tun.read()) is not None:
        reply = echo_reply(packet)
        if reply is not None:
            tun.write(reply)
            answered += 1
print("answered", answered, flush=True)
tun.close()
"""


def test_a_user_without_privileges_gets_a_kernel_adapter(helper):
    child = helper.as_user(RESPONDER)
    try:
        line = child.stdout.readline().split()
        assert line[:4] == ["ready", "wthelp0", "1400", "10.77.0.1/24"], child.stderr.read()
        assert line[4:] == ["transparent", "7"]  # the helper made it with IFF_VNET_HDR, we set TSO
        assert "tcp-segmentation-offload: on" in helper.ns.run("ethtool", "-k", "wthelp0").stdout
        link = helper.ns.run("ip", "-o", "link", "show", "wthelp0").stdout
        assert "mtu 1400" in link and ",UP" in link
        assert "10.77.0.1/24" in helper.ns.run("ip", "-o", "addr", "show", "dev", "wthelp0").stdout
        ping = helper.ns.run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2", check=False)
        assert "3 packets transmitted, 3 received" in ping.stdout, ping.stdout + ping.stderr
        out, err = child.communicate(timeout=20)
        assert "answered 3" in out, err
    finally:
        child.kill()
        child.wait()
    assert "wthelp0" not in helper.links()
    log = helper.text()
    assert f"uid {NOBODY} (nobody)" in log and 'created adapter "wthelp0"' in log and "added address 10.77.0.1/24" in log


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "build", "example")), reason="make builds build/example")
def test_wintuns_example_flow_in_c_through_the_helper(helper):
    """WintunCreateAdapter as user nobody: Wintun's example flow, the kernel answering its pings."""
    for name in ("example", "libwintun.so"):
        shutil.copy2(os.path.join(ROOT, "build", name), helper.dir)
    run = helper.ns.run("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", f"--groups={GROUP}", "--inh-caps=-all",
                        "env", f"WINTUN_HELPER_SOCKET={helper.socket}", os.path.join(helper.dir, "example"),
                        "--count", "3", "--interval", "100", check=False, timeout=30)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and out.count("Received IPv4 ICMP echo reply") == 3, out
    assert 'created adapter "Demo"' in helper.text()


def test_a_user_outside_the_group_is_refused(helper):
    code = ("import wintun\ntry:\n    wintun.TunDevice('wtout0', backend='kernel')\n"
            "except wintun.NotPermittedError as e:\n    print('refused', e)\n")
    out, err = helper.as_user(code, member=False).communicate(timeout=20)
    assert out.startswith("refused") and f'member of group "{GROUP}"' in out, out + err
    assert "wtout0" not in helper.links()
    admitted, text = _helper.probe(helper.socket)
    assert admitted  # root is admitted


def test_requests_act_only_on_the_connections_own_adapters(helper):
    with helper.connect() as a, helper.connect() as b:
        kind, adapter, status, text, _ = request(a, _helper.CREATE, 0, _helper.create_payload("wtconn0"))
        assert (kind, status) == (_helper.CREATE, 0) and adapter == 1, text
        # b names a's adapter by its id: there is no such adapter on b's connection.
        _, _, status, text, _ = request(b, _helper.SET_MTU, adapter, struct.pack("=I", 1300))
        assert status == ERROR_NOT_FOUND and "this connection" in text
        _, _, status, _, _ = request(b, _helper.CLOSE, adapter)
        assert status == ERROR_NOT_FOUND
        assert "wtconn0" in helper.links()
        _, _, status, _, _ = request(a, _helper.SET_MTU, adapter, struct.pack("=I", 1300))
        assert status == 0 and "mtu 1300" in helper.ns.run("ip", "link", "show", "wtconn0").stdout
        _, _, status, _, rest = request(a, _helper.QUERY, adapter)
        mtu, up, ifindex = struct.unpack_from("=III", rest)
        assert status == 0 and mtu == 1300 and up == 1 and rest[12:19] == b"wtconn0"
    deadline = time.monotonic() + 5
    while "wtconn0" in helper.links() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "wtconn0" not in helper.links()  # a's connection closed: its adapter went with it


def test_killing_the_client_removes_its_adapters(helper):
    code = ("import time, wintun\nt = [wintun.TunDevice(n, backend='kernel') for n in ('wtkill0', 'wtkill1')]\n"
            "print('ready', flush=True)\ntime.sleep(60)\n")
    child = helper.as_user(code)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    assert "wtkill0" in helper.links() and "wtkill1" in helper.links()
    child.kill()
    child.wait()
    deadline = time.monotonic() + 5
    while ("wtkill0" in helper.links() or "wtkill1" in helper.links()) and time.monotonic() < deadline:
        time.sleep(0.05)
    links = helper.links()
    assert "wtkill0" not in links and "wtkill1" not in links


MALFORMED = [
    b"\xff" * 64,  # no magic
    struct.pack("=IHHII", _helper.MAGIC, 1, _helper.CREATE, 0, 5000),  # longer than any message
    _helper.message(_helper.CREATE, 0, bytes(16) + b"\x00\x01W"),  # an empty name
    _helper.message(_helper.CREATE, 0, bytes(16) + b"\x05\x01ab"),  # lengths past the payload
    _helper.message(_helper.CREATE, 0, bytes(16) + b"\x03\x01a\x00bW"),  # a NUL in the name
    _helper.message(_helper.CREATE, 7, _helper.create_payload("wtbad0")),  # CREATE naming an adapter
    _helper.message(_helper.SET_MTU, 1, struct.pack("=I", 10)),  # an MTU out of range
    _helper.message(_helper.SET_MTU, 1, b"\x01\x02"),  # a short field
    _helper.message(_helper.QUERY, 1, b"x"),  # bytes after the fields
    _helper.message(_helper.ADD_ADDRESS, 1, struct.pack("=HBB", 2, 40, 0) + bytes(16)),  # /40 for IPv4
    _helper.message(_helper.ADD_ADDRESS, 1, struct.pack("=HBB", 99, 8, 0) + bytes(16)),  # no such family
    _helper.message(99, 1),  # no such request
]


def test_malformed_requests_end_their_connection_only(helper):
    with helper.connect() as keeper:
        _, adapter, status, _, _ = request(keeper, _helper.CREATE, 0, _helper.create_payload("wtkeep0"))
        assert status == 0
        for garbage in MALFORMED:
            with helper.connect() as sock:
                sock.sendall(garbage)
                assert sock.recv(100) == b"", garbage  # closed, with no reply
        with helper.connect() as sock:  # a truncated message, then the client goes
            sock.sendall(_helper.message(_helper.CREATE, 0, _helper.create_payload("wttrunc0"))[:20])
        with helper.connect() as sock:  # another protocol version: told so, then closed
            sock.sendall(_helper.message(_helper.QUERY, 1, version=2))
            _, _, status, text, _ = _helper.read_reply(sock)
            assert status == 50 and "version 1" in text
        # The helper serves on, the keeper's adapter included.
        _, _, status, _, _ = request(keeper, _helper.QUERY, adapter)
        assert status == 0
    assert helper.process.poll() is None
    assert "malformed request" in helper.text()


def test_the_limits_hold(helper):
    with helper.connect() as a, helper.connect() as b:
        assert request(a, _helper.CREATE, 0, _helper.create_payload("wtlim0"))[2] == 0
        assert request(b, _helper.CREATE, 0, _helper.create_payload("wtlim1"))[2] == 0
        _, _, status, text, _ = request(b, _helper.CREATE, 0, _helper.create_payload("wtlim2"))
        assert status == ERROR_NOT_ENOUGH_QUOTA and "limit of 2 adapters" in text  # per user, over connections
        assert "wtlim2" not in helper.links()
        for refused in ("8.8.8.8/24", "10.78.0.1/24", "10.77.0.1/8", "fd00::1/7", "2001:db8::1/64"):
            _, _, status, text, _ = request(a, _helper.ADD_ADDRESS, 1, address(refused))
            assert status == ERROR_ACCESS_DENIED and "outside the ranges" in text, refused
        for allowed in ("10.77.1.1/24", "fd00:1::1/64"):
            assert request(a, _helper.ADD_ADDRESS, 1, address(allowed))[2] == 0, allowed
        assert request(a, _helper.CLOSE, 1)[2] == 0
        _, _, status, text, _ = request(a, _helper.CREATE, 0, _helper.create_payload("lo"))
        assert status == ERROR_ALREADY_EXISTS  # an existing interface is never taken over
        assert request(a, _helper.CREATE, 0, _helper.create_payload("wtlim3"))[2] == 0  # room again


def test_a_user_cannot_fill_every_slot_or_forge_log_lines(helper):
    code = (f"import socket, time\nheld = []\nfor i in range(40):\n    s = socket.socket(socket.AF_UNIX)\n"
            f"    s.connect({helper.socket!r})\n    held.append(s)\nprint('holding', flush=True)\ntime.sleep(30)\n")
    hog = helper.as_user(code, member=False)
    try:
        assert hog.stdout.readline().strip() == "holding", hog.stderr.read()
        time.sleep(0.2)
        with helper.connect() as sock:  # root still gets in
            name = "wt\nforged: line"
            _, _, status, text, _ = request(sock, _helper.CREATE, 0, _helper.create_payload("wtslot0", "T\x1b[2Jx"))
            assert status == 0, text
            assert request(sock, _helper.CREATE, 0, _helper.create_payload(name))[2] != 0  # white space
    finally:
        hog.kill()
        hog.wait()
    log = helper.text()
    assert "it holds 16 already" in log
    assert "\nforged: line" not in log and "\x1b" not in log and 'tunnel type "T?[2Jx"' in log


def test_info_says_whether_the_helper_admits_this_user(helper):
    code = "import sys, wintun.__main__ as m; sys.argv = ['wintun', 'info']; m.main()"
    member, _ = helper.as_user(code).communicate(timeout=60)
    other, _ = helper.as_user(code, member=False).communicate(timeout=60)
    assert "wintun-helper (without CAP_NET_ADMIN): reachable at" in member and "this user is admitted" in member
    assert "refuses this user" in other and f'group "{GROUP}"' in other


def test_a_config_others_can_write_is_refused(helper):
    os.chmod(helper.config, 0o666)
    other = helper.ns.run(HELPER, "--socket", os.path.join(helper.dir, "other.sock"), "--group", str(GROUP),
                          "--config", helper.config, check=False, timeout=10)
    assert other.returncode == 1 and "writable by root only" in other.stderr
