"""Lazily created AWS clients.

Clients are built on first use, never at import, so a handler imports cleanly under moto and
the same code talks to AWS or to the local stack: boto3 honours ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    # Stream ARNs would otherwise route DynamoDB Streams to an account-based endpoint.
    account_id_endpoint_mode="disabled",
    # Reads side by side (a feed page's: up to 16) each keep their connection: botocore's default of
    # 10 drops the rest after use, and each new one costs a TLS handshake in AWS.
    max_pool_connections=32,
)

_clients: dict[str, Any] = {}
_session: list[boto3.session.Session] = []  # the one session, once made
_loader: list[Loader] = []  # botocore's parsed service and endpoint data, kept across sessions
_lock = threading.Lock()


def client(service: str) -> Any:
    """The shared client for ``service`` (thread-safe: boto3 clients are, sessions are not).

    Every client comes from one session, created under the lock: a session of its own per client
    would parse botocore's endpoint and service data again each time (about 0.1 s of CPU apiece).
    The client's modeled exceptions are loaded here too: botocore builds them lazily without a
    lock, so threads racing the first error could each build their own classes, and an
    ``except client.exceptions.X`` in one thread would miss the X raised through another's.
    """
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                if not _session:
                    _session.append(_new_session())
                found = _session[0].client(service, config=_CONFIG)  # type: ignore[call-overload]
                found.exceptions  # noqa: B018 - built once, before any thread can race it
                _clients[service] = found
    return found


def _new_session() -> boto3.session.Session:
    """A session that reads the environment afresh but reuses the service data an earlier one
    parsed: the JSON behind a dozen clients costs 0.2 s of CPU, and never changes."""
    core = botocore.session.get_session()
    if _loader:
        core.register_component("data_loader", _loader[0])
    else:
        _loader.append(core.get_component("data_loader"))
    return boto3.session.Session(botocore_session=core)


def reset_clients() -> None:
    """Forget every client and the session: the next call builds them for the current environment."""
    with _lock:
        _clients.clear()
        _session.clear()
