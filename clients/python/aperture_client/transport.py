"""HTTP for the client: one urllib3 pool, retries that wait what ``Retry-After`` says, JSON in and out.

Every method is retried, POST included: the calls that create something carry an
``Idempotency-Key`` (the same on every retry, so the server answers a retry with the first
response), interactions carry their own ``event_id``, and every other call is idempotent by design
(PUT, DELETE, the follow edge's client timestamp).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.util import Retry

RETRIED_STATUSES = frozenset({429, 502, 503, 504})


def default_retries() -> Retry:
    """Four retries of lost connections and of 429/502/503/504, backing off from a quarter second;
    a ``Retry-After`` the server sends (it does with every 503) replaces the backoff."""
    return Retry(
        total=4,
        backoff_factor=0.25,
        status_forcelist=RETRIED_STATUSES,
        allowed_methods=None,  # every method: see the module's docstring
        respect_retry_after_header=True,
        raise_on_status=False,
    )


@dataclass(frozen=True)
class Response:
    status: int
    body: Any  # the parsed JSON, or the text of a body that is not JSON
    headers: Mapping[str, str]


class ApiError(Exception):
    """An answer of 400 or more, with the API's error code and message."""

    def __init__(self, response: Response) -> None:
        error = response.body.get("error", {}) if isinstance(response.body, dict) else {}
        self.status = response.status
        self.code = str(error.get("code", "Unknown"))
        self.message = str(error.get("message", response.body))
        self.response = response
        super().__init__(f"{self.status} {self.code}: {self.message}")


class Transport:
    def __init__(self, base_url: str, *, retries: Retry | bool = True, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pool = urllib3.PoolManager(retries=default_retries() if retries is True else retries)

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One call, retried as configured; answers of 400 or more are returned, not raised."""
        wanted = {key: value for key, value in (query or {}).items() if value is not None}
        url = f"{self.base_url}{path}" + (f"?{urlencode(wanted)}" if wanted else "")
        body = raw_body if raw_body is not None else (None if json_body is None else json.dumps(json_body))
        answer = self.pool.request(
            method,
            url,
            body=body,
            headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
            timeout=self.timeout,
        )
        return Response(answer.status, _parsed(answer.data), dict(answer.headers))

    def post_form(self, url: str, fields: Mapping[str, str], data: bytes, filename: str) -> int:
        """A browser-style multipart POST: the fields in their order, then the file, last."""
        answer = self.pool.request(
            "POST",
            url,
            fields=[*fields.items(), ("file", (filename, data))],
            encode_multipart=True,
            timeout=self.timeout,
        )
        if answer.status >= 300:
            raise ApiError(Response(answer.status, _parsed(answer.data), dict(answer.headers)))
        return int(answer.status)


def _parsed(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return data.decode(errors="replace")
