"""The local stack's fault injection: kills, duplicate deliveries and outages do what AWS's do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest

from aperture.core.aws import client
from aperture_local.faults import FaultPlan, FunctionFaults, Outage
from aperture_local.stack import LocalStack
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, serving, upload_media
from tests.pictures import jpeg, scene

pytestmark = pytest.mark.slow(seconds=60)


@contextmanager
def _stack(plan: FaultPlan) -> Iterator[ApiStack]:
    with LocalStack(faults=plan) as stack, serving(stack) as served:
        yield served


def _media(api: ApiStack, user: str, media_id: str) -> dict[str, Any]:
    return dict(api.client.call("GET", f"/media/{media_id}", token=api.token(user)).body)


def test_a_job_killed_on_every_attempt_returns_after_its_visibility_timeout_then_goes_to_the_dlq() -> None:
    plan = FaultPlan(seed=1, visibility_scale=0.002, functions={"image_processor": FunctionFaults(kills=1.0)})
    with _stack(plan) as api:
        # Given an image processor killed at every invocation (720 s visibility, scaled to 1.4 s)
        token = api.signup("u_killed")
        media_id = upload_media(api, token, jpeg(scene(4, size=(320, 240))))

        # When SQS has given the job all its receives
        dead = eventually(
            lambda: client("sqs").receive_message(QueueUrl=api.stack.physical_id("ImageDLQ")).get("Messages"),
            timeout=60,
        )

        # Then it was killed five times, never failed by Python, and the media waits for the sweeper
        killed = [e for e in api.stack.log.of("image_processor") if (e.error or "").startswith("killed")]
        assert len(killed) == 5
        assert media_id in dead[0]["Body"]
        assert _media(api, "u_killed", media_id)["state"] == "processing"
        assert api.stack.faults is not None
        assert api.stack.faults.injected["kills"] == 5


def test_duplicate_deliveries_change_nothing_and_a_classifier_outage_holds_media_for_review() -> None:
    plan = FaultPlan(
        seed=2,
        functions={"fanout": FunctionFaults(duplicates=1.0)},
        outages=[Outage(dependency="classifier", starts_after=0, seconds=3600)],
    )
    with _stack(plan) as api:
        # Given an author with three followers, every fan-out message delivered twice, and the
        # moderation classifier down
        author = api.signup("u_author")
        followers = [f"u_reader{n}" for n in range(3)]
        for follower in followers:
            api.signup(follower)
            body = {"following": True, "client_timestamp": 1}
            reply = api.client.call(
                "PUT", f"/users/{follower}/following/u_author", body, token=api.token(follower)
            )
            assert reply.status == 200, reply

        # When the author posts text, and uploads a photo
        post = api.client.call("POST", "/posts", {"caption": "hello"}, token=author).body
        media_id = upload_media(api, author, jpeg(scene(5, size=(320, 240))))

        # Then each follower's feed has the post exactly once, though every delivery came twice
        def feed_of(user: str) -> list[Any]:
            return list(api.client.call("GET", "/feed", token=api.token(user)).body["items"])

        for follower in followers:
            feed = eventually(partial(feed_of, follower))
            assert [item["post_id"] for item in feed] == [post["post_id"]]
        duplicates = [e for e in api.stack.log.of("fanout") if e.source.endswith("(duplicate)")]
        assert duplicates
        assert api.stack.faults is not None
        assert api.stack.faults.injected["duplicates"] == len(duplicates)
        # And the photo, checked while the classifier is down, waits for a moderator
        moderation = eventually(lambda: _media(api, "u_author", media_id).get("moderation"), timeout=150)
        assert moderation["verdict"] == "review"
        assert api.stack.faults.injected["classifier_outage_calls"] >= 1
