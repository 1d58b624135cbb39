"""python -m wintun info / demo."""
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "wintun", *args], capture_output=True, text=True, timeout=120)


def test_info():
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


def test_bad_arguments():
    assert run().returncode == 2
    assert run("demo", "--count", "0").returncode == 2
    assert run("demo", "--backend", "fast").returncode == 2
