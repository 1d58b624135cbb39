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


def wait_ready(*processes: subprocess.Popen) -> list:
    """Reads each process's output (text) up to its line starting with "ready"; returns those lines."""
    lines = []
    for process in processes:
        for line in process.stdout:
            if line.startswith("ready"):
                lines.append(line.strip())
                break
        else:
            raise RuntimeError(f"{process.args} did not start")
    return lines


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process pid has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tunnel_iperf3(root: str, script: str, seconds: float) -> dict:
    """Runs examples/<script> between two new namespaces joined by a veth, carries an iperf3 TCP
    stream through it (fd00:77::1 -> fd00:77::2) and returns iperf3's JSON report, with the CPU
    seconds both ends of the tunnel used meanwhile as "tunnel_cpu_seconds"."""
    import json
    import sys
    import time

    with Netns("a") as a, Netns("b") as b:
        veth(a, b, "10.99.0.1/24", "10.99.0.2/24")
        path = os.path.join(root, "examples", script)
        env = dict(os.environ, PYTHONPATH=root)
        ends = [
            b.popen(sys.executable, path, "--listen", "10.99.0.2:5555", "--addr", "fd00:77::2/64",
                    stdout=subprocess.PIPE, text=True, env=env),
            a.popen(sys.executable, path, "--connect", "10.99.0.2:5555", "--addr", "fd00:77::1/64",
                    stdout=subprocess.PIPE, text=True, env=env),
        ]
        try:
            wait_ready(*ends)
            server = b.popen("iperf3", "-s", "-1", "-B", "fd00:77::2", stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            cpu = sum(cpu_seconds(end.pid) for end in ends)
            client = a.run("iperf3", "-c", "fd00:77::2", "-t", str(seconds), "-J", check=False,
                           timeout=seconds + 60)
            server.wait(10)
            report = json.loads(client.stdout)
            report["tunnel_cpu_seconds"] = sum(cpu_seconds(end.pid) for end in ends) - cpu
            return report
        finally:
            for end in ends:
                end.terminate()
                end.wait(10)
