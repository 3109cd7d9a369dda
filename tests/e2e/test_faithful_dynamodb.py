"""The local stack's DynamoDB keeps concurrent writes that moto alone would lose."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from aperture.core.aws import client
from aperture_local.stack import LocalStack

pytestmark = pytest.mark.slow

SEEDED = 1000  # rows already in the table


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(event_sources=False) as stack:
        yield stack


def test_a_failing_transaction_does_not_undo_concurrent_writes(stack: LocalStack) -> None:
    # Given a large table (moto snapshots whole tables per transaction: a wide window for races),
    # and half the writers doomed to fail their transaction's condition
    table = stack.environment["FEATURES_TABLE"]
    dynamodb = client("dynamodb")
    for start in range(0, SEEDED, 25):
        dynamodb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"entity_id": {"S": f"seed{i}"}, "feature_set": {"S": "seed"}}}}
                    for i in range(start, start + 25)
                ]
            }
        )

    def write(index: int) -> None:
        item = {"entity_id": {"S": f"e{index}"}, "feature_set": {"S": "race"}}
        condition = "attribute_exists(entity_id)" if index % 2 else "attribute_not_exists(entity_id)"
        with contextlib.suppress(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[{"Put": {"TableName": table, "Item": item, "ConditionExpression": condition}}]
            )

    # When 120 transactions race from 16 threads
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(120)))

    # Then every write that succeeded is still there
    count = sum(
        page["Count"] for page in dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    )
    assert count == SEEDED + 60
