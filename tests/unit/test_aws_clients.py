"""The shared AWS clients are safe to use from many threads from their first call."""

from __future__ import annotations

import contextlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from moto import mock_aws

from aperture.core.aws import client, reset_clients

THREADS = 16


@mock_aws
def test_threads_racing_a_new_clients_first_error_all_catch_the_class_it_raises() -> None:
    # Given a fresh client and a lookup that fails
    reset_clients()
    dynamodb = client("dynamodb")
    start = threading.Barrier(THREADS)

    def look_up_a_missing_table() -> str:
        start.wait()
        # (the class is named before the call, as `contextlib.suppress` or a stored handler does)
        with contextlib.suppress(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.describe_table(TableName="missing")
            return "found"
        return "caught"

    # When every thread meets the client's modeled exceptions at the same moment,
    # switching threads as often as a loaded machine does
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            outcomes = list(pool.map(lambda _: look_up_a_missing_table(), range(THREADS)))
    finally:
        sys.setswitchinterval(switching)

    # Then each one catches what the client raised through it
    assert outcomes == ["caught"] * THREADS
