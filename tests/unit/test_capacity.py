"""The capacity model on a case small enough to work out by hand."""

from __future__ import annotations

import pytest

from benchmarks import aws_prices
from benchmarks.capacity import (
    ActionCost,
    Design,
    FunctionUse,
    UnitCosts,
    Workload,
    daily_actions,
    estimate,
    savings_pct,
)
from benchmarks.dynamodb_units import Index, item_bytes, read_units, write_units

ONE_VCPU = 1769  # MB: Lambda's memory for exactly one vCPU


def _units(**measured: ActionCost) -> UnitCosts:
    every = daily_actions(Workload("any", 1, 1)) | daily_actions(
        Workload("any", 1, 1), Design(celebrity_threshold=None, av1_ladder=False, hybrid_expiry=False)
    )
    actions = {name: measured.get(name, ActionCost()) for name in every}
    for action, function in (
        ("feature_batch_interaction", "feature_batch"),
        ("explore_refresh_run", "explore_refresh"),
        ("explore_refresh_interaction", "explore_refresh"),
    ):
        actions[action] = measured.get(action, ActionCost(functions={function: FunctionUse(0, 0.0)}))
    return UnitCosts(
        actions=actions,
        memory_mb=dict.fromkeys(("image_processor", "fanout", "feature_batch", "explore_refresh"), ONE_VCPU),
    )


UNITS = _units(
    photo_upload=ActionCost(
        functions={"image_processor": FunctionUse(invocations=1, cpu_s=2.0, aws_requests=10)},
        write_units={"Media": 3},
        bytes_stored=1e6,
        moderation_images=1,
    ),
    post=ActionCost(api_requests=1),
    fanout_slice=ActionCost(
        functions={"fanout": FunctionUse(invocations=1, cpu_s=0.1, aws_requests=40)},
        write_units={"Feed": 1000},
    ),
)
# A thousand photo posts a day by authors of 1,000 followers, nobody reading, peak twice the mean.
SMALL = Workload(
    "small",
    uploads_per_day=1000,
    daily_active_users=0,
    video_share=0,
    stories_per_upload=0,
    posts_by_followers={1000: 1.0},
    peak_factor=2,
    library_days=365,
)


def test_a_small_case_is_priced_as_worked_out_by_hand() -> None:
    # When the model prices a thousand photo posts a day
    result = estimate(SMALL, UNITS)
    # Then Lambda bills 2.08 s a photo (2 CPU-s on one vCPU + 10 requests x 8 ms) and 0.42 s a
    # slice (0.1 + 40 x 8 ms): 2,500 s a day at 1,769 MB = 4,318.85 GB-s, x 30.4375 days x
    # $0.0000166667, plus 2,000 invocations a day x 30.4375 x $0.20 per million
    assert result.monthly_usd["lambda"] == pytest.approx(2.1909 + 0.0122, abs=0.01)
    # And DynamoDB 1,003,000 write units a day (3 a photo, 1,000 a slice) x 30.4375 x $0.625/M
    assert result.monthly_usd["dynamodb"] == pytest.approx(19.08, abs=0.01)
    # And Rekognition 30,437.5 images at $0.001; S3 a year of 1 GB days: 365 GB x $0.023;
    # API Gateway 30,437.5 requests x $3.50/M
    assert result.monthly_usd["rekognition"] == pytest.approx(30.44, abs=0.01)
    assert result.monthly_usd["s3"] == pytest.approx(8.40, abs=0.01)
    assert result.monthly_usd["api_gateway"] == pytest.approx(0.11, abs=0.01)
    assert result.monthly_usd["cloudfront"] == 0
    # And every stage's share adds up to the bill
    assert sum(result.stage_usd.values()) == pytest.approx(result.total_usd, abs=0.05)
    assert result.stage_usd["fanout_slice"] == pytest.approx(
        19.08 * 1000 / 1003 + 0.42 / 2.5 * 2.19 + 0.006, abs=0.02
    )
    # And concurrency is Little's law: 2,080 busy seconds over 86,400, doubled at peak, rounded up
    assert result.average_concurrency == {
        "fanout": pytest.approx(0.0049, abs=1e-4),
        "image_processor": pytest.approx(0.0241, abs=1e-4),
    }
    assert result.peak_concurrency == {"fanout": 1, "image_processor": 1}
    # And the quota pressed hardest is the Region's concurrency: 2 environments of 1,000 (ahead of
    # Rekognition's 1,000 images a day at twice the mean: 0.0231/s of 50)
    assert result.first_quota_hit == {
        "quota": "lambda_concurrent_executions",
        "hit": False,
        "demand_over_limit": 0.002,
        "limit": 1000,
        "unit": "concurrent executions in the Region",
        "adjustable": True,
    }
    assert result.quota_use["rekognition_moderation_tps"] == pytest.approx(1000 / 86400 * 2 / 50)


def test_a_celebritys_posts_cost_no_slices_and_fanning_them_out_is_the_naive_cost() -> None:
    # Given authors of two million followers only
    celebrities = Workload(
        "celebrities", 1000, 0, video_share=0, stories_per_upload=0, posts_by_followers={2_000_000: 1.0}
    )
    # Then the design writes no slice, and fan-out on write for everyone writes 2,000 a post
    assert daily_actions(celebrities)["fanout_slice"] == 0
    assert daily_actions(celebrities, Design(celebrity_threshold=None))["fanout_slice"] == 2_000_000
    # And the fan-out stage saves all of its naive cost
    assert savings_pct(celebrities, UNITS)["fanout"] == 100.0


def test_the_ten_minute_refresh_recounts_the_day_since_the_batch() -> None:
    # Given a refresh run of 1 CPU-s, and 1 CPU-ms more for each action since the batch, on one vCPU
    units = _units(
        explore_refresh_run=ActionCost(functions={"explore_refresh": FunctionUse(1, 1.0)}),
        explore_refresh_interaction=ActionCost(functions={"explore_refresh": FunctionUse(0, 0.001)}),
    )
    # And a day of 1,000 users who like 10 posts each and do nothing else the batch learns from
    likers = Workload("likers", 0, 1000, comments_per_user=0, feed_pages_per_user=0, story_views_per_user=0)
    # When the day is priced
    result = estimate(likers, units)
    # Then the refresh runs 144 times a day, each recounting half the day's 10,000 likes on average
    assert daily_actions(likers)["explore_refresh_run"] == 144
    assert daily_actions(likers)["explore_refresh_interaction"] == 144 * 5000
    assert result.average_concurrency["explore_refresh"] == pytest.approx(144 * (1 + 5) / 86400, abs=1e-4)
    # And its longest run, the one before the next batch, recounts all 10,000: 11 s of the 900 s limit
    assert result.quota_use["lambda_timeout"] == pytest.approx(11 / 900)


def test_volume_tiers_price_each_band_at_its_own_rate() -> None:
    # 15,000 GB of egress: 10,000 at $0.085 and 5,000 at $0.080
    assert aws_prices.tiered(15_000, aws_prices.CLOUDFRONT_EGRESS_GB) == pytest.approx(1250.0)
    # the first 1,000 invalidation paths a month are free
    assert aws_prices.tiered(1_500, aws_prices.CLOUDFRONT_INVALIDATION_PATH) == pytest.approx(2.5)
    assert aws_prices.tiered(0, aws_prices.REKOGNITION_IMAGE) == 0


def test_request_units_follow_dynamodbs_sizing_rules() -> None:
    # A 1,516-byte put (names 2 + 4, values 10 + 1,500) is two write units; a tiny one in a
    # transaction is two; an update is sized by its key and the values it writes
    big = {"pk": {"S": "a" * 10}, "blob": {"S": "x" * 1500}}
    assert item_bytes(big) == 1516
    assert write_units("PutItem", {"TableName": "T", "Item": big}) == {"T": 2}
    small_put = {"Put": {"TableName": "T", "Item": {"pk": {"S": "a"}}}}
    assert write_units("TransactWriteItems", {"TransactItems": [small_put]}) == {"T": 2}
    update = {
        "TableName": "T",
        "Key": {"post_id": {"S": "p1"}},
        "ExpressionAttributeValues": {":n": {"N": "1"}},
    }
    assert write_units("UpdateItem", update) == {"T": 1}
    # A write that puts an entry in a secondary index pays for it there too
    by_audience = {"T": [Index(frozenset({"audience_of"}), projects_all=False)]}
    edge = {"follower_id": {"S": "u1"}, "audience_of": {"S": "u2"}}
    assert write_units("PutItem", {"TableName": "T", "Item": edge}, by_audience) == {"T": 2}
    unfollow = {**update, "UpdateExpression": "REMOVE #a", "ExpressionAttributeNames": {"#a": "audience_of"}}
    assert write_units("UpdateItem", unfollow, by_audience) == {"T": 2}
    assert write_units("UpdateItem", {**update, "UpdateExpression": "SET n = :n"}, by_audience) == {"T": 1}
    # A query page is summed before rounding to 4 KB: three 3,000-byte items eventually consistent
    # are ceil(9,000 / 4,096) x 0.5; a filter's dropped items count as read, sized like the kept
    page = {"Items": [{"d": {"S": "y" * 2999}}] * 3, "ScannedCount": 3}
    assert read_units("Query", "T", page, consistent=False) == {"T": 1.5}
    filtered = {"Items": [{"d": {"S": "y" * 2999}}], "ScannedCount": 4}
    assert read_units("Query", "T", filtered, consistent=False) == {"T": 1.5}
    assert read_units("GetItem", "T", {"Item": {"pk": {"S": "a"}}}, consistent=True) == {"T": 1}
    # Numbers take about a byte per two digits, plus one
    assert item_bytes({"n": {"N": "12345"}}) == 1 + 3
