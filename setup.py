"""Build of wintun's C extension: the session API, the driver half and the bindings in one module.

Metadata lives in pyproject.toml. Works offline with Debian's python3-setuptools:
    python3 setup.py build_ext --inplace
    pip install --no-build-isolation .
"""
import sys

from setuptools import Extension, setup

CORE = [
    "csrc/errno_map.c",
    "csrc/spinlock.c",
    "csrc/logger.c",
    "csrc/adapter.c",
    "csrc/config.c",
    "csrc/session.c",
    "driver/register.c",
    "driver/send_ring.c",
    "driver/receive_ring.c",
    "driver/emulated.c",
    "driver/icmp_echo.c",
]
BINDINGS = ["csrc/py_module.c", "csrc/py_errors.c", "csrc/py_logger.c", "csrc/py_tundevice.c"]

if sys.platform == "win32":
    platform_sources = ["csrc/platform_win32.c"]
    libraries = ["bcrypt", "ws2_32", "iphlpapi"]
    compile_args = [] if "MSC" in sys.version else ["-std=c11"]
    macros = [("WIN32_LEAN_AND_MEAN", None)]
else:
    platform_sources = [
        "csrc/platform_posix.c",
        "csrc/event_posix.c",
        "driver/netlink.c",
        "driver/tun_open.c",
        "driver/tun_linux.c",
    ]
    libraries = ["pthread"]
    compile_args = ["-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    macros = [("_GNU_SOURCE", None)]

setup(
    ext_modules=[
        Extension(
            "wintun._wintun",
            sources=platform_sources + CORE + BINDINGS,
            include_dirs=["csrc", "driver"],
            define_macros=macros,
            extra_compile_args=compile_args,
            libraries=libraries,
        )
    ],
)
