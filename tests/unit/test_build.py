"""What ``sam build`` makes (``pipenv run build``) runs on the template's runtime and fits in Lambda.

The checks on the built artifact need the build: CI runs it first and sets APERTURE_REQUIRE_BUILD,
which turns a missing build into a failure; elsewhere those tests skip and say how to build.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aperture_local.template import FunctionSpec, Template
from tests.conftest import ROOT
from tools.build import artifacts, runtime_python

pytestmark = pytest.mark.slow(seconds=60)  # each bundle imported on the runtime

BUILD = ROOT / ".aws-sam/build"
LAYER = BUILD / "DomainLayer"
LAMBDA_RUNTIME = ROOT / ".aws-sam/lambda-runtime"
ZIP_FUNCTIONS = [spec for spec in Template(ROOT / "template.yaml").functions() if not spec.image]


def _wheel(folder: Path, name: str, tag: str, files: list[str]) -> None:
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
    (info / "RECORD").write_text("".join(f"{file},sha256=x,1\n" for file in files))
    for file in files:
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(b"\x7fELF")


def test_a_wheel_the_runtime_cannot_run_is_named(tmp_path: Path) -> None:
    # Given a layer with one good wheel and three that python3.12 on Amazon Linux 2023 x86_64 can't run
    _wheel(tmp_path, "good", "cp312-cp312-manylinux_2_28_x86_64", ["good/_c.cpython-312-x86_64-linux-gnu.so"])
    _wheel(
        tmp_path,
        "newglibc",
        "cp312-cp312-manylinux_2_35_x86_64",
        ["newglibc/_c.cpython-312-x86_64-linux-gnu.so"],
    )
    _wheel(tmp_path, "arm", "cp312-cp312-manylinux_2_28_aarch64", ["arm/_c.cpython-312-aarch64-linux-gnu.so"])
    _wheel(tmp_path, "old", "cp311-cp311-manylinux_2_28_x86_64", ["old/_c.cpython-311-x86_64-linux-gnu.so"])
    # and a compiled file that no wheel installed
    (tmp_path / "stray.cpython-312-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")

    # When the layer is checked
    problems = artifacts.wheel_problems(tmp_path)

    # Then each of the four is named, and the good wheel is not
    assert problems == [
        "arm/_c.cpython-312-aarch64-linux-gnu.so: from arm-1.0.dist-info tagged "
        "cp312-cp312-manylinux_2_28_aarch64, which python3.12 on x86_64 won't run",
        "newglibc/_c.cpython-312-x86_64-linux-gnu.so: from newglibc-1.0.dist-info tagged "
        "cp312-cp312-manylinux_2_35_x86_64, which python3.12 on x86_64 won't run",
        "old/_c.cpython-311-x86_64-linux-gnu.so: built for CPython 311, not cp312",
        "old/_c.cpython-311-x86_64-linux-gnu.so: from old-1.0.dist-info tagged "
        "cp311-cp311-manylinux_2_28_x86_64, which python3.12 on x86_64 won't run",
        "stray.cpython-312-x86_64-linux-gnu.so: not installed from a wheel",
    ]


def test_the_runtime_accepts_manylinux2014_abi3_and_pure_wheels() -> None:
    accepted = {str(tag) for tag in artifacts.runtime_tags()}
    assert {"cp312-cp312-manylinux2014_x86_64", "cp39-abi3-manylinux_2_34_x86_64", "py3-none-any"} <= accepted
    assert "cp312-cp312-manylinux_2_35_x86_64" not in accepted
    assert "cp312-cp312-linux_x86_64" not in accepted


@pytest.fixture(scope="module")
def built() -> Path:
    if not (BUILD / "template.yaml").exists():
        if os.environ.get("APERTURE_REQUIRE_BUILD"):
            pytest.fail(
                "APERTURE_REQUIRE_BUILD is set but .aws-sam/build is missing: pipenv run build failed?"
            )
        pytest.skip("no sam build here: run `pipenv run build` first")
    return BUILD


def test_every_compiled_file_in_the_layer_runs_on_the_runtime(built: Path) -> None:
    assert artifacts.wheel_problems(LAYER / "python") == []


@pytest.mark.parametrize("spec", ZIP_FUNCTIONS, ids=lambda spec: spec.short_name)
def test_each_function_with_its_layer_fits_lambda_and_imports_on_the_runtime(
    built: Path, spec: FunctionSpec
) -> None:
    # Given the function's artifact as sam built it
    artifact = built / spec.logical_id
    assert artifacts.wheel_problems(artifact) == []
    assert artifacts.unzipped_size(artifact, LAYER) < artifacts.UNZIPPED_LIMIT

    # When its handler is imported by the runtime's Python with only the artifact, the layer and
    # the runtime's own boto3 on sys.path
    python = runtime_python.find()
    if python is None:
        pytest.skip("no Python 3.12 here to import with (tools/build/runtime_python.py)")
    module = spec.handler.split(".")[0]
    problem = artifacts.import_problem(
        python,
        artifact / f"{module}.py",
        [artifact, LAYER / "python", LAMBDA_RUNTIME],
        {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"},
    )

    # Then it imports
    assert problem is None
