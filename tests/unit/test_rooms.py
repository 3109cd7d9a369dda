"""The domain layer's rooms: each says in its ``__init__`` what it may import, and keeps to it."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute

from aperture.core.tables import TableModel
from aperture_local.template import Template
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
    assert ROOMS == ["accounts", "core", "explore", "feed", "media", "moderation", "social", "stories"]
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_plumbing_imports_no_room() -> None:
    assert _declared("core") == set()
    assert _imported("core") == set()


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_imports_only_what_its_docstring_declares(room: str) -> None:
    assert _imported(room) <= _declared(room) | {"core"}


# Where the DynamoDB client may be used directly: the models' base binds it to pynamodb, and
# Powertools idempotency keeps its own persistence layer. Streams arrive as events, never as reads.
DYNAMODB_CLIENT_ALLOWED = {"core/tables.py", "core/idempotency.py"}


def _uses_dynamodb_client(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    named = any(
        isinstance(node, ast.Constant) and node.value in ("dynamodb", "TableName") for node in ast.walk(tree)
    )
    imports_boto = any(
        isinstance(node, ast.Import | ast.ImportFrom)
        and any(name.startswith("boto3") for name in _module_names(node))
        for node in ast.walk(tree)
    )
    return named or (imports_boto and path.name != "aws.py")


def _module_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names]


def test_table_access_goes_through_the_models_only() -> None:
    users = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if _uses_dynamodb_client(path)
    )
    assert users == sorted(DYNAMODB_CLIENT_ALLOWED)


def _table_models() -> list[type[TableModel]]:
    """Every model the rooms' ``tables`` modules define (they subclass TableModel directly)."""
    for path in sorted(PACKAGE.glob("*/tables.py")):
        importlib.import_module(f"aperture.{path.parent.name}.tables")
    return TableModel.__subclasses__()


def _schema(properties: dict[str, Any]) -> dict[str, Any]:
    types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    keys = [(k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in properties["KeySchema"]]
    indexes = {
        index["IndexName"]: [
            (k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in index["KeySchema"]
        ]
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    ttl = properties.get("TimeToLiveSpecification", {}).get("AttributeName")
    return {"keys": keys, "indexes": indexes, "ttl": ttl}


def _model_schema(model: type[TableModel]) -> dict[str, Any]:
    attributes = model.get_attributes()
    keys = [
        (name, "HASH" if a.is_hash_key else "RANGE", a.attr_type)
        for name, a in attributes.items()
        if a.is_hash_key or a.is_range_key
    ]
    indexes = {
        index.Meta.index_name: sorted(
            (
                (name, "HASH" if a.is_hash_key else "RANGE", a.attr_type)
                for name, a in index.Meta.attributes.items()
            ),
            key=lambda key: key[1],
        )
        for index in model._indexes.values()
    }
    ttl = next((name for name, a in attributes.items() if isinstance(a, TTLAttribute)), None)
    return {"keys": sorted(keys, key=lambda key: key[1]), "indexes": indexes, "ttl": ttl}


def test_every_table_the_functions_use_has_models_that_match_its_schema() -> None:
    template = Template(ROOT / "template.yaml")
    tables = template.resource_properties("AWS::DynamoDB::Table")
    variables = {
        name: value["Ref"]
        for spec in template.functions()
        for name, value in spec.environment.items()
        if isinstance(value, dict) and value.get("Ref") in tables
    }
    by_variable: dict[str, list[type[TableModel]]] = {}
    for model in _table_models():
        by_variable.setdefault(model.Meta.table_env, []).append(model)  # type: ignore[attr-defined]
    # Powertools idempotency keeps its own persistence layer.
    assert sorted(by_variable) == sorted(set(variables) - {"IDEMPOTENCY_TABLE"})
    for variable, models in by_variable.items():
        declared = _schema(tables[variables[variable]])
        for model in models:
            found = _model_schema(model)
            assert found["keys"] == declared["keys"], model
            assert found["ttl"] in (declared["ttl"], None), model  # some kinds of item never expire
            # A model that declares an index declares it as the table does; items of other kinds
            # in a shared table are simply not in it.
            assert all(declared["indexes"][name] == keys for name, keys in found["indexes"].items()), model
        assert set().union(*(_model_schema(m)["indexes"] for m in models)) == set(declared["indexes"]), (
            variable
        )
