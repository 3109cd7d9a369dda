"""Prints the path of a Python of the Lambda runtime's version (3.12), or exits 1 saying where it looked.

The build compiles source-only pins with it, and the artifact test imports every handler with it.
Looked for as ``$RUNTIME_PYTHON``, ``python3.12`` on the PATH, then pyenv's installed versions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VERSION = "3.12"


def find() -> str | None:
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        os.environ.get("RUNTIME_PYTHON"),
        shutil.which(f"python{VERSION}"),
        *map(str, sorted(pyenv.glob(f"{VERSION}.*/bin/python{VERSION}"), reverse=True)),
    ]
    return next((python for python in candidates if python and _runs(python)), None)


def _runs(python: str) -> bool:
    """A pyenv shim is on the PATH even where it cannot run the version: try it."""
    check = [python, "-c", f"import sys; sys.exit(sys.version_info[:2] != ({VERSION.replace('.', ',')}))"]
    return subprocess.run(check, capture_output=True, check=False).returncode == 0


if __name__ == "__main__":
    python = find()
    if python is None:
        sys.exit(f"no Python {VERSION} found ($RUNTIME_PYTHON, python{VERSION} on the PATH, pyenv versions)")
    print(python)
