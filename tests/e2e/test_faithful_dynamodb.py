"""The local stack's DynamoDB keeps concurrent writes that moto alone would lose."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from aperture.core.aws import client
from aperture_local.stack import LocalStack

pytestmark = pytest.mark.slow(seconds=10)

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


def test_a_failed_transaction_leaves_the_tables_stream_flowing_to_open_iterators(stack: LocalStack) -> None:
    # Given a consumer reading the likes stream from its start, as a stream mapping does
    table = stack.environment["LIKES_TABLE"]
    dynamodb, streams = client("dynamodb"), client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )["ShardIterator"]

    def like(user_id: str) -> None:
        item = {"post_id": {"S": "p_1"}, "user_id": {"S": user_id}, "liked_at": {"N": "1"}}
        with contextlib.suppress(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(user_id)",
                        }
                    }
                ]
            )

    # When a like commits, the same like fails its condition, and another like commits
    for user_id in ("u_a", "u_a", "u_b"):
        like(user_id)

    # Then the consumer reads both committed likes, once each, and nothing of the failed one
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["user_id"]["S"]) for r in records] == [
        ("INSERT", "u_a"),
        ("INSERT", "u_b"),
    ]
