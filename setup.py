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

# The layers are folders (README "Layout"), and the folders are the source lists: what a layer
# holds is built, with what the platform leaves out.
INCLUDE_DIRS = ["csrc/include/wintun", "csrc/common", "driver", "driver/emulated", "driver/kernel", "csrc/core",
                "csrc/win32", "csrc/python"]


def sources(folder: str, leave_out=()) -> list:
    names = sorted(n for n in os.listdir(folder) if n.endswith(".c") and n not in leave_out)
    return [f"{folder}/{n}" for n in names]


PORTABLE = sources("driver") + sources("driver/emulated") + sources("csrc/core") + sources("csrc/python")
WINDOWS = sources("csrc/common", leave_out=("platform_posix.c", "event_posix.c")) + sources("csrc/win32")
LINUX = sources("csrc/common", leave_out=("platform_win32.c",)) + sources("driver/kernel")
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
            sources=platform_sources + PORTABLE,
            include_dirs=INCLUDE_DIRS,
            define_macros=macros + [("Py_LIMITED_API", hex(LIMITED_API)), ("WINTUN_STATIC", None)],
            py_limited_api=True,
            libraries=libraries,
        )
    ],
    cmdclass={"build_ext": BuildExt},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
