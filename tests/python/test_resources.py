"""Running out of file descriptors or threads: the error says so (errno EMFILE / EAGAIN, and a
text that names the resource), and the adapters that exist go on working. Each case runs in a
child process whose limits are lowered, so the test process keeps its own."""
import os
import resource
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = r"""
import sys, wintun
devices = []
try:
    for i in range(64):
        tun = wintun.TunDevice(f"wtres{i}", ring_capacity=0x20000, backend=sys.argv[1], netns=sys.argv[2] or None)
        devices.append(tun)
        tun.up()
    print("no failure")
except OSError as e:
    print(f"{type(e).__name__}|{e.errno}|{getattr(e, 'winerror', None)}|{e}")
assert devices and devices[0].read() is None  # what exists still works
devices[0].write(bytes.fromhex("4500001c00000000400100000a0000010a000002") + bytes(8))
for tun in devices:
    tun.close()
"""


def run_child(backend, netns="", **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", CHILD, backend, netns], env=env, capture_output=True, text=True,
                            timeout=60, **kwargs)
    assert result.returncode == 0, result.stderr
    kind, err, winerror, message = result.stdout.strip().split("|", 3)
    return kind, int(err), int(winerror), message


@pytest.mark.parametrize("backend", ["emulated", "kernel"])
def test_out_of_file_descriptors(backend):
    if backend == "kernel" and (os.geteuid() != 0 or not os.path.exists("/dev/net/tun")):
        pytest.skip("a kernel adapter needs root and /dev/net/tun")

    def limit():
        open_now = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 24, open_now + 24))

    kind, err, winerror, message = run_child(backend, "private" if backend == "kernel" else "", preexec_fn=limit)
    assert (kind, err, winerror) == ("WintunError", 24, 4)  # EMFILE, ERROR_TOO_MANY_OPEN_FILES
    assert "Too many open files" in message
    assert "device attached" not in message and "No more data" not in message


@pytest.mark.skipif(os.geteuid() != 0, reason="lowering RLIMIT_NPROC needs another user, and root to become one")
def test_out_of_threads():
    def limit():
        resource.setrlimit(resource.RLIMIT_NPROC, (4, 4))  # counts the threads of user nobody

    try:
        kind, err, winerror, message = run_child("emulated", user=65534, group=65534, preexec_fn=limit)
    except AssertionError as e:
        if "Permission denied" in str(e) or "No module named" in str(e):
            pytest.skip("user nobody cannot read the checkout")
        raise
    assert (kind, err, winerror) == ("WintunError", 11, 164)  # EAGAIN, ERROR_MAX_THRDS_REACHED
    assert "No more threads can be created" in message
    assert "No more data" not in message
