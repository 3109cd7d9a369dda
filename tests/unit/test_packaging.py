"""What ``sam build`` installs is what the tests ran against."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path
from typing import Any

import pytest

from aperture_local.template import Template
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


_IMPORTS = """
import importlib.util, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
spec = importlib.util.spec_from_file_location("handler", sys.argv[3])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path: Path) -> set[str]:
    if not path.exists():
        return set()
    pins = [_PIN.match(line.strip()) for line in path.read_text().splitlines() if line.strip()[:1].isalnum()]
    return {_normal(pin["name"]) for pin in pins if pin}


def _with_dependencies(names: set[str]) -> set[str]:
    """``names`` and everything they install, as pip would."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        todo += [
            _normal(re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0]) for r in requires if "extra ==" not in r
        ]
    return found


# The Lambda runtime provides these; importing them costs nothing from the bundle.
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six", "setuptools"}
# Imported only when present, with a fallback: botocore's certifi, numpy.f2py's charset_normalizer,
# pynamodb's blinker (its signals, which the service does not use).
OPTIONAL = {"certifi", "charset-normalizer", "blinker"}


@pytest.mark.slow(seconds=40)  # a Python process per function, importing its handler
@pytest.mark.parametrize(
    "spec", Template(ROOT / "template.yaml").functions(), ids=lambda spec: spec.short_name
)
def test_every_package_a_handler_imports_is_bundled_with_it(spec: Any) -> None:
    if os.environ.get("APERTURE_REQUIRE_BUILD") and not spec.image:
        pytest.skip("tests/unit/test_build.py imports this function from its built bundle, a stronger check")
    # When the handler is imported as Lambda imports it (the layer and its own folder on the path)
    folders = [str(ROOT / "layers/aperture"), str(spec.code_uri), str(spec.code_uri / "app.py")]
    loaded = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *folders], capture_output=True, text=True, check=True
    )
    distributions = packages_distributions()
    imported = {_normal(d) for name in json.loads(loaded.stdout) for d in distributions.get(name, [])}
    # Then every distribution it loaded is in its bundle: the domain layer's or its own requirements
    bundled = _requirements(ROOT / "layers/aperture/requirements.txt") | _requirements(
        spec.code_uri / "requirements.txt"
    )
    assert imported - _with_dependencies(bundled) - RUNTIME - OPTIONAL == set()
