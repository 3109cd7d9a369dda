"""Serves the api function (a Chalice app) over HTTP, as API Gateway does in AWS."""

from __future__ import annotations

import functools
import json
import threading

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGatewayException,
    create_local_server,
)

from aperture.core.web import JSON_HEADERS, NO_SUCH_ROUTE

from .runtime import LocalFunction

BACKLOG = 256


class _GatewayResponses(ChaliceRequestHandler):
    """A path no route has gets the template's MISSING_AUTHENTICATION_TOKEN gateway response (404,
    the API's error shape), not API Gateway's bare 403."""

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError):
            headers = {key: str(value) for key, value in JSON_HEADERS.items()}
            self._send_http_response(404, headers, json.dumps(NO_SUCH_ROUTE).encode())
            return
        super()._send_error_response(error)


class ApiServer:
    def __init__(self, function: LocalFunction, host: str = "127.0.0.1", port: int = 8000) -> None:
        config = Config.create(chalice_stage="local")
        self._server: LocalDevServer = create_local_server(function.handler, config, host, port)
        self._server.server.RequestHandlerClass = functools.partial(
            _GatewayResponses, app_object=function.handler, config=config
        )
        # socketserver listens with a backlog of 5: bursts of clients would be reset, where API
        # Gateway queues them. Listening again on the bound socket raises the backlog.
        self._server.server.socket.listen(BACKLOG)
        self.host, self.port = self._server.server.server_address[:2]
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
        self._thread.join(timeout=5)
