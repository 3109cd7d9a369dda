"""CDN invalidation of expired Stories' media, batched: one CloudFront request per minute's worth.

Renditions have immutable keys and a year of caching, so an expired Story's media stays in edge
caches until invalidated. Each expiry queues its rendition paths; the invalidator receives them
in batches gathered over a minute (the event source's batching window) and sends each batch as
few invalidations as CloudFront allows: explicit paths, never wildcards (only 15 wildcard
invalidations may be in progress, against 3,000 explicit paths).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.messages import CdnInvalidation, send_all

INVALIDATION_QUEUE = "CDN_INVALIDATION_QUEUE_URL"
DISTRIBUTION = "MEDIA_DISTRIBUTION_ID"
MAX_PATHS = 3000  # explicit paths CloudFront accepts in progress per distribution
MAX_PATHS_PER_MESSAGE = 100  # what one CdnInvalidation message carries


def media_paths(media: dict[str, Any] | None) -> list[str]:
    return sorted(f"/{rendition['key']}" for rendition in (media or {}).get("renditions", []))


def request_invalidation(paths: list[str]) -> None:
    """Queue the paths for the invalidator: one message for a media item's few, or, for many
    (an account's every rendition), messages of ``MAX_PATHS_PER_MESSAGE`` sent ten to a request."""
    if len(paths) <= MAX_PATHS_PER_MESSAGE:
        if paths:
            message = CdnInvalidation(paths=paths).model_dump_json()
            client("sqs").send_message(QueueUrl=resource_name(INVALIDATION_QUEUE), MessageBody=message)
        return
    chunks = [
        paths[start : start + MAX_PATHS_PER_MESSAGE] for start in range(0, len(paths), MAX_PATHS_PER_MESSAGE)
    ]
    send_all(INVALIDATION_QUEUE, [CdnInvalidation(paths=chunk) for chunk in chunks])


def invalidate(paths: Iterable[str]) -> list[str]:
    """Invalidate the paths in as few requests as allowed; returns the invalidation ids.

    Each request's caller reference is a digest of its paths, so a retried batch repeats the same
    invalidation instead of adding another."""
    unique = sorted(set(paths))
    ids = []
    for start in range(0, len(unique), MAX_PATHS):
        chunk = unique[start : start + MAX_PATHS]
        reference = hashlib.sha256("\n".join(chunk).encode()).hexdigest()[:32]
        created = client("cloudfront").create_invalidation(
            DistributionId=resource_name(DISTRIBUTION),
            InvalidationBatch={
                "Paths": {"Quantity": len(chunk), "Items": chunk},
                "CallerReference": reference,
            },
        )
        ids.append(created["Invalidation"]["Id"])
    return ids
