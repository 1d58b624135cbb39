"""python -m wintun info / demo."""
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
