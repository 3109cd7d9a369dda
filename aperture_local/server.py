"""Serves the api function (a Chalice app) over HTTP, as API Gateway does in AWS."""

from __future__ import annotations

import functools
import json
import os
import threading
import urllib.parse
from pathlib import Path
from typing import ClassVar

import flask_openapi_swagger  # type: ignore[import-untyped]
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGatewayException,
    create_local_server,
)

from aperture.core.aws import client
from aperture.core.web import JSON_HEADERS, NO_SUCH_ROUTE

from .runtime import LocalFunction

BACKLOG = 256
CDN_PATH = "/cdn"  # MEDIA_BASE_URL locally: the media bucket, served as CloudFront serves it
DOCS_PATH = "/docs"  # the API document, browsable: Swagger UI from its Python package, no CDN
SWAGGER_UI = Path(flask_openapi_swagger.__file__).parent / "templates/swagger"
DOCS_ASSETS = {
    "swagger-ui.css": (SWAGGER_UI / "css/swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": (SWAGGER_UI / "js/swagger-ui-bundle.js", "text/javascript"),
}
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Aperture API</title>
  <link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#docs", deepLinking: true}});</script>
</body>
</html>
"""


class _GatewayResponses(ChaliceRequestHandler):
    """A path no route has gets the template's MISSING_AUTHENTICATION_TOKEN gateway response (404,
    the API's error shape), not API Gateway's bare 403. Paths under /cdn/ are the CDN's: the media
    bucket's objects, as CloudFront serves them. /docs is the API document in Swagger UI."""

    # Headers and body go out in separate writes: with Nagle's algorithm on, a kept-alive
    # connection waits out the client's delayed ACK (40 ms) on every response.
    disable_nagle_algorithm = True
    preflight: ClassVar[dict[str, str]] = {}  # API Gateway's answer to OPTIONS, from the template's Cors

    def do_OPTIONS(self) -> None:
        if not self.preflight:
            super().do_OPTIONS()
            return
        self._send_http_response(200, {**self.preflight, "Content-Type": "application/json"}, b"{}")

    def _allowed_origin(self) -> dict[str, str]:
        origin = self.preflight.get("Access-Control-Allow-Origin")
        return {"Access-Control-Allow-Origin": origin} if origin else {}

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith(f"{CDN_PATH}/"):
            self._send_media(urllib.parse.unquote(path[len(CDN_PATH) + 1 :]))
        elif path == DOCS_PATH or path.startswith(f"{DOCS_PATH}/"):
            self._send_docs(path[len(DOCS_PATH) + 1 :])
        else:
            super().do_GET()

    def _send_docs(self, asset: str) -> None:
        if not asset:
            self._send_http_response(200, {"Content-Type": "text/html; charset=utf-8"}, DOCS_PAGE.encode())
        elif asset in DOCS_ASSETS:
            file, content_type = DOCS_ASSETS[asset]
            headers = {"Content-Type": content_type, "Cache-Control": "public, max-age=86400"}
            self._send_http_response(200, headers, file.read_bytes())
        else:
            self._send_http_response(404, {"Content-Type": "text/plain"}, b"no such file")

    def _send_media(self, key: str) -> None:
        """The object with the Content-Type and Cache-Control it was stored with, which CloudFront
        passes on; a missing object (never made, or removed when its media was blocked) is a 404."""
        try:
            stored = client("s3").get_object(Bucket=os.environ["MEDIA_BUCKET"], Key=key)
        except client("s3").exceptions.NoSuchKey:
            self._send_http_response(404, {"Content-Type": "text/plain"}, b"no such object")
            return
        # In AWS the app shares the CDN's origin; locally its origin differs (hls.js reads playlists).
        headers = {
            "Content-Type": stored.get("ContentType", "application/octet-stream"),
            **self._allowed_origin(),
        }
        if "CacheControl" in stored:
            headers["Cache-Control"] = stored["CacheControl"]
        self._send_http_response(200, headers, stored["Body"].read())

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError):
            headers = {key: str(value) for key, value in JSON_HEADERS.items()} | self._allowed_origin()
            self._send_http_response(404, headers, json.dumps(NO_SUCH_ROUTE).encode())
            return
        super()._send_error_response(error)


class ApiServer:
    def __init__(
        self,
        function: LocalFunction,
        host: str = "127.0.0.1",
        port: int = 8000,
        preflight: dict[str, str] | None = None,
    ) -> None:
        """``preflight``: the template's Cors as headers (``LocalStack.api_cors``); none by default."""
        config = Config.create(chalice_stage="local")
        self._server: LocalDevServer = create_local_server(function.handler, config, host, port)
        handler = type("GatewayResponses", (_GatewayResponses,), {"preflight": preflight or {}})
        self._server.server.RequestHandlerClass = functools.partial(
            handler, app_object=function.handler, config=config
        )
        # socketserver listens with a backlog of 5: bursts of clients would be reset, where API
        # Gateway queues them. Listening again on the bound socket raises the backlog.
        self._server.server.socket.listen(BACKLOG)
        self.host, self.port = self._server.server.server_address[:2]
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def media_url(self) -> str:
        """Where this server serves the media bucket, standing in for the CDN."""
        return f"{self.url}{CDN_PATH}"

    def start(self) -> ApiServer:
        """Serve, and tell the API (which runs in this process) to link media here."""
        os.environ["MEDIA_BASE_URL"] = self.media_url
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
        self._thread.join(timeout=5)
