"""Rules of the source tree that no compiler checks."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBRARY = ("csrc", "driver", "helper")


def sources():
    for top in LIBRARY:
        for directory, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".c", ".h")):
                    path = os.path.join(directory, name)
                    with open(path, encoding="utf-8") as f:
                        yield os.path.relpath(path, ROOT), f.read()


def test_atomics_come_from_one_header():
    offenders = [path for path, text in sources() if "__atomic" in text or "__ATOMIC" in text]
    assert offenders == ["csrc/common/atomic.h"], offenders


def test_every_section_citation_points_into_the_repository():
    """A "§" in the code names a section of docs/protocol.md, which exists."""
    with open(os.path.join(ROOT, "docs", "protocol.md"), encoding="utf-8") as f:
        sections = set(re.findall(r"^#+ (\d+(?:\.\d+)?)\b", f.read(), re.M))
    wrong = []
    for path, text in sources():
        for line in text.splitlines():
            if "§" not in line:
                continue
            if "docs/protocol.md" not in line:  # the line says what it cites
                wrong.append(f"{path}: {line.strip()}")
            for number in re.findall(r"§(\d+(?:\.\d+)?)", line):
                if number not in sections:
                    wrong.append(f"{path}: §{number} is not a section of docs/protocol.md")
    assert not wrong, "\n".join(wrong)


# The layers, lowest first (README "Layout"): a file may include headers of its own layer or of
# the layers below; the ports (driver/emulated, driver/kernel) the driver's own headers but not each
# other's; core and win32 are siblings, neither includes the other; python sits on both.
LAYERS = {
    "csrc/include/wintun": 0,
    "csrc/common": 1,
    "driver": 2,
    "driver/emulated": 2,
    "driver/kernel": 2,
    "csrc/core": 3,
    "csrc/win32": 3,
    "csrc/python": 4,
}


def layered_headers():
    where = {}
    for folder in LAYERS:
        for name in os.listdir(os.path.join(ROOT, folder)):
            if name.endswith(".h"):
                assert name not in where, f"{name} is in {where[name]} and {folder}"
                where[name] = folder
    return where


def include_allowed(source: str, header: str) -> bool:
    if source == header:
        return True
    if LAYERS[header] != LAYERS[source]:
        return LAYERS[header] < LAYERS[source]
    return header == "driver"  # a port may use the driver's own headers; nothing else sideways


def test_includes_point_down_the_layers():
    where = layered_headers()
    wrong = []
    for path, text in sources():
        folder = os.path.dirname(path)
        if folder not in LAYERS:
            continue  # helper/: a program on top of the library
        for name in re.findall(r'^#include "([^"]+)"', text, re.M):
            header = where.get(name)
            if header is None:
                wrong.append(f"{path}: includes {name}, which is no layer's header")
            elif not include_allowed(folder, header):
                wrong.append(f"{path} ({folder}) includes {name} ({header})")
    assert not wrong, "\n".join(wrong)


def test_the_layer_rule_can_fail():
    """The rule above refuses what it must: a lower layer including a higher one, siblings."""
    assert not include_allowed("driver", "csrc/core")
    assert not include_allowed("csrc/common", "driver")
    assert not include_allowed("csrc/core", "csrc/win32") and not include_allowed("csrc/win32", "csrc/core")
    assert not include_allowed("driver/emulated", "driver/kernel")
    assert include_allowed("driver/kernel", "driver") and include_allowed("csrc/python", "csrc/core")


def test_no_include_climbs_out_of_its_folder():
    """Headers are found through the build's include paths (Makefile INCLUDES, setup.py), never "../"."""
    wrong = []
    for top in ("csrc", "driver", "helper", "tests", "bench", "examples"):
        for directory, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".c", ".h")):
                    path = os.path.join(directory, name)
                    with open(path, encoding="utf-8") as f:
                        if re.search(r'^#include "\.\./', f.read(), re.M):
                            wrong.append(os.path.relpath(path, ROOT))
    assert not wrong, wrong


def test_the_folders_are_the_build_lists():
    """setup.py and the Makefile take their sources from the layer folders: every .c there is built."""
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        setup = f.read()
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        makefile = f.read()
    for folder in LAYERS:
        if any(name.endswith(".c") for name in os.listdir(os.path.join(ROOT, folder))):
            assert f'"{folder}"' in setup, f"setup.py does not build {folder}"
            assert f"{folder}/*.c" in makefile, f"the Makefile does not build {folder}"
