"""The domain layer's rooms: each says in its ``__init__`` what it may import, and keeps to it."""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "layers/aperture/aperture"
ROOMS = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))


def _declared(room: str) -> set[str]:
    """The rooms the docstring's ``Imports:`` paragraph names, each first in a clause (``; ``)."""
    docstring = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text())) or ""
    paragraph = docstring.split("Imports:", 1)[1].split("\n\n", 1)[0]
    clauses = [re.match(r"\s*([a-z]+)", clause) for clause in paragraph.split(";")]
    return {match[1] for match in clauses if match and match[1] in ROOMS}


def _imported(room: str) -> set[str]:
    found = set()
    for path in (PACKAGE / room).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aperture."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("aperture.")}
    return found - {room}


def test_the_layer_is_rooms_only() -> None:
    assert ROOMS == ["core", "explore", "feed", "media", "moderation", "social", "stories"]
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_plumbing_imports_no_room() -> None:
    assert _declared("core") == set()
    assert _imported("core") == set()


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_imports_only_what_its_docstring_declares(room: str) -> None:
    assert _imported(room) <= _declared(room) | {"core"}
