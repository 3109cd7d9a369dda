"""What ``sam build`` installs is what the tests ran against."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

LOCKED = json.loads((ROOT / "Pipfile.lock").read_text())["default"]
REQUIREMENTS = sorted([ROOT / "layers/aperture/requirements.txt", *ROOT.glob("functions/*/requirements.txt")])
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[^]]+\])?==(?P<version>\S+)$")


@pytest.mark.parametrize("path", REQUIREMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_bundled_requirement_is_pinned_to_the_locked_version(path: Path) -> None:
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pin = _PIN.match(line.strip())
        assert pin, f"{line!r} is not pinned with =="
        locked = LOCKED[pin["name"].lower()]["version"]
        assert locked == f"=={pin['version']}", f"{pin['name']} is {locked} in Pipfile.lock"
