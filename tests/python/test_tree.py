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
    assert offenders == ["csrc/atomic.h"], offenders


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
