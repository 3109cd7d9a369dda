"""Serves the api function (a Chalice app) over HTTP, as API Gateway does in AWS."""

from __future__ import annotations

import threading

from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server

from .runtime import LocalFunction

BACKLOG = 256


class ApiServer:
    def __init__(self, function: LocalFunction, host: str = "127.0.0.1", port: int = 8000) -> None:
        self._server: LocalDevServer = create_local_server(
            function.handler, Config.create(chalice_stage="local"), host, port
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
