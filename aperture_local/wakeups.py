"""Wake-ups from moto when it runs in this process (the local stack's default).

Lambda's pollers answer a message or a stream record at once. Polling for that every few tens of
milliseconds costs an idle stack a quarter of a core, so the pollers here sleep longer while idle
and moto wakes them: a message sent to a queue (or made visible again early) wakes that queue's
pollers, a record written to a table's stream wakes that stream's mappings. With an external
endpoint nothing can be hooked, and pollers keep their short idle interval.
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models.table import StreamShard
from moto.sqs.models import SQSBackend

_listeners: dict[str, set[threading.Event]] = defaultdict(set)
_lock = threading.Lock()


def listen(resource: str, event: threading.Event) -> None:
    """Set ``event`` whenever the queue or table named ``resource`` has something new."""
    with _lock:
        _listeners[resource].add(event)


def forget(resource: str, event: threading.Event) -> None:
    with _lock:
        _listeners[resource].discard(event)


def _notify(resource: str) -> None:
    with _lock:
        events = list(_listeners.get(resource, ()))
    for event in events:
        event.set()


def _then_notify(method: Callable[..., Any], resource: Callable[..., str]) -> Callable[..., Any]:
    @functools.wraps(method)
    def notifying(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        _notify(resource(*args, **kwargs))
        return result

    notifying.__aperture_notifies__ = True  # type: ignore[attr-defined]
    return notifying


def install() -> None:
    """Idempotent: hooks moto's SQS sends and DynamoDB stream writes in this process."""
    hooks: list[tuple[type, str, Callable[..., str]]] = [
        (SQSBackend, "send_message", lambda backend, queue_name, *_, **__: queue_name),
        (SQSBackend, "send_message_batch", lambda backend, queue_name, *_, **__: queue_name),
        (SQSBackend, "change_message_visibility", lambda backend, queue_name, *_, **__: queue_name),
        (StreamShard, "add", lambda shard, *_, **__: shard.table.name),
    ]
    for owner, name, resource in hooks:
        method = getattr(owner, name)
        if not getattr(method, "__aperture_notifies__", False):
            setattr(owner, name, _then_notify(method, resource))
