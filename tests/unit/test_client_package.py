"""The client package matches the API's document and retries the way the document promises."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import aperture_client
from aperture_client import Aperture, ApiError
from tests.conftest import ROOT
from tools.client_models import MODELS, document, generate

DOCUMENT = document()
OPERATIONS = [
    (path, method, operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
]


def test_the_checked_in_models_are_what_the_document_generates() -> None:
    # Given the API's document as the handlers declare it, when the models are generated afresh
    fresh = generate(DOCUMENT)

    # Then they are the checked-in file: run `pipenv run client-models` after changing a response
    assert MODELS.read_text() == fresh


def test_every_operation_is_a_method_taking_its_path_parameters() -> None:
    # Given every operation of the document
    for path, method, operation in OPERATIONS:
        # Then the client has a method named after its operationId, taking each path parameter in order
        call = getattr(Aperture, operation["operationId"], None)
        assert call is not None, f"{method.upper()} {path} has no client method"
        parameters = list(inspect.signature(call).parameters)[1:]
        path_parameters = re.findall(r"{(\w+)}", path)
        assert parameters[: len(path_parameters)] == path_parameters, operation["operationId"]


def test_the_client_package_is_installed_by_pip_from_the_repository() -> None:
    # Given the Pipfile's editable install of clients/python, then pip knows the distribution
    assert importlib.metadata.version("aperture-client") == "1.0.0"
    assert set(importlib.metadata.requires("aperture-client") or []) == {"pydantic>=2.7", "urllib3>=2.0"}
    assert aperture_client.__file__ == str(ROOT / "clients/python/aperture_client/__init__.py")


PUBLISHED = {"post_id": "p_1", "author_id": "u_1", "state": "published", "like_count": 0, "created_at": 1.0}


class Flaky:
    """An HTTP server that answers 503 with ``Retry-After`` a set number of times, then 201."""

    def __init__(self, failures: int, retry_after: str) -> None:
        self.failures, self.retry_after = failures, retry_after
        self.seen: list[tuple[float, dict[str, str], Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append((time.monotonic(), dict(self.headers), body))
                failing = len(outer.seen) <= outer.failures
                payload = (
                    {"error": {"code": "ServiceUnavailable", "message": "try again shortly"}}
                    if failing
                    else {**PUBLISHED, "caption": body["caption"]}
                )
                self.send_response(503 if failing else 201)
                if failing:
                    self.send_header("Retry-After", outer.retry_after)
                data = json.dumps(payload).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Flaky:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_create_is_retried_after_what_retry_after_says_with_the_same_idempotency_key() -> None:
    # Given an API that is unavailable once and asks for a one-second wait
    with Flaky(failures=1, retry_after="1") as api:
        # When a post is created
        started = time.monotonic()
        post = Aperture(api.url, "token").create_post("m_1", caption="hello")

    # Then it was sent twice, a second apart, with one idempotency key, and the second answer counts
    assert post.post_id == "p_1"
    (first, first_headers, _), (second, second_headers, body) = api.seen
    assert second - first >= 1.0
    assert first_headers["Idempotency-Key"] == second_headers["Idempotency-Key"]
    assert first_headers["Authorization"] == "Bearer token"
    assert body == {"media_id": "m_1", "caption": "hello"}
    assert time.monotonic() - started < 5


def test_two_creates_get_two_idempotency_keys() -> None:
    with Flaky(failures=0, retry_after="0") as api:
        client = Aperture(api.url, "token")
        client.create_post("m_1")
        client.create_post("m_1")
    assert api.seen[0][1]["Idempotency-Key"] != api.seen[1][1]["Idempotency-Key"]


def test_an_api_that_stays_unavailable_raises_with_its_error_after_four_retries() -> None:
    with Flaky(failures=99, retry_after="0") as api, pytest.raises(ApiError) as raised:
        Aperture(api.url, "token").create_post("m_1")
    assert (raised.value.status, raised.value.code) == (503, "ServiceUnavailable")
    assert len(api.seen) == 5
