"""Every function imports and accepts every sample event in ``events/``, as ``pipenv run invoke`` runs it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools import Logger, Metrics, Tracer

from aperture_local.stack import LocalStack
from tests.conftest import EVENTS

# The API's samples need a signed token and answer with several statuses: tests/e2e/test_api_events.py.
SAMPLES = sorted(path for path in EVENTS.glob("*/*.json") if path.parent.name != "api")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(event_sources=False) as stack:
        yield stack


def test_every_function_in_the_template_has_an_importable_handler(stack: LocalStack) -> None:
    assert set(stack.functions) == {path.name for path in EVENTS.iterdir()}
    for function in stack.functions.values():
        assert callable(function.handler), function.spec.short_name


def test_every_function_logs_traces_and_measures_with_powertools(stack: LocalStack) -> None:
    for function in stack.functions.values():
        module = sys.modules[f"aperture_functions.{function.spec.logical_id}"]
        assert isinstance(module.logger, Logger), function.spec.short_name
        assert isinstance(module.tracer, Tracer), function.spec.short_name
        assert isinstance(module.metrics, Metrics), function.spec.short_name


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_the_handler_accepts_its_sample_event(stack: LocalStack, sample: Path) -> None:
    function = stack.function(sample.parent.name)
    response = function.invoke(json.loads(sample.read_text()))
    if "statusCode" in response:
        assert response["statusCode"] == 200
    elif "batchItemFailures" in response:
        assert response["batchItemFailures"] == []
    else:
        assert response  # schedules answer with what they did
