"""Build of wintun's C extension: the session API, the driver half and the bindings in one module.

Metadata lives in pyproject.toml. The extension keeps to CPython's Stable ABI of 3.11 (abi3): one
build serves every later CPython. Works offline with Debian's python3-setuptools:
    python3 setup.py build_ext --inplace
    pip install --no-build-isolation .

Windows (the kernel backend is the official wintun.dll, loaded at run time; see the README):
    py -m pip wheel --no-build-isolation .                      # MSVC's toolchain, with clang-cl
    py setup.py build_ext --compiler=mingw32 bdist_wheel        # mingw-w64 gcc
A wintun.dll placed in wintun/ before building is shipped in the wheel (package data "*.dll"),
next to the extension, where the loader looks first.
"""
import os
import shutil
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

LIMITED_API = 0x030B0000  # 3.11: Py_buffer and PyType_GetName joined the Stable ABI there

CORE = [
    "csrc/errno_map.c",
    "csrc/spinlock.c",
    "csrc/handle.c",
    "csrc/logger.c",
    "csrc/adapter.c",
    "csrc/config.c",
    "csrc/session.c",
    "driver/register.c",
    "driver/send_ring.c",
    "driver/receive_ring.c",
    "driver/emulated.c",
    "driver/icmp_echo.c",
    "driver/offload.c",
]
BINDINGS = ["csrc/py_module.c", "csrc/py_errors.c", "csrc/py_logger.c", "csrc/py_tundevice.c",
            "csrc/py_tundevice_config.c", "csrc/py_tundevice_emulated.c"]
WINDOWS = ["csrc/platform_win32.c", "csrc/loader_win32.c", "csrc/iphelper_win32.c", "csrc/native_win32.c"]
LINUX = ["csrc/platform_posix.c", "csrc/event_posix.c", "driver/netlink.c", "driver/tun_open.c", "driver/tun_linux.c",
         "driver/helper_protocol.c", "driver/tun_helper.c"]
GCC_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]


class BuildExt(build_ext):
    """Per-compiler flags. The core uses the GCC/Clang __atomic builtins, which MSVC's cl.exe lacks:
    with MSVC's toolchain the sources are compiled by clang-cl (Visual Studio's "C++ Clang tools"
    component), linked by MSVC's link.exe as usual."""

    def build_extensions(self):
        kind = self.compiler.compiler_type
        for ext in self.extensions:
            if kind == "msvc":
                self._use_clang_cl()
                ext.extra_compile_args += ["/std:c11", "-Wno-unused-parameter"]
            else:
                ext.extra_compile_args += GCC_FLAGS
                if sys.platform != "win32":
                    ext.extra_compile_args.append("-fvisibility=hidden")
        super().build_extensions()

    def _use_clang_cl(self):
        if not self.compiler.initialized:
            self.compiler.initialize()
        clang = os.environ.get("WINTUN_CLANG_CL") or shutil.which("clang-cl", path=os.environ.get("PATH"))
        if not clang:
            vs = os.environ.get("VCINSTALLDIR", "")
            candidate = os.path.join(vs, "Tools", "Llvm", "x64", "bin", "clang-cl.exe")
            clang = candidate if vs and os.path.exists(candidate) else None
        if not clang:
            raise SystemExit(
                "wintun: MSVC's cl.exe cannot compile the core (it uses __atomic builtins). Install Visual "
                "Studio's 'C++ Clang tools for Windows' (clang-cl), or set WINTUN_CLANG_CL to clang-cl.exe, "
                "or build with mingw-w64: py setup.py build_ext --compiler=mingw32 bdist_wheel"
            )
        self.compiler.cc = clang


if sys.platform == "win32":
    platform_sources = WINDOWS
    libraries = ["bcrypt", "ws2_32", "iphlpapi"]
    macros = [("WIN32_LEAN_AND_MEAN", None)]
else:
    platform_sources = LINUX
    libraries = ["pthread"]
    macros = [("_GNU_SOURCE", None)]

setup(
    ext_modules=[
        Extension(
            "wintun._wintun",
            sources=platform_sources + CORE + BINDINGS,
            include_dirs=["csrc", "driver"],
            define_macros=macros + [("Py_LIMITED_API", hex(LIMITED_API)), ("WINTUN_STATIC", None)],
            py_limited_api=True,
            libraries=libraries,
        )
    ],
    cmdclass={"build_ext": BuildExt},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
