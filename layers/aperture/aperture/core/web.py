"""The HTTP API's plumbing around Chalice: auth, body validation, errors and the OpenAPI document.

Every route is declared once, with ``Api.route``: that registers the Chalice view and records what
the OpenAPI document says of it, so the two cannot drift.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Chalice, Response
from pydantic import BaseModel, ValidationError

from aperture.core.config import settings
from aperture.core.errors import BadRequest, DomainError, NotFound, PayloadTooLarge, Unprocessable
from aperture.core.identity import Caller, verifier

MAX_BODY_BYTES = 64 * 1024
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json", "Cache-Control": "no-store"}
_ERRORS = {
    400: "the request is malformed",
    401: "no valid bearer token",
    403: "the caller may not do this",
    404: "no such resource",
    409: "conflicts with the current state",
    413: "the body is too large",
    415: "the body is not JSON",
    422: "the body is well-formed but not valid",
    429: "too many of these lately: retry after Retry-After seconds",
}


@dataclass(frozen=True)
class Request:
    caller: Caller | None
    body: Any
    query: dict[str, str]
    headers: dict[str, str]
    lambda_context: Any

    @property
    def user(self) -> Caller:
        assert self.caller is not None, "an authenticated route"
        return self.caller


@dataclass(frozen=True)
class Reply:
    """A view's answer when it needs headers of its own (a Cache-Control bounded by expiry)."""

    body: Any
    headers: dict[str, str]


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    body: type[BaseModel] | None
    auth: bool
    status: int
    response: type[BaseModel]
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # OpenAPI links: "METHOD /path" of a later call -> its parameters, from this call's response.
    links: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()  # what the domain may answer beyond what the request's shape implies
    name: str = ""  # the view's name: the operationId, and the client's method name

    def error_statuses(self) -> list[int]:
        """Every 4xx this route can answer: from its shape (auth, path ids, body, query), plus its own."""
        statuses = set(self.errors)
        if self.auth:
            statuses.add(401)
        if "{" in self.path:
            statuses.add(404)
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.query:
            statuses.add(400)
        if "Idempotency-Key" in self.headers:
            statuses |= {400, 409}  # a malformed key; the same key while its first request still runs
        return sorted(statuses)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# What API Gateway answers itself (template.yaml's GatewayResponses), in the same shape.
NO_SUCH_ROUTE = error_body("NotFound", "there is no such route")


class Api:
    def __init__(self, app: Chalice, logger: Logger, title: str, version: str) -> None:
        self.app = app
        self.logger = logger
        self.title = title
        self.version = version
        self.operations: list[Operation] = []
        app.middleware("http")(_uniform_errors)
        app.middleware("http")(_allow_app_origin)

    def route(
        self,
        path: str,
        method: str,
        summary: str,
        *,
        response: type[BaseModel],
        body: type[BaseModel] | None = None,
        auth: bool = True,
        status: int = 200,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        links: dict[str, dict[str, str]] | None = None,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        operation = Operation(
            path,
            method,
            summary,
            body,
            auth,
            status,
            response,
            query or {},
            headers or {},
            links or {},
            errors,
        )
        self.operations.append(operation)

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            operation.name = view.__name__

            @functools.wraps(view)
            def handle(**path_params: str) -> Response:
                try:
                    for name, value in path_params.items():
                        if not ID.fullmatch(value):
                            raise NotFound(f"{name} {value!r} is not an id")
                    result = view(self._request(operation), **path_params)
                    if isinstance(result, Reply):
                        headers: dict[str, str | list[str]] = {**JSON_HEADERS, **result.headers}
                        return Response(body=result.body, status_code=operation.status, headers=headers)
                    return Response(body=result, status_code=operation.status, headers=JSON_HEADERS)
                except DomainError as error:
                    headers = {**JSON_HEADERS, **error.headers}
                    return Response(body=error.body(), status_code=error.status, headers=headers)
                except (ClientError, BotoCoreError, IdempotencyPersistenceLayerError):
                    self.logger.exception("a dependency failed")
                    failure = error_body("ServiceUnavailable", "try again shortly")
                    return Response(
                        body=failure, status_code=503, headers={**JSON_HEADERS, "Retry-After": "1"}
                    )

            content_types = ["application/json"]
            self.app.route(path, methods=[method.upper()], content_types=content_types)(handle)
            return view

        return register

    def _request(self, operation: Operation) -> Request:
        current = self.app.current_request
        assert current is not None, "called inside a Chalice view"
        headers = {key.lower(): value for key, value in (current.headers or {}).items()}
        caller = verifier().verify(headers.get("authorization")) if operation.auth else None
        return Request(
            caller=caller,
            body=_parse(current.raw_body, operation.body) if operation.body else None,
            query=dict(current.query_params or {}),
            headers=headers,
            lambda_context=getattr(self.app, "lambda_context", None),
        )

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every declared route."""
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
        names = {f"{op.method} {op.path}": op.name for op in self.operations}
        for op in self.operations:
            parameters = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": ID.pattern},
                }
                for name in re.findall(r"{(\w+)}", op.path)
            ]
            parameters += [
                {"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
                for n, d in op.query.items()
            ]
            parameters += [
                {"name": n, "in": "header", "required": False, "schema": {"type": "string"}, "description": d}
                for n, d in op.headers.items()
            ]
            success = _component(op.response, schemas, "serialization")
            responses: dict[str, Any] = {
                str(op.status): {
                    "description": _first_line(op.response.__doc__) or "success",
                    "content": {"application/json": {"schema": success}},
                }
            }
            if op.links:
                responses[str(op.status)]["links"] = {
                    names[target]: {"operationId": names[target], "parameters": parameters_from}
                    for target, parameters_from in op.links.items()
                }
            for status in op.error_statuses():
                responses[str(status)] = {"description": _ERRORS[status], "content": _JSON_ERROR}
            responses["503"] = {"description": "a dependency is unavailable; retry", "content": _JSON_ERROR}
            entry: dict[str, Any] = {
                "summary": op.summary,
                "operationId": op.name,
                "parameters": parameters,
                "responses": responses,
            }
            if op.auth:
                entry["security"] = [{"bearer": []}]
            if op.body is not None:
                body = _component(op.body, schemas, "validation")
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
            paths.setdefault(op.path, {})[op.method.lower()] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
        }


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _component(
    model: type[BaseModel], schemas: dict[str, Any], mode: Literal["validation", "serialization"]
) -> Any:
    """A reference to ``model``'s schema, which is added to ``schemas`` with the models it uses."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _parse(raw: str | bytes | None, model: type[BaseModel]) -> BaseModel:
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(raw or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest("the body is not valid JSON") from error
    except RecursionError as error:
        raise BadRequest("the body nests too deeply") from error
    try:
        # Strict: a number is a JSON number, never a string that looks like one.
        return model.model_validate(document, strict=True)
    except ValidationError as error:
        problems = [
            {"field": ".".join(map(str, e["loc"])) or "body", "problem": e["msg"]} for e in error.errors()
        ]
        raise Unprocessable("the body is not valid", problems=problems) from error


def _uniform_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own answers (405 for a method a path lacks) in the API's error shape."""
    response = get_response(event)
    if response.status_code == 405:
        allowed = response.headers.get("Allow", "")
        response = Response(
            body=error_body("MethodNotAllowed", f"this path takes {allowed}"),
            status_code=405,
            headers={**JSON_HEADERS, "Allow": allowed},
        )
    return response


def _allow_app_origin(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """What lets the web client read an answer: API Gateway answers the preflight (the template's
    Cors), but with a proxy integration every actual answer must name the origin itself."""
    response = get_response(event)
    if origin := settings().app_origin:
        response.headers.update(
            {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After"}
        )
    return response
