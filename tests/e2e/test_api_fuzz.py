"""Schemathesis generates requests from the API's OpenAPI document: no input yields a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from aperture_local.runtime import _import
from tests.conftest import ROOT
from tests.e2e.conftest import ApiStack

pytestmark = pytest.mark.slow(seconds=50)

DOCUMENT = _import(ROOT / "functions/api/app.py", "FuzzedApi").api.openapi()
OPERATIONS = []
for _result in schemathesis.openapi.from_dict(DOCUMENT).get_all_operations():
    assert isinstance(_result, Ok), _result  # the document itself is valid OpenAPI
    OPERATIONS.append(_result.ok())


def test_the_served_document_is_the_one_fuzzed(api: ApiStack) -> None:
    assert api.client.call("GET", "/openapi.json").body == DOCUMENT


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_generated_request_gets_a_server_error(operation: Any, api: ApiStack) -> None:
    token = api.token("u_fuzz")

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        response = case.call(base_url=api.client.base_url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
        # and every answer is one the document lists for the route, in the shape it gives
        case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])

    fuzz()


def test_linked_sequences_of_calls_never_get_a_server_error(api: ApiStack) -> None:
    # Given a caller with a profile, and the document's links (create, then read, like, delete...)
    token = api.signup("u_stateful")
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    assert {"POST /posts", "POST /users", "POST /uploads", "POST /stories"} <= {
        f"{op.method.upper()} {op.path}" for op in OPERATIONS if any(r.get("links") for r in _responses(op))
    }

    class LinkedCalls(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": api.client.base_url, "headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response: Any, case: Any, *_: Any, **__: Any) -> None:
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"

    # When hypothesis runs sequences of linked calls, then none gets a 5xx
    LinkedCalls.run(
        settings=settings(
            max_examples=15, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck)
        )
    )


def _responses(operation: Any) -> list[dict[str, Any]]:
    return list(operation.definition.raw.get("responses", {}).values())


def test_every_operation_documents_the_fields_of_its_success_body() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            [success] = [status for status in operation["responses"] if status.startswith("2")]
            schema = operation["responses"][success]["content"]["application/json"]["schema"]
            model = schemas[schema["$ref"].removeprefix("#/components/schemas/")]
            assert model["properties"], f"{method.upper()} {path}"
            assert model["additionalProperties"] is False, f"{method.upper()} {path}"


def test_each_operation_lists_the_errors_its_shape_and_domain_can_give() -> None:
    def statuses(method: str, path: str) -> list[str]:
        return sorted(DOCUMENT["paths"][path][method]["responses"])

    assert statuses("get", "/health") == ["200", "503"]
    assert statuses("get", "/explore") == ["200", "400", "401", "503"]
    assert statuses("put", "/posts/{post_id}/like") == ["200", "401", "404", "409", "503"]
    assert statuses("post", "/posts") == [
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "422",
        "503",
    ]
