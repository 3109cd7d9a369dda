"""The web client (``web/``), served as the CDN serves it in AWS: its own origin, under /app/.

The app is static ES modules; the npm packages it imports (``web/package.json``) are copied in
under ``vendor/``. ``config.json`` tells it where the API is and how people sign in.
"""

from __future__ import annotations

import fcntl
import http.server
import json
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path
from typing import Any, ClassVar

from .stack import ROOT

WEB = ROOT / "web"
APP_PATH = "/app"
# What the app's import map names, from the packages npm installed.
VENDOR = {
    "vendor/hls.mjs": WEB / "node_modules/hls.js/dist/hls.mjs",
    "vendor/thumbhash.js": WEB / "node_modules/thumbhash/thumbhash.js",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


class WebAppError(RuntimeError):
    pass


def install_packages() -> None:
    """``npm ci`` once, when the packages the app imports are not there yet (under a lock: test
    workers start app servers side by side)."""
    with (WEB / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(path.exists() for path in VENDOR.values()):
            return
        npm = shutil.which("npm")
        if npm is None:
            raise WebAppError("the web client needs Node.js's npm to install its packages (web/package.json)")
        print("installing the web client's packages: npm ci (web/package-lock.json)", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, stdout=subprocess.DEVNULL)


def app_files() -> dict[str, Path]:
    """Every file of the app, by its path under /app/."""
    files = {
        path.relative_to(WEB / "app").as_posix(): path for path in (WEB / "app").rglob("*") if path.is_file()
    }
    return files | VENDOR


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")


class _AppFiles(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, Path]] = {}
    config: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/", APP_PATH, f"{APP_PATH}/"):
            self.send_response(302)
            self.send_header("Location", f"{APP_PATH}/index.html")
            self.end_headers()
            return
        name = path.removeprefix(f"{APP_PATH}/")
        if name == "config.json":
            self._send(200, content_type(name), json.dumps(self.config).encode())
        elif path.startswith(f"{APP_PATH}/") and name in self.files:
            self._send(200, content_type(name), self.files[name].read_bytes())
        else:
            self._send(404, "text/plain", b"no such file")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")  # a developer's edits show on reload
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class AppServer:
    """Binds at once, so the stack can allow its origin before the API serves."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8001) -> None:
        install_packages()
        handler = type("AppFiles", (_AppFiles,), {"files": app_files(), "config": {}})
        self._handler: type[_AppFiles] = handler
        self._server = http.server.ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="app", daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}{APP_PATH}/index.html"

    def start(self, api_url: str, refresh_seconds: float = 30) -> AppServer:
        """Serve, telling the app where the API is; locally, people sign in with the dev login."""
        self._handler.config = {"api": api_url, "auth": {"kind": "dev"}, "refresh_seconds": refresh_seconds}
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
