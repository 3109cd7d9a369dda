"""Domain errors, each carrying the HTTP status a client should see for it."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "BadRequest"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class BadRequest(DomainError):
    status, code = 400, "BadRequest"


class Unauthorized(DomainError):
    status, code = 401, "Unauthorized"


class Forbidden(DomainError):
    status, code = 403, "Forbidden"


class NotFound(DomainError):
    status, code = 404, "NotFound"


class Conflict(DomainError):
    status, code = 409, "Conflict"


class PayloadTooLarge(DomainError):
    status, code = 413, "PayloadTooLarge"


class Unprocessable(DomainError):
    status, code = 422, "Unprocessable"


class TooManyRequests(DomainError):
    status, code = 429, "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}
