"""The shared AWS clients are safe to use from many threads from their first call."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from aperture.core.aws import client, reset_clients

THREADS = 16


def test_threads_meeting_a_new_clients_errors_at_once_all_name_the_classes_it_raises() -> None:
    # Given a fresh client (botocore builds a client's modeled exceptions on first use)
    reset_clients()
    dynamodb = client("dynamodb")
    start = threading.Barrier(THREADS)

    def named() -> type:
        start.wait()
        # what `except dynamodb.exceptions.X` or `contextlib.suppress(...)` evaluates
        found: type = dynamodb.exceptions.ResourceNotFoundException
        return found

    # When every thread names one at the same moment, switching threads as often as a loaded machine does
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            seen = set(pool.map(lambda _: named(), range(THREADS)))
    finally:
        sys.setswitchinterval(switching)

    # Then they all name the one class the client raises
    assert seen == {dynamodb.exceptions.ResourceNotFoundException}
