"""python -m wintun info / demo / list."""
import errno
import json
import os
import shutil
import subprocess

import pytest
import sys

from netns import Netns


def run(*args, prefix=()):
    return subprocess.run([*prefix, sys.executable, "-m", "wintun", *args], capture_output=True, text=True, timeout=120)


def test_info():
    # info probes the kernel backend by creating an interface: in a namespace of the test's own.
    if os.geteuid() == 0 and shutil.which("ip"):
        with Netns("cli") as ns:
            result = run("info", prefix=ns.command())
        assert "kernel    available" in result.stdout
    else:
        result = run("info")
    assert result.returncode == 0, result.stderr
    assert "wintun " in result.stdout
    assert "driver half: Wintun protocol 0.14" in result.stdout
    assert "emulated  available" in result.stdout
    assert "kernel" in result.stdout


def test_demo_on_the_emulated_backend():
    result = run("demo", "--backend", "emulated", "--count", "2", "--pair-packets", "5000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "received IPv4 ICMP echo reply 10.6.7.7 -> 10.6.7.8" in result.stdout
    assert "received IPv6 ICMPv6 echo reply fd00:6:7::7 -> fd00:6:7::8" in result.stdout
    assert "4 of 4 echo requests answered" in result.stdout
    assert "Pair: 5000 packets" in result.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/net/tun"), reason="the kernel demo needs root here")
def test_demo_on_the_kernel_backend_in_a_private_namespace():
    result = run("demo", "--count", "1", "--pair-packets", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backend kernel" in result.stdout and "private network namespace" in result.stdout
    assert "2 of 2 echo requests answered" in result.stdout


def test_bad_arguments():
    assert run().returncode == 2
    assert run("demo", "--count", "0").returncode == 2
    assert run("demo", "--backend", "fast").returncode == 2


def test_list_adapters_of_this_process_by_tunnel_type():
    import wintun

    with wintun.TunDevice("lst-a1", "Pool A", backend="emulated") as a1, \
            wintun.TunDevice("lst-a2", "pool a", backend="emulated"), \
            wintun.TunDevice("lst-b", "Pool B", backend="emulated") as b:
        b.up()
        b.down()
        mine = {i.name: i for i in wintun.list_adapters(system=False) if i.name.startswith("lst-")}
        assert set(mine) == {"lst-a1", "lst-a2", "lst-b"}
        assert mine["lst-a1"] == wintun.AdapterInfo("lst-a1", "Pool A", "emulated", a1.luid, str(a1.guid), "up", "", True)
        assert mine["lst-b"].state == "down"
        # Wintun 0.9's pools were names compared without case.
        assert [i.name for i in wintun.list_adapters("POOL A", system=False)] == ["lst-a1", "lst-a2"]
        assert wintun.list_adapters("Pool C") == []
        with pytest.raises(TypeError):
            wintun.list_adapters("")
    assert not [i for i in wintun.list_adapters(system=False) if i.name.startswith("lst-")]  # closed: gone


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/net/tun"), reason="kernel adapters need root here")
def test_list_shows_kernel_adapters_of_other_processes():
    import wintun

    with Netns("lst") as ns, \
            wintun.TunDevice("a-long-name-for-listing", "Seeds Pool", netns=f"/var/run/netns/{ns.name}") as tun, \
            wintun.TunDevice("lst-short", "Other", netns=f"/var/run/netns/{ns.name}") as other:
        other.up()
        other.down()
        env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(wintun.__file__))}
        result = subprocess.run(ns.command(sys.executable, "-m", "wintun", "list"), capture_output=True, text=True,
                                timeout=60, env=env)
        assert result.returncode == 0, result.stderr
        lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
        assert set(lines) == {"a-long-name-for-listing", "lst-short"}
        line = lines["a-long-name-for-listing"]
        assert "Seeds Pool" in line and " kernel " in line and str(tun.guid) in line and f"0x{tun.luid:016x}" in line
        assert line.split()[-2:] == ["up", tun.ifname]
        assert lines["lst-short"].split()[-2:] == ["down", "lst-short"]
        result = subprocess.run(ns.command(sys.executable, "-m", "wintun", "list", "--type", "seeds pool", "--json"),
                                capture_output=True, text=True, timeout=60, env=env)
        listed = json.loads(result.stdout)
        assert [(i["name"], i["tunnel_type"], i["guid"], i["luid"], i["this_process"]) for i in listed] == [
            ("a-long-name-for-listing", "Seeds Pool", str(tun.guid), tun.luid, False)]
        # In this process, the same adapters are its own: listed once.
        assert [i.this_process for i in wintun.list_adapters("Seeds Pool")] == [True]


RAW_CLIENT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build", "raw_client")


@pytest.mark.skipif(not os.path.exists(RAW_CLIENT), reason="make builds build/raw_client")
@pytest.mark.parametrize("backend", ["emulated", "kernel"])
def test_raw_client_example(backend):
    """examples/raw_client.c: seed 002's rings, then seed 003's bundles, then a session."""
    prefix = ()
    if backend == "kernel":
        if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
            pytest.skip("a kernel adapter needs root here")
        ns = Netns("raw")
        ns.__enter__()
        prefix = ns.command()
    try:
        result = subprocess.run([*prefix, "env", f"WINTUN_BACKEND={backend}", RAW_CLIENT, "--count", "4"],
                                capture_output=True, text=True, timeout=60)
    finally:
        if prefix:
            ns.__exit__(None, None, None)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "rings registered" in out and "handle closed: Send ring Tail 0xffffffff" in out
    assert [f"ring: echo reply {i}" in out and f"bundle: echo reply {i}" in out for i in range(1, 5)] == [True] * 4
    assert "every echo request answered; a session afterwards: started" in out
    assert subprocess.run([RAW_CLIENT, "--count", "0"], capture_output=True).returncode == 2


def test_list_says_when_the_system_cannot_be_asked(monkeypatch, tmp_path):
    """Without iproute2, list_adapters(system=True) raises OSError with its errno; the CLI says so."""
    import wintun

    monkeypatch.setenv("PATH", str(tmp_path))  # no `ip` here
    with pytest.raises(OSError) as info:
        wintun.list_adapters()
    assert info.value.errno == errno.ENOENT
    assert isinstance(wintun.list_adapters(system=False), list)  # this process's own need no `ip`
    (tmp_path / "ip").write_text("#!/bin/sh\necho 'Cannot open netlink socket' >&2\nexit 1\n")
    (tmp_path / "ip").chmod(0o755)
    with pytest.raises(OSError) as info:
        wintun.list_adapters()
    assert info.value.errno == errno.EIO and "Cannot open netlink socket" in str(info.value)
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": os.path.dirname(os.path.dirname(wintun.__file__))}
    result = subprocess.run([sys.executable, "-m", "wintun", "list"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1 and "Cannot open netlink socket" in result.stderr
