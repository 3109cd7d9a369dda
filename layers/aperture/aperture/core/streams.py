"""What a DynamoDB stream record says about who made the change."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def is_ttl_expiry(record: DynamoDBRecord) -> bool:
    """True when DynamoDB's TTL deleted the item, false for a delete someone asked for."""
    identity = record.get("userIdentity") or {}
    return identity.get("type") == "Service" and identity.get("principalId") == TTL_PRINCIPAL
