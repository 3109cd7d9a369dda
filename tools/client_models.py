"""``pipenv run client-models``: regenerate the Python client's models from the API's document.

The client's models are generated from ``/openapi.json``, never kept by hand, so they cannot drift
from what the handlers return: a unit test fails when the checked-in file differs from a fresh
generation. They ignore fields they do not know, so an older client keeps working when the API
adds one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "clients/python/aperture_client/models.py"
HEADER = "# Generated from the API's OpenAPI document by `pipenv run client-models`: do not edit."


def document() -> dict[str, Any]:
    from aperture_local.runtime import _import

    return dict(_import(ROOT / "functions/api/app.py", "DocumentedApi").api.openapi())


def generate(openapi: dict[str, Any]) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        source, output = Path(scratch) / "openapi.json", Path(scratch) / "models.py"
        source.write_text(json.dumps(_for_the_client(openapi)))
        subprocess.run(
            [
                sys.executable, "-m", "datamodel_code_generator",
                "--input", str(source), "--input-file-type", "openapi", "--output", str(output),
                "--output-model-type", "pydantic_v2.BaseModel", "--target-python-version", "3.11",
                "--use-annotated", "--use-standard-collections", "--use-union-operator",
                "--use-schema-description", "--use-field-description", "--enum-field-as-literal", "all",
                "--collapse-root-models",
                "--disable-timestamp", "--custom-file-header", HEADER, "--no-formatters",
            ],
            check=True,
        )  # fmt: skip
        return _formatted(output.read_text())


def _formatted(code: str) -> str:
    """Formatted as the project formats its own code (ruff, with pyproject.toml's settings)."""
    for command in (["check", "--fix-only", "--quiet"], ["format"]):
        code = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(MODELS), "-"],
            input=code,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return code


def _for_the_client(node: Any) -> Any:
    """The document less what the client must not inherit: the server's refusal of unknown fields
    (the client ignores them) and the titles pydantic gives every field after its name."""
    if isinstance(node, dict):
        node = _nullable_inline(node)
        return {
            key: _for_the_client(value)
            for key, value in node.items()
            if not (key == "additionalProperties" and value is False)
            and not (key == "title" and isinstance(value, str) and "properties" not in node)
        }
    if isinstance(node, list):
        return [_for_the_client(item) for item in node]
    return node


def _nullable_inline(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: string, ...constraints}, {type: null}]`` as one schema of type
    ``[string, null]``, which generates ``str | None`` with its constraints, not a root model."""
    options = node.get("anyOf")
    if not (isinstance(options, list) and len(options) == 2 and {"type": "null"} in options):
        return node
    (kept,) = [option for option in options if option != {"type": "null"}]
    if "type" not in kept or not isinstance(kept["type"], str) or len(kept) == 1:
        return node
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    return {**rest, **kept, "type": [kept["type"], "null"]}


def main() -> int:
    MODELS.write_text(generate(document()))
    print(f"wrote {MODELS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
