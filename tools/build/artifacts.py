"""Checks what ``sam build`` produced against the Lambda runtime it is for.

Every compiled file must come from a wheel whose tags that runtime and architecture accept and be
built for its Python; a function and its layers must fit Lambda's 250 MB unzipped; every handler
must import with nothing on ``sys.path`` but its artifact, its layer and what the runtime provides.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from packaging import tags

PYTHON = (3, 12)  # the template's python3.12: Amazon Linux 2023
GLIBC_MINOR = 34
ARCH = "x86_64"
UNZIPPED_LIMIT = 250 * 1024 * 1024
_INTERPRETER = f"cp{PYTHON[0]}{PYTHON[1]}"
_EXTENSION_ABI = re.compile(r"\.cpython-(?P<version>\d+)-")


def runtime_tags() -> set[tags.Tag]:
    """The wheel tags pip would accept running on the runtime (manylinux up to its glibc)."""
    platforms = [f"manylinux_2_{minor}_{ARCH}" for minor in range(GLIBC_MINOR, 4, -1)]
    platforms += [f"manylinux2014_{ARCH}", f"manylinux2010_{ARCH}", f"manylinux1_{ARCH}"]
    return {
        *tags.cpython_tags(PYTHON, abis=[_INTERPRETER], platforms=platforms),
        *tags.compatible_tags(PYTHON, _INTERPRETER, platforms),
    }


def wheel_problems(folder: Path) -> list[str]:
    """Compiled files that did not come from a wheel the runtime accepts, or not for its Python."""
    accepted = runtime_tags()
    owners = dict(_files_by_wheel(folder))
    problems = []
    for path in sorted(folder.rglob("*.so*")):
        name = path.relative_to(folder).as_posix()
        abi = _EXTENSION_ABI.search(path.name)
        if abi and abi["version"] != f"{PYTHON[0]}{PYTHON[1]}":
            problems.append(f"{name}: built for CPython {abi['version']}, not {_INTERPRETER}")
        wheel = owners.get(name)
        if wheel is None:
            problems.append(f"{name}: not installed from a wheel")
            continue
        wheel_tags = _tags(wheel)
        if not wheel_tags & accepted:
            shown = ", ".join(sorted(map(str, wheel_tags)))
            problems.append(
                f"{name}: from {wheel.parent.name} tagged {shown}, which python3.12 on {ARCH} won't run"
            )
    return problems


def _files_by_wheel(folder: Path) -> Iterator[tuple[str, Path]]:
    """(file, its distribution's WHEEL file) for every file a RECORD lists."""
    for record in folder.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            if line:
                yield line.split(",", 1)[0], record.parent / "WHEEL"


def _tags(wheel: Path) -> set[tags.Tag]:
    found: set[tags.Tag] = set()
    for line in wheel.read_text().splitlines():
        if line.startswith("Tag:"):
            found |= tags.parse_tag(line.split(":", 1)[1].strip())
    return found


def unzipped_size(*folders: Path) -> int:
    return sum(path.stat().st_size for folder in folders for path in folder.rglob("*") if path.is_file())


_IMPORT = """
import importlib.util, sys
sys.path[:0] = sys.argv[2:]
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


def import_problem(
    python: str, handler_file: Path, path: list[Path], environment: dict[str, str]
) -> str | None:
    """Imports a handler as Lambda does, in an isolated interpreter (no site-packages, no user site)."""
    command = [python, "-I", "-S", "-c", _IMPORT, str(handler_file), *map(str, path)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False, timeout=120)
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[-1]
