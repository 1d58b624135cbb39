"""pip install --no-build-isolation . works offline with Debian's packages, builds the Stable ABI
wheel (cp311-abi3), and registers the pytest plugin and the console script. Slow (a full build in
a fresh venv)."""
import os
import shutil
import subprocess
import sys
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="needs a C compiler")
def test_pip_install_into_a_venv(tmp_path):
    env_dir = tmp_path / "venv"
    try:
        venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    except (subprocess.CalledProcessError, OSError) as error:  # pragma: no cover
        pytest.fail(f"cannot create a venv (python3-venv missing?): {error}")
    python = str(env_dir / "bin" / "python")
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build", "*.so", "__pycache__", ".git", "*.egg-info"))
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [python, "-m", "pip", "install", "--no-build-isolation", "--no-deps", str(src)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
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
