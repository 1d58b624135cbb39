"""pip install --no-build-isolation . works offline with Debian's packages, builds the Stable ABI
wheel (cp311-abi3), and registers the pytest plugin and the console script. Slow (a full build in
a fresh venv)."""
import os
import pathlib
import shutil
import subprocess
import sys
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT_PATH = pathlib.Path(ROOT)


def _tree_copy(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build", "*.so", "__pycache__", ".git", "*.egg-info",
                                                             "dist"))
    return src


def _offline_env():
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    return env


def _install_into_venv(tmp_path, what, env):
    """pip install --no-build-isolation what into a fresh venv; its python."""
    env_dir = tmp_path / "venv"
    try:
        venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    except (subprocess.CalledProcessError, OSError) as error:  # pragma: no cover
        pytest.fail(f"cannot create a venv (python3-venv missing?): {error}")
    python = str(env_dir / "bin" / "python")
    result = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", "--no-deps", str(what)],
                            capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return python, env_dir


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="needs a C compiler")
def test_pip_install_into_a_venv(tmp_path):
    env = _offline_env()
    python, env_dir = _install_into_venv(tmp_path, _tree_copy(tmp_path), env)
    check = (
        "import wintun, importlib.metadata as m;"
        "eps = m.entry_points(group='pytest11');"
        "assert any(e.value == 'wintun.pytest_plugin' for e in eps), eps;"
        "t = wintun.TunDevice('pkg', backend='emulated'); t.up(); t.close();"
        "assert wintun._wintun.__file__.endswith('.abi3.so'), wintun._wintun.__file__;"
        "wheel = m.distribution('wintun').read_text('WHEEL');"
        "assert 'Tag: cp311-abi3-' in wheel, wheel;"
        "print(wintun.__version__, wintun.__file__)"
    )
    result = subprocess.run([python, "-c", check], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(env_dir) in result.stdout
    assert os.path.exists(env_dir / "bin" / "wintun")


@pytest.mark.skipif(subprocess.run([sys.executable, "-c", "import build"], capture_output=True).returncode != 0,
                    reason="needs python3-build (make setup installs it)")
def test_sdist_and_wheel_build_offline_and_the_sdist_installs(tmp_path):
    """python3 -m build makes the sdist and a wheel from it, offline; the sdist carries every
    source and header; installed from the sdist, as pip does for a user, the package carries a
    packet; the extension exports PyInit__wintun only and ships no benchmark or test hook."""
    import tarfile
    import zipfile

    src = _tree_copy(tmp_path)
    env = _offline_env()
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
                           capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (sdist,) = dist.glob("wintun-*.tar.gz")
    (wheel,) = dist.glob("wintun-*-cp311-abi3-*.whl")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    tracked = subprocess.run(["git", "ls-files", "csrc", "driver", "helper"], capture_output=True, text=True,
                             cwd=ROOT).stdout.split()
    expected = set(tracked) or {str(p.relative_to(ROOT)) for d in ("csrc", "driver") for p in (ROOT_PATH / d).rglob("*")
                                if p.is_file()}
    assert expected <= names, sorted(expected - names)
    assert {"csrc/include/wintun/wintun.h", "csrc/common/platform_win32.c", "driver/kernel/tun_open.h", "setup.py", "pyproject.toml"} <= names
    with zipfile.ZipFile(wheel) as whl:
        so = [n for n in whl.namelist() if n.endswith(".so")]
        assert so == ["wintun/_wintun.abi3.so"], so
        whl.extract(so[0], tmp_path / "wheel")
    if shutil.which("nm"):
        symbols = subprocess.run(["nm", "-D", "--defined-only", str(tmp_path / "wheel" / so[0])],
                                 capture_output=True, text=True).stdout.split()
        exported = [s for s in symbols if not all(c in "0123456789abcdef" for c in s) and len(s) > 1]
        assert exported == ["PyInit__wintun"], exported

    python, env_dir = _install_into_venv(tmp_path, sdist, env)
    carry = (
        "import wintun\n"
        "a = wintun.TunDevice('sda', backend='emulated'); b = wintun.TunDevice('sdb', backend='emulated')\n"
        "a.os_side.connect(b); a.up(); b.up()\n"
        "packet = bytes.fromhex('6000000000083a40') + bytes.fromhex('fd00' + '00' * 13 + '01') "
        "+ bytes.fromhex('fd00' + '00' * 13 + '02') + bytes(8)\n"
        "a.write(packet)\n"
        "assert b.wait_read_event(5) and b.read() == packet\n"
        "assert not [n for n in dir(wintun._wintun) if n.startswith('_bench') or n == '_setns']\n"
        "print('carried', wintun.__file__)\n"
    )
    result = subprocess.run([python, "-c", carry], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 0 and "carried" in result.stdout, result.stderr
    assert str(env_dir) in result.stdout
