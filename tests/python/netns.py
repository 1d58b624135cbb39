"""Network namespaces for the kernel tests: each test makes its own and removes it."""
import itertools
import os
import subprocess

_serial = itertools.count()


def run(*args, check=True, timeout=30, **kwargs):
    return subprocess.run(args, check=check, timeout=timeout, capture_output=True, text=True, **kwargs)


class Netns:
    def __init__(self, tag: str = "t"):
        self.name = f"wt{tag}{os.getpid() % 100000}x{next(_serial)}"

    def __enter__(self) -> "Netns":
        run("ip", "netns", "add", self.name)
        self.run("ip", "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc) -> None:
        run("ip", "netns", "pids", self.name, check=False)
        run("ip", "netns", "del", self.name, check=False)

    def command(self, *args):
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, *args, check=True, timeout=30, **kwargs):
        return run(*self.command(*args), check=check, timeout=timeout, **kwargs)

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), **kwargs)


def veth(a: Netns, b: Netns, addr_a: str, addr_b: str) -> None:
    """A veth pair between two namespaces, with an address on each end."""
    end_a, end_b = f"v{a.name[-6:]}", f"v{b.name[-6:]}"
    run("ip", "link", "add", end_a, "netns", a.name, "type", "veth", "peer", "name", end_b, "netns", b.name)
    a.run("ip", "addr", "add", addr_a, "dev", end_a)
    b.run("ip", "addr", "add", addr_b, "dev", end_b)
    a.run("ip", "link", "set", end_a, "up")
    b.run("ip", "link", "set", end_b, "up")
